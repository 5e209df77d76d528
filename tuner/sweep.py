"""`tuner effect PARAM --measure`: a one-factor sweep around the best configuration, run as real
trials in the same study (by app.sweep), so the effect is measured rather than inferred from
what the optimizer happened to try.

The sweep is the best configuration once more (a repeat: it measures the noise) and PARAM a few
steps below and above it, every other parameter as in the best.
"""

from __future__ import annotations

import math
from typing import Any

from .reports.axes import Axis

CONTINUOUS_STEPS = 10  # a float range without a step is swept in tenths of its range


def sweep_values(axis: Axis, value: Any, steps: int) -> list[Any]:
    """Up to `steps` values below and above `value` within the range, nearest first, in order."""
    if not axis.ordered:  # names: the other values, nearest in the list first
        others = [c for c in axis.choices if c != value]
        return others[: 2 * steps]
    vals = axis.values()
    if vals is None:
        return _continuous(axis, float(value), steps)
    keys = [axis.key(v) for v in vals]
    here = min(range(len(vals)), key=lambda i: abs(keys[i] - axis.key(value)))
    below = vals[max(0, here - steps):here]
    above = vals[here + 1:here + 1 + steps]
    return [*below, *above]


def _continuous(axis: Axis, value: float, steps: int) -> list[float]:
    lo, hi = float(axis.low), float(axis.high)  # type: ignore[arg-type]
    log = axis.log and lo > 0
    f = math.log if log else (lambda v: v)
    g = math.exp if log else (lambda v: v)
    step = (f(hi) - f(lo)) / CONTINUOUS_STEPS
    out = []
    for k in [*range(-steps, 0), *range(1, steps + 1)]:
        v = f(value) + k * step
        if f(lo) - 1e-12 <= v <= f(hi) + 1e-12:
            out.append(float(f"{min(max(g(v), lo), hi):.6g}"))
    return out


def sweep_points(axis: Axis, best: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    """The best configuration again, then PARAM swept around it."""
    return [dict(best)] + [{**best, axis.name: v} for v in sweep_values(axis, best[axis.name],
                                                                          steps)]
