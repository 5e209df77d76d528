"""Would raising a knob help? Three views of one parameter, with their evidence.

1. The marginal: scores per value (or per quantile bin) over every complete trial.
2. The conditional view around a configuration (the best by default): trials that differ from it
   mainly in this parameter, as value -> score.
3. A verdict for raising the parameter from that configuration's value: helps, hurts, flat or
   unclear, from the nearest higher value's scores against the noise of repeated (or similar)
   configurations.

The logic here is pure: plain observations and axes in, dataclasses out. `study_effect` is the
only part that reads a study.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..format import fmt as _fmt
from .axes import MAX_DISCRETE, Axis, axis_of, quantile, same_value

if TYPE_CHECKING:
    import optuna

MAX_LEVELS = 10  # more distinct values than this are shown as quantile bins
N_BINS = 6
COND_BINS = 5  # a continuous parameter near a configuration: bins of 20% of its range
RADIUS = 0.2  # "near" in the other parameters: normalized RMS distance (share of their ranges)
K_NEAREST = 8  # fallback when nothing is near: this many nearest trials
MAX_JUMP = 2  # the nearest higher value may be this many steps up (or 2 bins of 20%)
Z = 2.0  # a change counts when it exceeds Z standard errors of the noise

HELPS, HURTS, FLAT, UNCLEAR = "helps", "hurts", "flat", "unclear"


@dataclass(frozen=True)
class Obs:
    """One complete trial: its number, parameters and score."""

    number: int
    params: dict[str, Any]
    value: float


# --- 1. the marginal ---------------------------------------------------------------------


@dataclass
class Level:
    """Scores at one value (low == high) or one bin of values."""

    low: Any
    high: Any
    count: int
    best: float
    median: float
    q1: float
    q3: float
    min: float
    max: float
    numbers: list[int] = field(default_factory=list)
    unit: str | None = None  # the parameter's, for the label (low and high stay exact)

    @property
    def label(self) -> str:
        low, high = _fmt(self.low, self.unit), _fmt(self.high, self.unit)
        return low if self.low == self.high else f"{low} .. {high}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["label"] = self.label
        return d


def marginal(obs: Sequence[Obs], axis: Axis, direction: str) -> list[Level]:
    """Scores per value of the parameter, or per quantile bin when it took many values."""
    pts = [(o.params[axis.name], o) for o in obs if axis.name in o.params]
    distinct = sorted({repr(v): v for v, _ in pts}.values(), key=axis.key)
    if len(distinct) <= MAX_LEVELS or not axis.ordered:
        groups = [[o for v, o in pts if v == d] for d in distinct]
        return [_level(d, d, g, axis.unit, direction) for d, g in zip(distinct, groups)]
    keys = sorted(axis.key(v) for v, _ in pts)
    bins = min(N_BINS, max(2, len(keys) // 3))
    edges = sorted({quantile(keys, i / bins) for i in range(1, bins)})
    groups: list[list[Obs]] = [[] for _ in range(len(edges) + 1)]
    for v, o in pts:
        groups[sum(axis.key(v) > e for e in edges)].append(o)
    out = []
    for g in groups:
        if g:
            vals = sorted((o.params[axis.name] for o in g), key=axis.key)
            out.append(_level(vals[0], vals[-1], g, axis.unit, direction))
    return out


def _level(low: Any, high: Any, group: Sequence[Obs], unit: str | None,
           direction: str) -> Level:
    ys = sorted(o.value for o in group)
    best = ys[0] if direction == "minimize" else ys[-1]
    return Level(low, high, len(ys), best, statistics.median(ys), quantile(ys, 0.25),
                 quantile(ys, 0.75), ys[0], ys[-1], sorted(o.number for o in group), unit)


# --- 2. the conditional view -------------------------------------------------------------


@dataclass
class Neighbour:
    number: int
    value: Any  # the parameter's value
    score: float
    distance: float  # in the other parameters, 0 = the same
    match: bool = field(default=False, repr=False)  # the same discrete other parameters
    obs: Obs | None = field(default=None, repr=False, compare=False)


@dataclass
class Neighbourhood:
    rule: str  # how the neighbours were chosen, for a person
    kind: str  # "exact" (same other parameters) | "near" | "nearest" (K nearest: only a hint)
    points: list[Neighbour]
    levels: list[Level]


def distance(a: dict[str, Any], b: dict[str, Any], axes: dict[str, Axis], skip: str,
             only: set[str] | None = None) -> float:
    """Normalized RMS distance over the parameters other than `skip` (0 = identical); over
    `only` those when given."""
    names = [n for n in axes if n != skip and (only is None or n in only)]
    if not names:
        return 0.0
    parts = [axes[n].distance(a[n], b[n]) if n in a and n in b else 1.0 for n in names]
    return math.sqrt(sum(p * p for p in parts) / len(parts))


def neighbourhood(obs: Sequence[Obs], axes: dict[str, Axis], param: str,
                  base: dict[str, Any], direction: str) -> Neighbourhood:
    """Trials that differ from `base` mainly in `param`, the first of these that holds two
    values of it or more: the same other parameters; the same discrete ones (enums, short
    ranges) and continuous ones within RADIUS; else the K nearest (which differ in other
    parameters too, so they only hint)."""
    axis = axes[param]
    others = [n for n in axes if n != param]
    discrete = {n for n in others if axes[n].discrete}
    continuous = set(others) - discrete

    def same_discrete(o: Obs) -> bool:
        return all(n in o.params and n in base and same_value(o.params[n], base[n])
                   for n in discrete)

    scored = sorted((Neighbour(o.number, o.params[param], o.value,
                               distance(o.params, base, axes, param), same_discrete(o), o)
                     for o in obs if param in o.params),
                    key=lambda n: (n.distance, axis.key(n.value), n.number))

    def spread(ns: list[Neighbour]) -> int:
        return len({repr(n.value) for n in ns})

    exact = [n for n in scored if n.distance == 0]
    near = [n for n in scored if n.match
            and distance(n.obs.params, base, axes, param, continuous) <= RADIUS]
    if spread(exact) >= 2:
        points, kind, rule = exact, "exact", "the same other parameters"
    elif spread(near) >= 2:
        points, kind = near, "near"
        rule = "the same " + ", ".join(sorted(discrete)) if discrete else ""
        if continuous:
            rule += (" and " if rule else "") + ", ".join(sorted(continuous)) \
                + f" within {RADIUS:.0%} of their ranges"
    else:
        points = scored[:K_NEAREST]
        kind, rule = "nearest", f"the {len(points)} nearest trials in the other parameters"
    points = sorted(points, key=lambda n: (axis.key(n.value), n.distance, n.number))
    as_obs = [Obs(n.number, {param: n.value}, n.score) for n in points]
    levels = _levels(as_obs, axis, direction)
    return Neighbourhood(rule, kind, points, levels)


def _levels(obs: Sequence[Obs], axis: Axis, direction: str) -> list[Level]:
    """Per value; a continuous parameter in COND_BINS equal-width bins of its range (so that
    "a bit higher" gathers more than one trial), a discrete one with many values in MAX_LEVELS."""
    continuous = axis.kind == "float" and axis.step is None
    many = len({repr(o.params[axis.name]) for o in obs}) > MAX_LEVELS
    if not axis.ordered or axis.kind == "enum" or not (continuous or many):
        return marginal(obs, axis, direction)
    bins = COND_BINS if continuous else MAX_LEVELS
    groups: dict[int, list[Obs]] = {}
    for o in obs:
        b = min(int(axis.position(o.params[axis.name]) * bins), bins - 1)
        groups.setdefault(b, []).append(o)
    out = []
    for b in sorted(groups):
        vals = sorted((o.params[axis.name] for o in groups[b]), key=axis.key)
        out.append(_level(vals[0], vals[-1], groups[b], axis.unit, direction))
    return out


# --- noise -------------------------------------------------------------------------------


@dataclass
class Noise:
    sd: float | None
    source: str  # what the spread was measured on


def noise(obs: Sequence[Obs], axes: dict[str, Axis],
          fallback: Sequence[Level] = (), fallback_obs: Sequence[Obs] = ()) -> Noise:
    """The run-to-run spread: pooled SD of repeated configurations; without repeats, the pooled
    SD within the neighbourhood's levels (similar configurations: an upper bound)."""
    names = list(axes)
    groups: dict[tuple[str, ...], list[float]] = {}
    for o in obs:
        groups.setdefault(tuple(repr(o.params.get(n)) for n in names), []).append(o.value)
    sd, df = _pooled([g for g in groups.values() if len(g) > 1])
    if sd is not None:
        reps = sum(1 for g in groups.values() if len(g) > 1)
        return Noise(sd, f"{reps} repeated configuration(s), {df} degree(s) of freedom")
    by_number = {o.number: o.value for o in fallback_obs}
    level_groups = [[by_number[n] for n in lv.numbers if n in by_number]
                    for lv in fallback if lv.count > 1]
    sd, df = _pooled([g for g in level_groups if len(g) > 1])
    if sd is not None:
        return Noise(sd, f"similar configurations at the same value ({df} degree(s) of "
                         f"freedom; includes the other parameters' effect)")
    return Noise(None, "no repeated or similar configurations")


def _pooled(groups: list[list[float]]) -> tuple[float | None, int]:
    df = sum(len(g) - 1 for g in groups)
    if df < 1:
        return None, 0
    ss = sum(sum((y - statistics.fmean(g)) ** 2 for y in g) for g in groups)
    return math.sqrt(ss / df), df


# --- 3. the verdict ----------------------------------------------------------------------


@dataclass
class Edge:
    side: str  # "max" | "min"
    limit: Any
    hint: str


@dataclass
class Verdict:
    answer: str  # helps | hurts | flat | unclear
    leaning: str | None  # what the raw numbers point to, when the answer is unclear
    base: Any  # the value raised from
    to: Any = None  # the nearest higher value (or bin label) compared with
    base_score: float | None = None  # median at the base value
    to_score: float | None = None  # median at the higher value
    gain: float | None = None  # improvement by raising (positive = better, either direction)
    threshold: float | None = None  # |gain| below this is noise
    because: str = ""


def edge_of(axis: Axis, value: Any) -> Edge | None:
    """The value sits at an end of its range: the optimum may lie beyond it."""
    if not axis.ordered:
        return None
    lo, hi = axis.ends()
    where = f"parameters.{axis.name}." + ("enum" if axis.kind == "enum" else "range")
    if same_value(value, hi) and not same_value(lo, hi):
        more = "add a larger value to it" if axis.kind == "enum" else "raise its max"
        return Edge("max", hi, f"{axis.name}={axis.show(value)} is the top of its range: higher "
                               f"values may be better still; widen {where} ({more})")
    if same_value(value, lo) and not same_value(lo, hi):
        less = "add a smaller value to it" if axis.kind == "enum" else "lower its min"
        return Edge("min", lo, f"{axis.name}={axis.show(value)} is the bottom of its range: lower "
                               f"values may be better still; widen {where} ({less})")
    return None


def verdict(hood: Neighbourhood, axis: Axis, base_value: Any, direction: str,
            sd: Noise) -> Verdict:
    """Raising `axis` from `base_value`: compare the neighbours at the nearest higher value with
    those at the base value, against the noise."""
    levels = hood.levels
    at = [i for i, lv in enumerate(levels)
          if axis.key(lv.low) <= axis.key(base_value) <= axis.key(lv.high)]
    e = edge_of(axis, base_value)
    if e is not None and e.side == "max":
        return Verdict(UNCLEAR, None, base_value,
                       because=f"{axis.name} cannot be raised within its range. {e.hint}")
    if not axis.ordered:
        return Verdict(UNCLEAR, None, base_value,
                       because=f"{axis.name} has no order (enum of names): compare its values "
                               f"in the tables instead")
    if not at:
        return Verdict(UNCLEAR, None, base_value,
                       because=f"no neighbour ran {axis.name}={axis.show(base_value)}")
    i = at[0]
    if i + 1 >= len(levels):
        return Verdict(UNCLEAR, None, base_value,
                       because=f"no trial near this configuration ran a higher {axis.name}; "
                               f"measure it with `tuner effect {axis.name} --measure`")
    lo, up = levels[i], levels[i + 1]
    raw = up.median - lo.median
    gain = -raw if direction == "minimize" else raw
    leaning = HELPS if gain > 0 else HURTS if gain < 0 else FLAT
    out = Verdict(UNCLEAR, None, base_value, to=up.label, base_score=lo.median,
                  to_score=up.median, gain=gain)
    compare = (f"{axis.name}={up.label} scored {_fmt(up.median)} (median of {up.count}) against "
               f"{_fmt(lo.median)} (median of {lo.count}) at {lo.label}")
    if _steps(axis, base_value, up.low) > MAX_JUMP:
        out.leaning = leaning
        out.because = (f"{compare}; but that is more than a small step up, and no trial near "
                       f"this configuration ran a value in between; measure it with "
                       f"`tuner effect {axis.name} --measure`")
        return out
    if sd.sd is None:
        out.leaning = leaning
        out.because = f"{compare}, but the noise is unknown ({sd.source})"
        return out
    out.threshold = Z * sd.sd * math.sqrt(1 / lo.count + 1 / up.count)
    noise_text = f"noise sd {_fmt(sd.sd)} from {sd.source}; threshold {_fmt(out.threshold)}"
    if hood.kind == "nearest":
        # Far neighbours differ in other knobs too: their difference is not this knob's.
        out.leaning = leaning
        out.because = f"{compare}; but those trials differ in other parameters too " \
                      f"({hood.rule}); {noise_text}"
        return out
    if abs(gain) <= out.threshold:
        out.answer = FLAT
    else:
        out.answer = HELPS if gain > 0 else HURTS
    out.because = f"{compare}; {noise_text}"
    return out


def _steps(axis: Axis, a: Any, b: Any) -> float:
    """How many steps of the axis lie between two values (bins of 1/COND_BINS if continuous)."""
    n = axis.count()
    if n is not None and n > 1:
        if axis.kind == "enum":
            keys = [axis.key(v) for v in axis.values() or []]
            ia = min(range(n), key=lambda i: abs(keys[i] - axis.key(a)))
            ib = min(range(n), key=lambda i: abs(keys[i] - axis.key(b)))
        else:  # the nearest value's index, by arithmetic
            step = axis.step or 1
            ia, ib = (round((float(v) - axis.low) / step) for v in (a, b))  # type: ignore[operator]
        return abs(ib - ia) / (1 if n <= MAX_DISCRETE else n / COND_BINS)
    return abs(axis.position(b) - axis.position(a)) * COND_BINS


# --- all three ---------------------------------------------------------------------------


@dataclass
class Effect:
    param: str
    direction: str
    base: Obs  # the configuration raised from (the best, unless another was asked for)
    trials: int
    marginal: list[Level]
    neighbourhood: Neighbourhood
    noise: Noise
    verdict: Verdict
    edge: Edge | None
    units: dict[str, str] = field(default_factory=dict)  # parameters written with units

    def show(self, name: str, value: Any) -> str:
        """A parameter's value as the job wrote it (128m, 90s)."""
        return _fmt(value, self.units.get(name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "direction": self.direction,
            "trials": self.trials,
            "base": asdict(self.base),
            "marginal": [lv.to_dict() for lv in self.marginal],
            "neighbours": {
                "rule": self.neighbourhood.rule,
                "kind": self.neighbourhood.kind,
                "points": [{"number": n.number, "value": n.value, "score": n.score,
                            "distance": n.distance} for n in self.neighbourhood.points],
                "levels": [lv.to_dict() for lv in self.neighbourhood.levels],
            },
            "noise": asdict(self.noise),
            "verdict": asdict(self.verdict),
            "edge": asdict(self.edge) if self.edge else None,
            "units": self.units,
        }


def effect(obs: Sequence[Obs], axes: dict[str, Axis], param: str, direction: str,
           base: Obs | None = None) -> Effect:
    """The three views of `param` around `base` (default: the best observation)."""
    if not obs:
        raise ValueError("no complete trials")
    if base is None:
        pick = min if direction == "minimize" else max
        base = pick(obs, key=lambda o: (o.value, -o.number) if direction == "maximize"
                    else (o.value, o.number))
    axis = axes[param]
    hood = neighbourhood(obs, axes, param, base.params, direction)
    sd = noise(obs, axes, hood.levels, [Obs(n.number, {}, n.score) for n in hood.points])
    base_value = base.params[param]
    return Effect(param, direction, base, len(obs), marginal(obs, axis, direction), hood, sd,
                  verdict(hood, axis, base_value, direction, sd), edge_of(axis, base_value),
                  {n: a.unit for n, a in axes.items() if a.unit})


def study_effect(study: "optuna.Study", param: str) -> Effect:
    """The effect of `param` in a study's complete trials, around its best trial."""
    from optuna.trial import TrialState

    from ..errors import InputError

    from ..attrs import DUPLICATE_OF, UNITS

    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if t.value is not None]
    # A duplicate's value is over its predecessor's samples too: keep only the last of each
    # chain, or one measurement would count twice and look like a perfect repeat.
    superseded = {t.user_attrs.get(DUPLICATE_OF) for t in trials}
    trials = [t for t in trials if t.number not in superseded]
    axes = study_axes(trials, study.user_attrs.get(UNITS))
    if param not in axes:
        known = ", ".join(axes) or "none yet"
        raise InputError(f"PARAM: no parameter '{param}' in study '{study.study_name}' "
                         f"(parameters: {known})")
    obs = [Obs(t.number, dict(t.params), float(t.value)) for t in trials]  # type: ignore[arg-type]
    return effect(obs, axes, param, study.direction.name.lower())


def study_axes(trials: Sequence["optuna.trial.FrozenTrial"],
               units: dict[str, str] | None = None) -> dict[str, Axis]:
    """Each parameter's domain, as the latest trial that has it declared it; `units`: the
    study's parameters written with units."""
    dists: dict[str, Any] = {}
    for t in trials:
        dists.update(t.distributions)
    return {n: axis_of(n, d, (units or {}).get(n)) for n, d in dists.items()}


# --- helpers -----------------------------------------------------------------------------
