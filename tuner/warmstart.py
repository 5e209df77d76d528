"""Warm start: an earlier study's trials as the sampler's prior knowledge, never as results.

An earlier study (another machine, release, data size, or other workload values) says where
good configurations were. Its finished trials are matched to this job's space by parameter
name; what no longer fits is dropped and said why. The sampler then sees them as extra,
older observations, through a view of the study that only it reads: nothing is written to
the study, so `best`, `trials`, `importance`, the SQL view, the report and the dashboard count
this study's own measurements alone.

Scores from elsewhere are on another scale (8 clients against 32, another machine), so each
source is compared by rank: a trial's value in the view is its quantile within its own
source, best 0, worst 1 (this study's trials likewise among themselves). The prior fades as
this study learns: with n trials of its own it keeps (1 - n / horizon) of the earlier ones,
spread evenly over their ranks, and none after `horizon` trials, so a past that misleads
costs at most the first trials' direction, not the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from .space import Dimension, Space

if TYPE_CHECKING:
    import optuna

HORIZON = 20  # trials of its own after which a study no longer uses its prior
SEEDS = 3  # the earlier study's best distinct configurations, run first on this machine
_KINDS = {"IntDistribution": "int", "FloatDistribution": "float",
          "CategoricalDistribution": "enum"}


@dataclass
class Source:
    """One finished trial of an earlier study: its parameters, its value, their kinds."""

    params: dict[str, Any]
    value: float
    kinds: dict[str, str]  # parameter -> "int" | "float" | "enum" as the earlier study had it
    number: int = -1
    group: str = ""  # trials ranked together (a study, or the workload values measured)


@dataclass
class Prior:
    params: dict[str, Any]
    rank: float  # the quantile within its group: 0 the best, 1 the worst
    number: int
    group: str


@dataclass
class Matched:
    """What an earlier study gives this job, and what it could not give, with reasons."""

    priors: list[Prior]
    total: int  # finished trials read
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> trials dropped for it
    params_dropped: dict[str, str] = field(default_factory=dict)  # parameter -> reason
    new_params: list[str] = field(default_factory=list)  # in this job, not in the earlier
    seeds: list[dict[str, Any]] = field(default_factory=list)  # run first, complete points

    def summary(self) -> dict[str, Any]:
        return {"trials": self.total, "used": len(self.priors), "dropped": dict(self.dropped),
                "parameters_dropped": dict(self.params_dropped),
                "new_parameters": list(self.new_params), "seeds": len(self.seeds)}


def sources_of(trials: Sequence["optuna.trial.FrozenTrial"], maximize: bool,
               group: str) -> list[Source]:
    """The finished single-value trials of an earlier study, as minimisation values."""
    from optuna.trial import TrialState

    out = []
    for t in trials:
        if t.state != TrialState.COMPLETE or t.values is None or len(t.values) != 1:
            continue
        value = float(t.values[0])
        if not math.isfinite(value):
            continue
        out.append(Source(params=dict(t.params), value=-value if maximize else value,
                          kinds={n: _KINDS.get(type(d).__name__, "enum")
                                 for n, d in t.distributions.items()},
                          number=t.number, group=group))
    return out


def match(sources: list[Source], space: Space, seeds: int = SEEDS) -> Matched:
    """The earlier trials that are points of this job's space, ranked within their group."""
    knobs = space.knobs
    seen = {n for s in sources for n in s.params}
    params_dropped: dict[str, str] = {}
    for name in sorted(seen):
        d = knobs.get(name)
        if d is None:
            params_dropped[name] = ("a workload parameter here" if name in space.workloads
                                    else "not a parameter of this job")
            continue
        kinds = {s.kinds.get(name) for s in sources if name in s.params}
        bad = sorted(k for k in kinds if k is not None and not _kind_fits(k, d.kind))
        if bad:
            params_dropped[name] = f"was {'/'.join(bad)}, is {d.kind} here"
    dropped: dict[str, int] = {}
    kept: list[Source] = []
    for s in sources:
        params = {n: v for n, v in s.params.items() if n in knobs and n not in params_dropped}
        reason = next((r for n, v in params.items() if (r := _misfit(knobs[n], v))), None)
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
        elif not params:
            dropped["no parameter in common"] = dropped.get("no parameter in common", 0) + 1
        else:
            kept.append(Source({n: knobs[n].clean(v) for n, v in params.items()}, s.value,
                               s.kinds, s.number, s.group))
    priors = _ranked(kept)
    return Matched(priors=priors, total=len(sources), dropped=dropped,
                   params_dropped=params_dropped,
                   new_params=[n for n in knobs if n not in seen],
                   seeds=_seeds(priors, space, seeds))


def _kind_fits(was: str, now: str) -> bool:
    return was == now or (was, now) == ("int", "float")


def _misfit(d: Dimension, value: Any) -> str | None:
    """Why a value is not a point of this dimension, in words; None when it is."""
    if d.kind == "enum":
        choices = list(d.choices or ())
        return None if value in choices else f"{d.name}={value} is not a choice here"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{d.name}={value!r} is not a number"
    if value < d.low - 1e-9 or value > d.high + 1e-9:
        return f"{d.name} outside {d.show(d.low)} .. {d.show(d.high)}"
    if d.step is not None and not d.log:
        k = (value - d.low) / d.step
        if abs(k - round(k)) > 1e-6:
            return f"{d.name} not on the step {d.show(d.step)}"
    return None


def _ranked(sources: list[Source]) -> list[Prior]:
    """Each source's quantile within its group (ties share their middle rank)."""
    groups: dict[str, list[Source]] = {}
    for s in sources:
        groups.setdefault(s.group, []).append(s)
    out = []
    for members in groups.values():
        ranks = quantiles([s.value for s in members])
        out += [Prior(s.params, r, s.number, s.group) for s, r in zip(members, ranks)]
    out.sort(key=lambda p: p.rank)
    return out


def quantiles(values: Sequence[float]) -> list[float]:
    """Each value's rank as a fraction, 0 the smallest, 1 the largest; ties share one."""
    n = len(values)
    if n == 1:
        return [0.0]
    order = sorted(range(n), key=lambda i: values[i])
    out = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 / (n - 1)
        i = j + 1
    return out


def _seeds(priors: list[Prior], space: Space, count: int) -> list[dict[str, Any]]:
    """The best distinct earlier configurations, completed with this job's defaults; the
    default configuration itself is not one (every new study measures it first anyway)."""
    default = space.defaults()
    out: list[dict[str, Any]] = []
    for p in priors:  # best first
        point = {**default, **p.params}
        if point != default and point not in out:
            out.append(point)
        if len(out) == count:
            break
    return out


def fading(priors: list[Prior], own: int, horizon: int = HORIZON,
           trust: float = 1.0) -> list[Prior]:
    """The priors a study with `own` finished trials still uses: an even spread over their
    ranks, fewer as it learns, none after `horizon` trials; `trust` (0..1) scales them."""
    keep = round(len(priors) * max(0.0, 1 - own / horizon) * trust)
    if keep <= 0:
        return []
    if keep >= len(priors):
        return list(priors)
    step = len(priors) / keep
    return [priors[int(i * step)] for i in range(keep)]


def agreement(predicted: Sequence[float], measured: Sequence[float]) -> float | None:
    """How far the prior ranks this study's own measurements as they came out: the share of
    pairs it orders rightly, 0.5 (a coin) to 1, as 0 to 1; None while fewer than 3 pairs
    tell (the prior is trusted until they do). Ties in either count for nothing."""
    right = wrong = 0
    for i in range(len(predicted)):
        for j in range(i + 1, len(predicted)):
            a = (predicted[i] - predicted[j]) * (measured[i] - measured[j])
            right += a > 0
            wrong += a < 0
    if right + wrong < 3:
        return None
    return max(0.0, 2 * right / (right + wrong) - 1)


def nearest_rank(point: dict[str, Any], priors: Sequence[Prior],
                 scales: dict[str, Any]) -> float:
    """The rank of the earlier trial nearest to `point` (a prediction of how good it is).
    `scales`: parameter -> (low, high, log) for numbers, None for choices."""
    best, rank = math.inf, 0.5
    for p in priors:
        d = 0.0
        for name, scale in scales.items():
            if name not in p.params or name not in point:
                continue
            a, b = point[name], p.params[name]
            if scale is None:
                d += a != b
            else:
                low, high, log = scale
                if log:
                    a, b, low, high = (math.log(x) for x in (a, b, low, high))
                d += ((a - b) / (high - low)) ** 2 if high > low else 0.0
        if d < best:
            best, rank = d, p.rank
    return rank
