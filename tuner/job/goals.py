"""What a study aims at besides one score: the names a job can measure (the score, its
metrics, the built-in peak memory and CPU time), its objectives and its constraints. Pure."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from .model import parse_duration, parse_size

SCORE = "score"
# Built in for every trial, from the engine: totals over the trial's containers, and each
# container's own as NAME.CONTAINER.
BUILTINS = {"peak_memory": "bytes", "cpu_seconds": "seconds"}
OPERATORS = ("<=", ">=", "<", ">")

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(<=|>=|<|>|==|=<|=>|=|!=)\s*(\S.*?)\s*$")


def metric_units(job: Any) -> dict[str, str | None]:
    """Every name an objective or a constraint may use, with its unit ("bytes", "seconds" or
    None for a plain number)."""
    out: dict[str, str | None] = {SCORE: None}
    out.update({name: None for name in job.metrics})
    for name, unit in BUILTINS.items():
        out[name] = unit
        for c in job.spec.containers:
            out[f"{name}.{c}"] = unit
    return out


def unknown_metric(name: str, units: dict[str, Any]) -> str:
    hint = difflib.get_close_matches(name, list(units), n=1)
    known = ", ".join(n for n in units if "." not in n)
    return (f"no metric named '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else
                                            f"; metrics: {known}"))


@dataclass(frozen=True)
class Constraint:
    text: str  # as written in the job
    name: str
    op: str  # one of OPERATORS
    bound: float

    def violation(self, value: float) -> float:
        """How far a value is outside the bound, relative to it (Optuna's convention: zero or
        less is feasible). Relative, so that bytes and milliseconds weigh alike."""
        over = value - self.bound if self.op in ("<=", "<") else self.bound - value
        if self.op in ("<", ">") and over == 0:
            over = 1e-12  # on the bound: outside a strict inequality
        return over / abs(self.bound) if self.bound else over

    def holds(self, value: float) -> bool:
        return self.violation(value) <= 0


def parse_constraint(text: str, units: dict[str, str | None]) -> Constraint:
    """'p99_ms <= 20', 'peak_memory <= 1g', 'cpu_seconds < 30s'; ValueError says what is
    wrong in words."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a constraint; write it like 'p99_ms <= 20' "
                         f"(a metric, one of {' '.join(OPERATORS)}, a number)")
    name, op, raw = m.groups()
    if op not in OPERATORS:
        fix = {"=<": "<=", "=>": ">="}.get(op)
        raise ValueError(f"{text!r}: unknown operator '{op}'"
                         + (f"; did you mean '{fix}'?" if fix else
                            f"; use one of {' '.join(OPERATORS)}"))
    if name not in units:
        raise ValueError(f"{text!r}: {unknown_metric(name, units)}")
    return Constraint(text.strip(), name, op, _bound(raw, units[name], text))


def _bound(raw: str, unit: str | None, text: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        try:
            value = float(parse_size(raw) if unit == "bytes" else parse_duration(raw)
                          if unit == "seconds" else _any_unit(raw))
        except ValueError:
            what = {"bytes": "a size like 512m or 1g", "seconds": "a duration like 500ms or 30s"}
            raise ValueError(f"{text!r}: {raw!r} is not a number"
                             + (f" or {what[unit]}" if unit in what else "")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r}: the bound must be a finite number")
    return value


def _any_unit(raw: str) -> float:
    from .model import range_number

    return float(range_number(raw, None))


@dataclass(frozen=True)
class Goals:
    """The objectives (name, direction) a study optimizes and the constraints it keeps."""

    names: tuple[str, ...]
    directions: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()

    @property
    def multi(self) -> bool:
        return len(self.names) > 1

    @property
    def needed(self) -> set[str]:
        """Metric names a trial must have measured (besides the score)."""
        return ({n for n in self.names} | {c.name for c in self.constraints}) - {SCORE}


def goals_of(job: Any) -> Goals:
    units = metric_units(job)
    cons = tuple(parse_constraint(t, units) for t in job.constraints)
    if job.objectives:
        return Goals(tuple(g.name for g in job.objectives),
                     tuple(g.direction for g in job.objectives), cons)
    return Goals((SCORE,), (job.objective.direction,), cons)
