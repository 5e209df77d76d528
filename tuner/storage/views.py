"""The seed's question in plain SQL: a view per study, `results_<study>`, with one column per
parameter (enum values as written, not Optuna's choice index), the score, the state, the
times and why a trial failed. Usable from the `sqlite3` and `mariadb` clients:

    select * from results_tracelog where state = 'COMPLETE' order by score limit 1;

Made (again) by every `tuner optimize`, from the study's search space: Optuna's tables stay
as they are, so Optuna's own tools and optuna-dashboard read the study unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from ..attrs import REASON
from .retry import retrying


def view_name(study: str) -> str:
    return "results_" + re.sub(r"[^A-Za-z0-9_]", "_", study)


def create_results_view(study: Any, distributions: dict[str, Any]) -> str:
    """(Re)create the study's results view; returns its name."""
    from . import engine_of

    return _create(engine_of(study), study._study_id, study.study_name, distributions)


@retrying
def _create(engine: Any, study_id: int, study: str, distributions: dict[str, Any]) -> str:
    from optuna.distributions import CategoricalDistribution, IntDistribution
    from sqlalchemy import text

    q = engine.dialect.identifier_preparer.quote
    mysql = engine.dialect.name == "mysql"

    def lit(value: str) -> str:
        return _literal(value, mysql)

    name = view_name(study)
    columns, joins = [], []
    for i, (param, dist) in enumerate(distributions.items()):
        alias = f"p{i}"
        value = f"{alias}.param_value"
        if isinstance(dist, CategoricalDistribution):
            cases = " ".join(f"WHEN {k} THEN {lit(_as_text(c))}"
                             for k, c in enumerate(dist.choices))
            value = f"CASE {value} {cases} END"
        elif isinstance(dist, IntDistribution):
            value = f"CAST({value} AS {'SIGNED' if mysql else 'INTEGER'})"
        columns.append(f"{value} AS {q(param)}")
        joins.append(f"LEFT JOIN trial_params {alias} ON {alias}.trial_id = t.trial_id "
                     f"AND {alias}.param_name = {lit(param)}")
    select = ", ".join(["t.number AS number", "t.state AS state", "v.value AS score",
                        *columns, "t.datetime_start AS started",
                        "t.datetime_complete AS finished", f"{_unquoted('r.value_json')} AS reason"])
    sql = (f"CREATE VIEW {q(name)} AS SELECT {select} FROM trials t "
           f"LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
           + " ".join(joins) +
           f" LEFT JOIN trial_user_attributes r ON r.trial_id = t.trial_id "
           f"AND r.{q('key')} = {lit(REASON)} WHERE t.study_id = {int(study_id)}")
    with engine.begin() as conn:
        conn.execute(text(f"DROP VIEW IF EXISTS {q(name)}"))
        conn.execute(text(sql.replace(":", "\\:")))  # no bind parameters in values
    return name


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(value: str, mysql: bool = False) -> str:
    """A string literal; MySQL also reads backslashes as escapes."""
    if mysql:
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def _unquoted(column: str) -> str:
    """A JSON string attribute as its text (the quotes stripped; plain SQL, both dialects)."""
    return f"SUBSTR({column}, 2, LENGTH({column}) - 2)"
