"""The search space: job parameters -> Optuna distributions, grid points and environment values.

Pure logic. Optuna is imported only by `distributions()`, so `tuner validate` stays fast.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from .errors import JobError
from .job import Job, env_name

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

# Above this many points a grid is refused: it would take longer than anyone waits (and each
# point is a queued trial in the study).
MAX_GRID = 100_000
# A workload range with more values than this runs at its default unless --workload names some.
MAX_WORKLOADS = 1_000


@dataclass(frozen=True)
class Dimension:
    name: str
    env: str
    kind: str  # "int" | "float" | "enum"
    role: str  # "knob" | "workload"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    default: Any = None
    decimals: int | None = None  # float steps: values are rounded to this many places
    unit: str | None = None  # "bytes" | "seconds": how the job wrote the range's bounds

    @property
    def count(self) -> int | None:
        """How many values this dimension can take (arithmetic, nothing listed), or None
        when it is continuous."""
        if self.kind == "enum":
            return len(self.choices or ())
        if self.kind == "int":
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        if self.step is None:
            return None
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    @property
    def values(self) -> list[Any] | None:
        """Every value this dimension can take, or None when it is continuous. Lists them:
        check `count` first on a range that may be large."""
        if self.kind == "enum":
            return list(self.choices or ())
        if self.kind == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            return None
        n = self.count - 1  # type: ignore[operator]
        return [self.clean(self.low + i * self.step) for i in range(n + 1)]

    def show(self, value: Any) -> str:
        """A value as a person reads it: sizes and durations with their unit."""
        from .format import fmt

        return fmt(value, self.unit)

    def clean(self, value: Any) -> Any:
        """Plain Python values, float steps without binary noise (0.30000000000000004 -> 0.3)."""
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            value = float(value)
            return round(value, self.decimals) if self.decimals is not None else value
        return value

    def describe(self) -> str:
        if self.kind == "enum":
            return ", ".join(map(str, self.choices or ()))
        text = f"{self.show(self.low)} .. {self.show(self.high)}"
        if self.step is not None:
            text += f" step {self.show(self.step)}"
        if self.log:
            text += " (log)"
        return text


class Space:
    def __init__(self, job: Job, source: str = "<job>"):
        self.source = source
        self.dims: dict[str, Dimension] = {n: _dimension(n, p) for n, p in job.parameters.items()}
        self.knobs = {n: d for n, d in self.dims.items() if d.role == "knob"}
        # Workload parameters describe the input, not the system: they are not searched;
        # every configuration is measured on each of their values (or on those chosen).
        self.workloads = {n: d for n, d in self.dims.items() if d.role == "workload"}
        self.workload = {n: _default(d) for n, d in self.workloads.items()}

    def workload_points(self, chosen: dict[str, list[Any]] | None = None
                        ) -> list[dict[str, Any]]:
        """Every combination of workload values a configuration is measured on."""
        values = []
        for name, d in self.workloads.items():
            allowed = d.values if (d.count or 0) <= MAX_WORKLOADS else None
            allowed = allowed or [_default(d)]
            if chosen and name in chosen:
                allowed = [d.clean(v) for v in chosen[name]]
            values.append(allowed)
        names = list(self.workloads)
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]

    @property
    def units(self) -> dict[str, str]:
        """Parameters whose ranges were written with units, and the unit."""
        return {n: d.unit for n, d in self.dims.items() if d.unit}

    def __iter__(self) -> Iterator[Dimension]:
        """The dimensions searched: the knobs."""
        return iter(self.knobs.values())

    @property
    def grid_size(self) -> int | None:
        counts = [d.count for d in self]
        if any(c is None for c in counts):
            return None
        return math.prod(counts)  # type: ignore[arg-type]

    def grid(self) -> dict[str, list[Any]]:
        """Values per parameter for an exhaustive grid; a job error where there is no grid."""
        for d in self:
            if d.count is None:
                raise JobError(self.source, f"parameters.{d.name}.range",
                               "a float range without a step has no grid; add step: to it, "
                               "or use --sampler tpe")
        size = self.grid_size or 0
        if size > MAX_GRID:
            raise JobError(self.source, "parameters",
                           f"the grid has {size} points (more than {MAX_GRID}); "
                           f"add steps or narrow ranges, or use --sampler tpe")
        return {d.name: d.values for d in self}  # type: ignore[misc]

    def grid_points(self) -> list[dict[str, Any]]:
        grid = self.grid()
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]

    def distributions(self) -> dict[str, BaseDistribution]:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, BaseDistribution] = {}
        for d in self:
            if d.kind == "enum":
                out[d.name] = CategoricalDistribution(list(d.choices or ()))
            elif d.kind == "int":
                out[d.name] = IntDistribution(int(d.low), int(d.high), log=d.log,
                                              step=int(d.step or 1))
            else:
                out[d.name] = FloatDistribution(d.low, d.high, log=d.log, step=d.step)
        return out

    def clean(self, params: dict[str, Any]) -> dict[str, Any]:
        return {n: self.dims[n].clean(v) if n in self.dims else v for n, v in params.items()}

    def env(self, params: dict[str, Any], workload: dict[str, Any] | None = None
            ) -> dict[str, str]:
        """Environment values a run's containers get: one per knob and workload parameter."""
        values = {**self.workload, **(workload or {}), **params}
        return {self.dims[n].env: format_env(self.dims[n].clean(v)) for n, v in values.items()}

    def values(self, params: dict[str, Any], workload: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """A run's value of every parameter, knobs and workload, by name (for templates)."""
        values = {**self.workload, **(workload or {}), **params}
        return {n: self.dims[n].clean(v) if n in self.dims else v for n, v in values.items()}

    def defaults(self) -> dict[str, Any]:
        """The configuration a person starts from: each `default:`, else the first value."""
        return {d.name: _default(d) for d in self}


def _default(d: Dimension) -> Any:
    if d.default is not None:
        return d.clean(d.default)
    if d.kind == "enum":
        return d.choices[0]  # type: ignore[index]
    return d.clean(d.low)


def format_env(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)  # keep '2.0': the parameter is a float
    return str(value)


def _decimals(*numbers: float) -> int:
    """Decimal places needed to write these numbers exactly (as YAML gave them)."""
    places = 0
    for x in numbers:
        text = repr(float(x))
        if "e" in text:
            mantissa, exp = text.split("e")
            frac = mantissa.split(".")[1] if "." in mantissa else ""
            places = max(places, len(frac.rstrip("0")) - int(exp))
        elif "." in text:
            places = max(places, len(text.split(".")[1].rstrip("0")))
    return min(max(places, 0), 12)


def _dimension(name: str, p: Any) -> Dimension:
    env = env_name(name, p.inject.env if p.inject else None)
    if p.enum is not None:
        return Dimension(name, env, "enum", p.role, choices=tuple(p.enum), default=p.default)
    r = p.range
    if r.is_int:
        step = int(r.step or 1)
        # Optuna wants (high - low) divisible by step: drop the ragged top.
        high = r.min + ((r.max - r.min) // step) * step
        return Dimension(name, env, "int", p.role, low=r.min, high=high, step=step, log=r.log,
                         default=p.default, unit=r.unit)
    low, high = float(r.min), float(r.max)
    step = float(r.step) if r.step is not None else None
    decimals = None
    if step is not None:
        decimals = _decimals(low, step)
        n = int(math.floor((high - low) / step + 1e-9))
        high = round(low + n * step, decimals)
    return Dimension(name, env, "float", p.role, low=low, high=high, step=step, log=r.log,
                     default=p.default, decimals=decimals, unit=r.unit)
