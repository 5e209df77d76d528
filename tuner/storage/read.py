"""Reading a study for the answers: Optuna's tables in plain SQL, one query per table.

Optuna's own load builds ORM objects trial by trial (9 s for 10,000 trials here) and costs a
second of imports and schema checks before the first row. The questions need plain values:
the best trial is one query, all trials are a handful. The objects below carry the names of
Optuna's Study and FrozenTrial that the reports read (study_name, direction, get_trials,
best_trial; number, state, value, params, user_attrs, ...), so a report works on either, and
the database stays Optuna's, readable by its CLI and optuna-dashboard.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any, Iterable

from ..attrs import WARM_START
from ..errors import InputError
from .rows import Direction, State, StoredTrial, read_trials, reading  # noqa: F401


class StoredStudy:
    """A study as its tables hold it; trials are read once, on first use."""

    def __init__(self, engine: Any, study_id: int, name: str, directions: list[Direction],
                 user_attrs: dict[str, Any], system_attrs: dict[str, Any],
                 user_keys: tuple[str, ...] | None = None):
        self.engine = engine
        self._storage = self  # storage.engine_of() finds the engine here, as on an Optuna study
        self._study_id = study_id
        self.study_name = name
        self.directions = directions
        self.user_attrs = user_attrs
        self.system_attrs = system_attrs
        self.user_keys = user_keys  # trials carry only these user attributes (None: all)
        self._trials: list[StoredTrial] | None = None
        self._where: dict[str, list[StoredTrial]] = {}
        self._lock = threading.Lock()

    @property
    def direction(self) -> Direction:
        if len(self.directions) > 1:
            raise RuntimeError("this study has several objectives: read .directions")
        return self.directions[0]

    def get_trials(self, deepcopy: bool = False, states: Iterable[Any] | None = None
                   ) -> list[StoredTrial]:
        with self._lock:
            if self._trials is None:
                self._trials = read_trials(self.engine, self._study_id, user_keys=self.user_keys)
        if states is None:
            return list(self._trials)
        names = {s.name for s in states}
        return [t for t in self._trials if t.state.name in names]

    @property
    def trials(self) -> list[StoredTrial]:
        return self.get_trials()

    def trials_where(self, attr: str) -> list[StoredTrial]:
        """The trials that have this user attribute (read alone when trials are not loaded)."""
        if self._trials is not None:
            return [t for t in self._trials if attr in t.user_attrs]
        if attr not in self._where:
            self._where[attr] = read_trials(self.engine, self._study_id, with_attr=attr)
        return list(self._where[attr])

    def trial(self, number: int) -> StoredTrial | None:
        """One trial by its number: one lookup, whatever the study's size."""
        from sqlalchemy import text

        if not -2**63 <= number < 2**63:  # no database integer is that big
            return None
        with reading(self.engine) as conn:
            row = conn.execute(text("SELECT t.trial_id FROM trials t WHERE t.study_id = :s "
                                    "AND t.number = :n"),
                               {"s": self._study_id, "n": number}).first()
        found = read_trials(self.engine, self._study_id, trial_ids=[row[0]]) if row else []
        return found[0] if found else None

    def count(self) -> int:
        from sqlalchemy import text

        with reading(self.engine) as conn:
            return conn.execute(text("SELECT COUNT(*) FROM trials t WHERE t.study_id = :s"),
                                {"s": self._study_id}).scalar()

    @property
    def best_trial(self) -> StoredTrial:
        """The best complete trial: one query unless the trials are loaded already."""
        if self._trials is not None:
            return _best(self._trials, self.direction)
        from sqlalchemy import text

        descending = self.direction == Direction.MAXIMIZE
        order = ("CASE v.value_type WHEN 'INF_POS' THEN 0 WHEN 'FINITE' THEN 1 ELSE 2 END, "
                 "v.value DESC" if descending else
                 "CASE v.value_type WHEN 'INF_NEG' THEN 0 WHEN 'FINITE' THEN 1 ELSE 2 END, "
                 "v.value ASC")
        with reading(self.engine) as conn:
            row = conn.execute(text(
                "SELECT t.trial_id FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id "
                "AND v.objective = 0 WHERE t.study_id = :s AND t.state = 'COMPLETE' "
                f"ORDER BY {order}, t.number LIMIT 1"), {"s": self._study_id}).first()
        if row is None:
            raise ValueError("no complete trial")
        return read_trials(self.engine, self._study_id, trial_ids=[row[0]])[0]

    @property
    def best_trials(self) -> list[StoredTrial]:
        """The Pareto front of the complete trials (several objectives)."""
        complete = [t for t in self.get_trials(states=[State.COMPLETE]) if t.values]
        return pareto_front(complete, self.directions)


def pareto_front(trials: list[StoredTrial], directions: list[Direction]) -> list[StoredTrial]:
    """Trials no other trial beats on every objective (at least as good, better on one)."""
    signs = [1 if d == Direction.MINIMIZE else -1 for d in directions]
    keyed = sorted(trials, key=lambda t: [s * v for s, v in zip(signs, t.values or [])])
    front: list[tuple[list[float], StoredTrial]] = []
    for t in keyed:
        key = [s * v for s, v in zip(signs, t.values or [])]
        # Sorted on the first objective: only an earlier trial can dominate a later one.
        if any(all(a <= b for a, b in zip(k, key)) and k != key for k, _ in front):
            continue
        front.append((key, t))
    return sorted((t for _, t in front), key=lambda t: t.number)


def _best(trials: list[StoredTrial], direction: Direction) -> StoredTrial:
    complete = [t for t in trials if t.state == State.COMPLETE and t.values]
    if not complete:
        raise ValueError("no complete trial")
    sign = -1 if direction == Direction.MAXIMIZE else 1
    return min(complete, key=lambda t: (sign * t.values[0], t.number))


# --- opening --------------------------------------------------------------------------------

def connect(url: str) -> Any:
    """An engine for reading: one connection, kept for the command's few queries (a new
    MySQL connection costs a handshake and TLS set-up each)."""
    import sqlalchemy
    from sqlalchemy.pool import StaticPool

    from . import URL_FORMS, _with_password

    try:
        return sqlalchemy.create_engine(_with_password(url), poolclass=StaticPool)
    except sqlalchemy.exc.ArgumentError:
        raise InputError(f"--storage: '{url}' is not a database URL", hint=URL_FORMS) from None
    except ImportError as exc:
        from . import no_driver

        raise no_driver(url, exc) from None


def studies(engine: Any) -> list[tuple[int, str]]:
    from sqlalchemy import text

    with reading(engine) as conn:
        return [(r[0], r[1]) for r in conn.execute(text(
            "SELECT study_id, study_name FROM studies ORDER BY study_id"))]


def read_study(engine: Any, url: str, name: str | None,
               user_keys: tuple[str, ...] | None = None) -> StoredStudy:
    """The named study, or the only one; errors say which studies exist. With `user_keys`,
    its trials carry only those user attributes (a listing needs a few of many)."""
    from sqlalchemy import text

    from . import choose_study

    found = studies(engine)
    name = choose_study([n for _, n in found], url, name)
    study_id = dict((n, i) for i, n in found)[name]
    with reading(engine) as conn:
        directions = [Direction[r[0]] for r in conn.execute(text(
            "SELECT direction FROM study_directions WHERE study_id = :s ORDER BY objective"),
            {"s": study_id})]
        user = {r[0]: json.loads(r[1]) for r in conn.execute(text(
            "SELECT a.key, a.value_json FROM study_user_attributes a WHERE a.study_id = :s"),
            {"s": study_id})}
        system = {r[0]: json.loads(r[1]) for r in conn.execute(text(
            "SELECT a.key, a.value_json FROM study_system_attributes a WHERE a.study_id = :s"),
            {"s": study_id})}
    return StoredStudy(engine, study_id, name, directions or [Direction.MINIMIZE], user, system,
                       user_keys)


def study_counts(engine: Any) -> list[dict[str, Any]]:
    """Every study with its trials per state and its best value: three grouped queries."""
    from sqlalchemy import text

    with reading(engine) as conn:
        counts: dict[int, dict[str, int]] = {}
        for sid, state, n in conn.execute(text(
                "SELECT study_id, state, COUNT(*) FROM trials GROUP BY study_id, state")):
            counts.setdefault(sid, {})[state] = n
        directions = {sid: d for sid, d, _ in conn.execute(text(
            "SELECT study_id, direction, objective FROM study_directions ORDER BY objective "
            "DESC"))}
        objectives = {sid: n for sid, n in conn.execute(text(
            "SELECT study_id, COUNT(*) FROM study_directions GROUP BY study_id"))}
        best: dict[int, tuple[Any, Any]] = {}
        for sid, lo, hi, neg, pos in conn.execute(text(
                "SELECT t.study_id, MIN(v.value), MAX(v.value), "
                "SUM(CASE WHEN v.value_type = 'INF_NEG' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN v.value_type = 'INF_POS' THEN 1 ELSE 0 END) "
                "FROM trials t JOIN trial_values v "
                "ON v.trial_id = t.trial_id AND v.objective = 0 "
                "WHERE t.state = 'COMPLETE' GROUP BY t.study_id")):
            # An infinite value is stored as NULL beside its kind: MIN and MAX skip it.
            best[sid] = (-math.inf if neg else lo, math.inf if pos else hi)
        named = list(conn.execute(text("SELECT study_id, study_name FROM studies "
                                       "ORDER BY study_id")))
        priors = {sid: json.loads(v) for sid, v in conn.execute(
            text("SELECT study_id, value_json FROM study_user_attributes a WHERE a.key = :k"),
            {"k": WARM_START})}
    rows = []
    for sid, name in named:
        c = counts.get(sid, {})
        direction = directions.get(sid, "MINIMIZE")
        lo, hi = best.get(sid, (None, None))
        rows.append({"study": name, "direction": direction.lower(),
                     "objectives": objectives.get(sid, 1),
                     "trials": sum(c.values()), "complete": c.get("COMPLETE", 0),
                     "fail": c.get("FAIL", 0), "running": c.get("RUNNING", 0),
                     "pruned": c.get("PRUNED", 0),
                     "waiting": c.get("WAITING", 0),
                     "best": (hi if direction == "MAXIMIZE" else lo)
                     if objectives.get(sid, 1) == 1 else None,
                     "warm_start": priors.get(sid)})
    return rows


# --- into Optuna, for what only Optuna draws or computes --------------------------------------

PLOT_TRIALS = 1_000  # more lines than this make a chart slow to draw and to build, and say no more


def as_frozen(trials: Iterable[Any]) -> list[Any]:
    """Optuna FrozenTrials of these trials (fANOVA and the plots take nothing else)."""
    import optuna
    from optuna.trial import FrozenTrial, TrialState

    out = []
    for t in trials:
        if isinstance(t, FrozenTrial):
            out.append(t)
            continue
        state = TrialState[t.state.name]
        out.append(optuna.trial.create_trial(
            state=state, params=t.params, distributions=t.distributions,
            values=t.values if state == TrialState.COMPLETE else None,
            user_attrs=t.user_attrs, system_attrs=t.system_attrs,
            intermediate_values=t.intermediate_values))
    return out


def thin_study(trials: list[Any], direction: str) -> Any:
    """An empty in-memory Optuna study whose get_trials answers with copies of `trials`
    (distinct ids: PED-ANOVA tells trials apart by them). Adding 10,000 trials to a study took
    1.3 s here, PED-ANOVA's evaluation 0.15 s; optuna-dashboard's StudyWrapper does the same."""
    import copy

    import optuna

    own = []
    for i, t in enumerate(trials):
        t = copy.copy(t)
        t._trial_id = i
        own.append(t)

    class Thin(optuna.Study):
        def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[Any]:
            return [t for t in own if states is None or t.state in states]

    empty = optuna.create_study(direction=direction)
    return Thin(study_name=empty.study_name, storage=empty._storage)


def plottable(study: Any, limit: int = PLOT_TRIALS) -> tuple[Any, int | None]:
    """An in-memory Optuna study for the charts: the complete trials, or a seeded sample of
    `limit` of them in their order; and how many there were when it is a sample."""
    import random

    import optuna

    if isinstance(study, optuna.Study):
        return study, None
    complete = study.get_trials(states=[State.COMPLETE])
    sampled_from = None
    if len(complete) > limit:
        sampled_from = len(complete)
        complete = sorted(random.Random(0).sample(complete, limit), key=lambda t: t.number)
    memory = optuna.create_study(directions=[d.name.lower() for d in study.directions],
                                 study_name=study.study_name)
    memory.add_trials(as_frozen(complete))
    for key, value in study.user_attrs.items():  # the units, so axes read 128m
        memory.set_user_attr(key, value)
    return memory, sampled_from
