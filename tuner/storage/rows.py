"""Optuna's trial tables read in plain SQL, a query per table, into plain objects that carry
the names of Optuna's FrozenTrial the reports read (number, state, value, params, ...)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ..errors import StorageError
from .retry import first_line


class State(Enum):
    """Optuna's trial states, by the names its tables store."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4


class Direction(Enum):
    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2


@dataclass
class StoredTrial:
    number: int
    _trial_id: int
    state: State
    values: list[float] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None
    _distributions_json: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def value(self) -> float | None:
        if self.values is None:
            return None
        if len(self.values) > 1:
            raise RuntimeError("this trial has several objective values: read .values")
        return self.values[0]

    @property
    def distributions(self) -> dict[str, Any]:
        """Optuna's distribution objects (imports Optuna: only plots and fANOVA need them)."""
        return {k: _distribution(v) for k, v in self._distributions_json.items()}


_PARSED: dict[str, Any] = {}  # a study has a few distinct distributions, and many trials


def _distribution(text: str) -> Any:
    found = _PARSED.get(text)
    if found is None:
        from optuna.distributions import json_to_distribution

        found = _PARSED[text] = json_to_distribution(text)
    return found


def read_trials(engine: Any, study_id: int, trial_ids: list[int] | None = None,
            with_attr: str | None = None, user_keys: tuple[str, ...] | None = None
            ) -> list[StoredTrial]:
    """A study's trials (or those listed, or those carrying `with_attr`), a query per table;
    `user_keys`: only the user attributes an answer reads."""
    from sqlalchemy import text

    args: dict[str, Any] = {"s": study_id}
    only = ""
    if user_keys is not None:  # the attributes an answer reads, not every one
        args.update({f"u{i}": k for i, k in enumerate(user_keys)})
        only = f" AND a.key IN ({', '.join(f':u{i}' for i in range(len(user_keys))) or 'NULL'})"
    with reading(engine) as conn:
        if with_attr is not None:
            trial_ids = [r[0] for r in conn.execute(text(
                "SELECT a.trial_id FROM trial_user_attributes a JOIN trials t ON "
                "t.trial_id = a.trial_id WHERE t.study_id = :s AND a.key = :k"),
                {**args, "k": with_attr}).all()]
        # A few trials: by their keys, with no join (MariaDB plans a join badly here).
        listed = None if trial_ids is None else \
            ", ".join(str(int(i)) for i in trial_ids) or "NULL"
        by_id = _trial_rows(conn, engine.dialect.name, listed, args)
        if by_id:
            _trial_details(conn, by_id, listed, args, only)
    return sorted(by_id.values(), key=lambda t: t.number)


def _scope(alias: str, listed: str | None) -> str:
    """The WHERE clause that keeps a table's rows to the trials read."""
    if listed is not None:
        return f"{alias}.trial_id IN ({listed})"
    return f"t.trial_id = {alias}.trial_id AND t.study_id = :s"


def _trial_rows(conn: Any, dialect: str, listed: str | None, args: dict[str, Any]
                ) -> dict[int, StoredTrial]:
    """The trials themselves: number, state, times and values."""
    from sqlalchemy import text

    where = f"t.study_id = :s AND t.trial_id IN ({listed})" if listed is not None \
        else "t.study_id = :s"
    by_id: dict[int, StoredTrial] = {}
    values: dict[int, dict[int, float]] = {}
    # Times as text: parsing text is cheaper than the MySQL driver's datetimes. MySQL
    # casts to CHAR only; PostgreSQL's CHAR is one character, so TEXT elsewhere.
    as_text = "CHAR" if dialect == "mysql" else "TEXT"
    for tid, number, state, start, end, objective, value, kind in conn.execute(text(
            f"SELECT t.trial_id, t.number, t.state, CAST(t.datetime_start AS {as_text}), "
            f"CAST(t.datetime_complete AS {as_text}), "
            "v.objective, v.value, v.value_type FROM trials t "
            f"LEFT JOIN trial_values v ON v.trial_id = t.trial_id WHERE {where} "
            "ORDER BY t.number"), args).all():
        if tid not in by_id:
            by_id[tid] = StoredTrial(number, tid, State[state], datetime_start=_time(start),
                                     datetime_complete=_time(end))
        if objective is not None:
            values.setdefault(tid, {})[objective] = _value(value, kind)
    for tid, got in values.items():
        by_id[tid].values = [got[k] for k in sorted(got)]
    return by_id


def _trial_details(conn: Any, by_id: dict[int, StoredTrial], listed: str | None,
                   args: dict[str, Any], only: str) -> None:
    """Parameters, attributes and intermediate values, into the trials read."""
    from sqlalchemy import text

    join = "" if listed is not None else ", trials t"
    decode = _Distributions()
    for tid, pname, pvalue, dist in conn.execute(text(
            "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json "
            f"FROM trial_params p{join} WHERE {_scope('p', listed)} ORDER BY p.param_id"),
            args).all():
        trial = by_id.get(tid)
        if trial is not None:
            trial.params[pname] = decode(dist, pvalue)
            trial._distributions_json[pname] = dist
    # Uploaded logs (artifacts) are most of the system attributes, and no answer reads
    # them: the dashboard finds them itself.
    for table, target, skip in (
            ("trial_user_attributes", "user_attrs", only),
            ("trial_system_attributes", "system_attrs", " AND a.key NOT LIKE 'artifacts:%'")):
        for tid, key, raw in conn.execute(text(
                f"SELECT a.trial_id, a.key, a.value_json FROM {table} a{join} "
                f"WHERE {_scope('a', listed)}{skip}"), args).all():
            trial = by_id.get(tid)
            if trial is not None:
                getattr(trial, target)[key] = json.loads(raw)
    for tid, step, value, kind in conn.execute(text(
            "SELECT i.trial_id, i.step, i.intermediate_value, i.intermediate_value_type "
            f"FROM trial_intermediate_values i{join} WHERE {_scope('i', listed)}"), args).all():
        trial = by_id.get(tid)
        if trial is not None:
            trial.intermediate_values[step] = _value(value, kind)


class _Distributions:
    """Turns a stored parameter (Optuna's internal float) into the value as the trial used it.
    The few distinct distribution texts of a study are parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, Any]] = {}

    def __call__(self, text: str, value: float) -> Any:
        kind = self._parsed.get(text)
        if kind is None:
            d = json.loads(text)
            name, attrs = d["name"], d.get("attributes", {})
            if name == "CategoricalDistribution":
                kind = ("choice", attrs["choices"])
            elif name.startswith("Int"):
                kind = ("int", None)
            else:
                kind = ("float", None)
            self._parsed[text] = kind
        if kind[0] == "choice":
            return kind[1][int(value)]
        if kind[0] == "int":
            return int(value)
        return float(value)


def _value(value: float | None, kind: str) -> float:
    if kind == "INF_POS":
        return math.inf
    if kind == "INF_NEG":
        return -math.inf
    return float(value) if value is not None else math.nan


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class reading:
    """A connection whose errors read as a storage problem, in one line."""

    def __init__(self, engine: Any):
        self.engine = engine

    def __enter__(self) -> Any:
        import sqlalchemy.exc

        try:
            self.conn = self.engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise StorageError(f"cannot read the study database: {first_line(exc)}",
                               hint="check --storage / TUNER_STORAGE, that the server runs, "
                                    "and TUNER_DB_PASSWORD") from None
        return self

    def execute(self, *args: Any) -> Any:
        import sqlalchemy.exc

        try:
            return self.conn.execute(*args)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise StorageError(f"cannot read the study database: {first_line(exc)}",
                               hint="is it a study database (made by tuner or Optuna)?"
                               ) from None

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
