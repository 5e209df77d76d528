"""Chart axes in the job's units: a byte-sized parameter's axis reads 256m, 512m, not 2.7e8.

Optuna's charts (slices, contour, parallel coordinates) label axes with the raw numbers; this
relabels the axes of parameters written with units, with ticks at round values of that unit.
"""

from __future__ import annotations

import math
from typing import Any

from ..format import fmt

_BYTES = (1024**4, 1024**3, 1024**2, 1024, 1)


def unit_ticks(low: float, high: float, unit: str, n: int = 5) -> list[float]:
    """About n round values of `unit` between low and high: powers of two of the largest
    byte unit that fits (256m, 512m, ...), or 1-2-5 steps of seconds."""
    if not high > low:
        return [low]
    raw = (high - low) / n
    if unit == "bytes":
        base = next(u for u in _BYTES if u <= raw or u == 1)
        step = base * 2 ** math.ceil(math.log2(max(raw / base, 1)))
    elif raw >= 60:  # whole minutes, which read as 5m, 10m, 30m
        step = 60 * next((m for m in (1, 2, 5, 10, 15, 30, 60) if 60 * m >= raw),
                         60 * math.ceil(raw / 3600))
    else:
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) // step) + 1)]


def label_units(fig: Any, units: dict[str, str], trials: list[Any]) -> Any:
    """Relabel the axes (and parallel-coordinate dimensions) named after a parameter with
    units, over the range of values the charted trials ran."""
    if not units:
        return fig
    ranges = {}
    for p in units:
        values = [t.params[p] for t in trials if p in t.params
                  and isinstance(t.params[p], (int, float))]
        if values:
            ranges[p] = (min(values), max(values))
    for name in [k for k in fig.layout if k.startswith(("xaxis", "yaxis"))]:
        axis = fig.layout[name]
        param = axis.title.text if axis.title else None
        if param in units and param in ranges and axis.type != "category":
            ticks = unit_ticks(*ranges[param], units[param])
            axis.update(tickvals=ticks, ticktext=[fmt(t, units[param]) for t in ticks])
    _label_parallel(fig, units, ranges, _logs(trials))
    return fig


def _label_parallel(fig: Any, units: dict[str, str], ranges: dict[str, tuple[float, float]],
                    logs: set[str]) -> None:
    """Optuna's parallel coordinates: one x tick per parameter, each axis's labels as
    annotations at heights 0..1 of the values' range (a log scale for log ranges)."""
    names = list(fig.layout.xaxis.ticktext or []) if fig.layout.xaxis else []
    for a in fig.layout.annotations or ():
        if not isinstance(a.x, int) or not 0 <= a.x < len(names) or a.y is None:
            continue
        p = names[a.x]
        if p not in units or p not in ranges:
            continue
        lo, hi = ranges[p]
        value = lo * (hi / lo) ** a.y if p in logs and lo > 0 else lo + a.y * (hi - lo)
        a.text = fmt(round(value) if units[p] == "bytes" else value, units[p])


def _logs(trials: list[Any]) -> set[str]:
    """Parameters on a log scale."""
    return {p for t in trials[-1:] for p, d in t.distributions.items() if getattr(d, "log", False)}
