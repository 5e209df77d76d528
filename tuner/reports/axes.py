"""A parameter's axis, as the effect answer and the one-factor sweep see it: its kind, values,
unit, and how far apart two values are on it. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..format import fmt as _fmt

if TYPE_CHECKING:
    from ..space import Dimension

MAX_DISCRETE = 12  # ranges with at most this many values are matched exactly, not by distance


@dataclass(frozen=True)
class Axis:
    """One parameter's domain, as far as ordering and distance need it."""

    name: str
    kind: str  # "int" | "float" | "enum"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    unit: str | None = None  # "bytes" | "seconds" when the job wrote the range with units

    def show(self, value: Any) -> str:
        """A value of this parameter as the job wrote it (128m, 90s)."""
        return _fmt(value, self.unit)

    @property
    def ordered(self) -> bool:
        """Numbers have an order ("raising" means something); enum strings do not."""
        return self.kind != "enum" or all(is_number(c) for c in self.choices)

    @property
    def discrete(self) -> bool:
        """Few enough values that "near" should mean "the same"."""
        n = self.count()
        return self.kind == "enum" or (n is not None and n <= MAX_DISCRETE)

    def count(self) -> int | None:
        """How many values there are (counted, never listed: a byte range has billions), or
        None when continuous."""
        if self.kind == "enum":
            return len(self.choices)
        if self.step is None and self.kind == "float":
            return None
        return int(math.floor((self.high - self.low) / (self.step or 1) + 1e-9)) + 1  # type: ignore[operator]

    def value_at(self, i: int) -> Any:
        """The i-th value of a stepped range."""
        step = self.step or 1
        v = self.low + i * step  # type: ignore[operator]
        return int(v) if self.kind == "int" else round_to(v, step)

    def ends(self) -> tuple[Any, Any]:
        """The lowest and highest value."""
        if self.kind == "enum":
            vals = self.values() or []
            return vals[0], vals[-1]
        n = self.count()
        return (self.low, self.high) if n is None else (self.value_at(0), self.value_at(n - 1))

    def values(self) -> list[Any] | None:
        """Every value in order, or None when continuous. Only for enums and short ranges."""
        if self.kind == "enum":
            return sorted(self.choices, key=float) if self.ordered else list(self.choices)
        n = self.count()
        return None if n is None else [self.value_at(i) for i in range(n)]

    def key(self, value: Any) -> float:
        """A sort key: the value itself for numbers, the position in the list for strings."""
        if self.ordered:
            return float(value)
        try:
            return float(list(self.choices).index(value))
        except ValueError:
            return float(len(self.choices))

    def position(self, value: Any) -> float:
        """The value's place in its range, 0..1 (log ranges on a log scale)."""
        if self.kind == "enum":
            vals = self.values() or []
            return vals.index(value) / (len(vals) - 1) if value in vals and len(vals) > 1 else 0.0
        lo, hi, v = float(self.low), float(self.high), float(value)  # type: ignore[arg-type]
        if self.log and lo > 0 and v > 0:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return (v - lo) / (hi - lo) if hi > lo else 0.0

    def distance(self, a: Any, b: Any) -> float:
        if not self.ordered:
            return 0.0 if a == b else 1.0
        return abs(self.position(a) - self.position(b))


def axis_of(name: str, dist: Any, unit: str | None = None) -> Axis:
    """An Axis from an Optuna distribution."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return Axis(name, "enum", choices=tuple(dist.choices))
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    step = dist.step if kind == "float" else (None if dist.log else dist.step)
    return Axis(name, kind, low=dist.low, high=dist.high, step=step, log=dist.log, unit=unit)


def axis_of_dimension(d: "Dimension") -> Axis:
    """An Axis from a job's search dimension."""
    if d.kind == "enum":
        return Axis(d.name, "enum", choices=tuple(d.choices or ()))
    return Axis(d.name, d.kind, low=d.low, high=d.high, step=d.step, log=d.log, unit=d.unit)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = q * (len(sorted_values) - 1)
    i = int(math.floor(pos))
    j = min(i + 1, len(sorted_values) - 1)
    return float(sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (pos - i))


def is_number(v: Any) -> bool:
    """Numbers, and enum values kept as written that are numbers (`1.10`, `1e3`)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, str):
        try:
            return math.isfinite(float(v))
        except ValueError:
            return False
    return isinstance(v, (int, float))


def same_value(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def round_to(v: float, step: float) -> float:
    text = repr(float(step))
    places = len(text.split(".")[1].rstrip("0")) if "." in text and "e" not in text else 12
    return round(v, places)
