"""Choosing a winner under noise: the top configurations to confirm, their repeated
measurements, side-by-side ratios to the baseline with 95% intervals, and whether the winner
is distinguishable from the runner-up and from the baseline. The optimizer uses it to decide;
reports only show what it decided.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

# Student's t, two-sided 95%, by degrees of freedom (1..30); beyond, the normal 1.96.
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def interval(values: list[float]) -> tuple[float, float] | None:
    """95% confidence interval of the mean (t-interval); None with fewer than 2 values."""
    n = len(values)
    if n < 2:
        return None
    mean = statistics.fmean(values)
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(n)
    return mean - half, mean + half


def t975(df: int) -> float:
    """Student's t, two-sided 95%, for df degrees of freedom (df >= 1)."""
    return _T975[df - 1] if df <= len(_T975) else 1.96


def calibrated(logs: list[float], floor: tuple[float, int] | None) -> tuple[float, float] | None:
    """95% interval of the mean of `logs` that is never narrower than the study's measured
    noise allows: the half-width is the larger of the t-interval of the samples themselves and
    the one the study's noise (floor = (sd, df)) gives for as many samples. Each alone covers
    95%; the larger covers at least as often, and three samples that happen to agree cannot
    make a narrow interval. One sample gets an interval from the floor alone."""
    n = len(logs)
    if n == 0 or (n == 1 and not floor):
        return None
    mean = statistics.fmean(logs)
    half = t975(n - 1) * statistics.stdev(logs) / math.sqrt(n) if n > 1 else 0.0
    if floor and floor[1] >= 1:
        half = max(half, t975(floor[1]) * floor[0] / math.sqrt(n))
    return mean - half, mean + half


def _pooled(groups: list[list[float]]) -> tuple[float, int] | None:
    """Pooled standard deviation of several groups (each about its own mean), and its df."""
    ss = df = 0.0
    for g in groups:
        if len(g) > 1:  # plain floats: statistics.variance is exact and slow (10k groups)
            mean = math.fsum(g) / len(g)
            ss += math.fsum((x - mean) ** 2 for x in g)
            df += len(g) - 1
    return (math.sqrt(ss / df), int(df)) if df else None


def run_values(t: Any) -> dict[str, list[float]]:
    """A trial's own measured runs, by workload: its samples, or its value as one run. A
    trial that added a run to an earlier one's (duplicate_of) holds that one's runs too: it
    is counted for its last run only."""
    from .attrs import DUPLICATE_OF, SAMPLES

    samples = (getattr(t, "user_attrs", None) or {}).get(SAMPLES)
    if samples:
        if t.user_attrs.get(DUPLICATE_OF) is not None:
            return {wl: list(v[-1:]) for wl, v in samples.items()}
        return {wl: list(v) for wl, v in samples.items()}
    value = primary(t)
    return {"-": [value]} if value is not None else {}


def study_noise(trials: list[Any]) -> dict[str, Any] | None:
    """The study's measured noise, from its complete trials:

    cv       per-run noise: the pooled standard deviation of log scores of every configuration
             (and workload value) measured more than once (about the relative spread)
    pair_sd  side-by-side noise: the pooled spread of the log ratios of the same two
             configurations over the rounds they ran in together (confirmation rounds, races)
    drift    the baseline's change from its first run to its last, when run more than once
    """
    from .attrs import BASELINE, CONFIRM_ROUND, RACE

    groups: dict[tuple, list[float]] = {}
    for t in trials:
        for wl, values in run_values(t).items():
            groups.setdefault((config_key(t.params), wl), []).extend(
                math.log(v) for v in values if v and v > 0)
    run = _pooled(list(groups.values()))
    pairs: dict[tuple, list[float]] = {}
    for key, sides in _rounds(trials, CONFIRM_ROUND, RACE).items():
        base = sides.get("base")
        for ck, v in sides.items():
            if ck != "base" and base and v > 0 and base > 0:
                # a configuration against the default over rounds; a candidate over its race
                group = ("round", ck) if key[0] == "round" else key[:2]
                pairs.setdefault(group, []).append(math.log(v / base))
    pair = _pooled(list(pairs.values()))
    if run is None and pair is None:
        return None
    base = [primary(t) for t in trials if t.user_attrs.get(BASELINE)]
    out: dict[str, Any] = {"cv": run[0] if run else None, "cv_df": run[1] if run else 0,
                           "configurations": sum(len(g) > 1 for g in groups.values()),
                           "pair_sd": pair[0] if pair else None,
                           "pair_df": pair[1] if pair else 0, "drift": None}
    if len(base) > 1 and base[0]:
        out["drift"] = (base[-1] - base[0]) / abs(base[0])
    return out


def _rounds(trials: list[Any], round_attr: str, race_attr: str) -> dict[tuple, dict[Any, float]]:
    """Side-by-side groups: {(kind, id): {"base": baseline's value, config key: value}}. In a
    confirmation round the baseline is the default; in a race pair, the incumbent."""
    from .attrs import BASELINE

    out: dict[tuple, dict[Any, float]] = {}
    for t in trials:
        ua, value = t.user_attrs, primary(t)
        if value is None:
            continue
        if ua.get(round_attr) is not None:
            side = "base" if ua.get(BASELINE) else config_key(t.params)
            out.setdefault(("round", ua[round_attr]), {})[side] = value
        race = ua.get(race_attr)
        if race:
            side = "base" if race.get("role") == "incumbent" else "candidate"
            out.setdefault(("race", race["id"], race["pair"]), {})[side] = value
    return out


def noise_floor(noise: dict[str, Any] | None) -> tuple[float, int] | None:
    """The spread a side-by-side log ratio has on this study's machine, and its df: measured
    over rounds when there are some, else two runs' worth of the per-run noise."""
    if not noise:
        return None
    pair = run = None
    if noise.get("pair_sd") is not None and noise.get("pair_df"):
        pair = noise["pair_sd"], noise["pair_df"]
    if noise.get("cv") is not None and noise.get("cv_df"):
        run = math.sqrt(2) * noise["cv"], noise["cv_df"]
    if pair and run and pair[1] < 5:  # a few rounds alone: whichever allows less
        return max(pair, run, key=lambda f: t975(f[1]) * f[0])
    return pair or run


def describe(values: list[float], numbers: list[int], params: dict[str, Any],
             noise: dict[str, Any] | None = None) -> dict[str, Any]:
    """A configuration's measurements: their median, mean and a 95% interval of the mean,
    never narrower than the study's per-run noise (cv) allows for as many runs."""
    ci = interval(values)
    if noise and noise.get("cv") is not None and noise.get("cv_df"):
        mean, n = statistics.fmean(values), len(values)
        half = t975(noise["cv_df"]) * noise["cv"] * abs(mean) / math.sqrt(n)
        if ci is None or ci[1] - mean < half:
            ci = (mean - half, mean + half)
    return {"params": params, "n": len(values), "median": statistics.median(values),
            "mean": statistics.fmean(values), "ci": list(ci) if ci else None,
            "trials": numbers}


def _complete(study: Any, feasible_only: bool = True) -> list[Any]:
    """Complete trials that kept the study's constraints (all of them when it has none)."""
    return [t for t in study.get_trials(deepcopy=False)
            if t.state.name == "COMPLETE" and (not feasible_only or feasible(t) is not False)]


def feasible(t: Any) -> bool | None:
    """Whether a trial kept every constraint; None when it has no constraint values."""
    values = getattr(t, "constraints", None)
    if values is None:  # a trial read from the tables: Optuna's system attributes
        values = {k: v for k, v in (getattr(t, "system_attrs", None) or {}).items()
                  if k.startswith("constraints:")}
    return all(v <= 0 for v in values.values()) if values else None


def primary(t: Any) -> float | None:
    """A trial's first objective's value: the one number single-objective answers use."""
    values = getattr(t, "values", None)
    if values is None:  # a trial with no value yet, or a stand-in that only has .value
        return getattr(t, "value", None)
    return values[0] if values else None


def is_multi(study: Any) -> bool:
    return len(study.directions) > 1


def dominates(a: list[float], b: list[float], directions: list[str]) -> bool:
    """a is at least as good as b in every objective and better in one."""
    signs = [1 if d == "minimize" else -1 for d in directions]
    pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b)]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def pareto_front(items: list[tuple[Any, list[float]]], directions: list[str]
                 ) -> list[tuple[Any, list[float]]]:
    """The items no other item dominates, in their given order."""
    return [(k, v) for k, v in items
            if not any(dominates(w, v, directions) for _, w in items)]


def directions_of(study: Any) -> list[str]:
    return [d.name.lower() for d in study.directions]


def config_key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """What makes two trials the same configuration."""
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def paired(trials: list[Any], a: dict[str, Any], b: dict[str, Any],
           floor: tuple[float, int] | None = None) -> dict[str, Any] | None:
    """a against b, side by side: the ratio of a's to b's value in each confirmation round
    both completed in. A drift of the machine between rounds cancels out of each ratio.

    Returns the geometric mean ratio, the median ratio and a 95% interval of the geometric
    mean (on the log ratios, never narrower than the study's noise `floor` allows: see
    `calibrated`), or None without a common round or with a value that is not positive.
    """
    from .attrs import CONFIRM_ROUND

    ka, kb = config_key(a), config_key(b)
    rounds: dict[Any, dict[str, float]] = {}
    for t in trials:
        r = t.user_attrs.get(CONFIRM_ROUND)
        key = config_key(t.params)
        if r is None or key not in (ka, kb):
            continue
        rounds.setdefault(r, {})["a" if key == ka else "b"] = primary(t)
    pairs = [(v["a"], v["b"]) for _, v in sorted(rounds.items()) if "a" in v and "b" in v]
    if not pairs or any(x <= 0 or y <= 0 for x, y in pairs):
        return None
    logs = [math.log(x / y) for x, y in pairs]
    ci = calibrated(logs, floor)
    return {"rounds": len(pairs), "ratio": math.exp(statistics.fmean(logs)),
            "median_ratio": statistics.median(x / y for x, y in pairs),
            "ci": [math.exp(ci[0]), math.exp(ci[1])] if ci else None}


def _itself(trials: list[Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline against itself: a ratio of 1 in every round it ran in."""
    from .attrs import CONFIRM_ROUND

    rounds = {t.user_attrs[CONFIRM_ROUND] for t in trials
              if CONFIRM_ROUND in t.user_attrs and config_key(t.params) == config_key(params)}
    if not rounds:
        return None
    return {"rounds": len(rounds), "ratio": 1.0, "median_ratio": 1.0, "ci": None}


def _apart(pair: dict[str, Any] | None) -> bool | None:
    """Does a paired interval exclude "no difference"? None without an interval."""
    if not pair or not pair["ci"]:
        return None
    return pair["ci"][1] < 1 or pair["ci"][0] > 1


def better_first(study: Any) -> int:
    """1 when a lower score is better (minimize), -1 when a higher one is: sort keys times it."""
    return 1 if study.directions[0].name == "MINIMIZE" else -1


def top_configurations(study: Any, k: int) -> list[dict[str, Any]]:
    """The k distinct configurations with the best median of their results so far (a
    configuration measured often is judged on all of it, not on its luckiest run). Only
    feasible ones; with several objectives, members of the Pareto front (the medians'),
    best on the first objective first."""
    values: dict[tuple, list[list[float]]] = {}
    params_of: dict[tuple, dict[str, Any]] = {}
    for t in _complete(study):
        key = config_key(t.params)
        values.setdefault(key, []).append(list(t.values))
        params_of[key] = dict(t.params)
    medians = {key: [statistics.median(v[i] for v in vs) for i in range(len(vs[0]))]
               for key, vs in values.items()}
    keys = list(medians)
    if is_multi(study):
        keys = [key for key, _ in pareto_front([(key, medians[key]) for key in keys],
                                               directions_of(study))]
    sign = better_first(study)
    ranked = sorted(keys, key=lambda key: sign * medians[key][0])
    return [params_of[key] for key in ranked[:k]]


def separate(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool | None:
    """Do two configurations' 95% intervals not overlap? None when either has no interval."""
    if not a or not b or not a["ci"] or not b["ci"]:
        return None
    return a["ci"][1] < b["ci"][0] or b["ci"][1] < a["ci"][0]


def _fresh(same: list[Any]) -> tuple[list[Any], str]:
    """A configuration's confirmation re-runs when it has any, else all its trials."""
    from .attrs import CONFIRM

    fresh = [t for t in same if t.user_attrs.get(CONFIRM)]
    return (fresh, "re-runs") if fresh else (same, "all trials")


def _described(trials: list[Any], params: dict[str, Any], baseline: dict[str, Any] | None,
               noise: Any, floor: Any) -> dict[str, Any] | None:
    """One configuration's measurements, and its ratio to the baseline side by side."""
    same = [t for t in trials if config_key(t.params) == config_key(params)]
    if not same:
        return None
    chosen, on = _fresh(same)
    d = describe([primary(t) for t in chosen], [t.number for t in chosen], params, noise)
    d["measured_on"] = on
    d["pooled_median"] = statistics.median(primary(t) for t in same)
    d["vs_baseline"] = None
    if baseline and config_key(params) == config_key(baseline["params"]):
        d["vs_baseline"] = _itself(trials, params)  # the default made the top K
    elif baseline:
        d["vs_baseline"] = paired(trials, params, baseline["params"], floor)
    return d


def confirmed_summary(study: Any, configs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The winner among `configs`, beside the runner-up and the baseline (the default).

    With confirmation rounds, the winner is the best side by side with the baseline (the
    geometric mean of its ratios to the baseline of the same round): the rounds interleave
    the configurations, so a machine that drifts cannot favour one. Without rounds (an older
    study), it is chosen on the median of all its measurements. Either way its numbers are
    those of the re-runs alone: the earlier results are why a configuration made the top K,
    so they lean towards luck (the winner's curse).
    """
    from .attrs import BASELINE

    trials = _complete(study, feasible_only=False)  # the default is compared, kept or not
    sign = better_first(study)
    noise = study_noise(trials)
    floor = noise_floor(noise)

    base_trials = [t for t in trials if t.user_attrs.get(BASELINE)]
    baseline = None
    if base_trials:
        chosen, on = _fresh(base_trials)
        baseline = describe([primary(t) for t in chosen], [t.number for t in chosen],
                            dict(base_trials[0].params), noise)
        baseline["measured_on"] = on
    described = [d for d in (_described(trials, params, baseline, noise, floor)
                             for params in configs) if d is not None]
    if not described:
        return None
    if all(d["vs_baseline"] for d in described):
        described.sort(key=lambda d: sign * math.log(d["vs_baseline"]["ratio"]))
    else:
        described.sort(key=lambda d: sign * d["pooled_median"])
    winner = described[0]
    runner_up = described[1] if len(described) > 1 else None
    # Side by side in the confirmation rounds where there are such; else the intervals of
    # measurements taken at different times (which a drifting machine can push apart).
    vs_runner_up = paired(trials, winner["params"], runner_up["params"], floor) \
        if runner_up else None
    vs_baseline = winner["vs_baseline"]
    change = change_ci = None
    if vs_baseline:
        change = vs_baseline["ratio"] - 1
        change_ci = [x - 1 for x in vs_baseline["ci"]] if vs_baseline["ci"] else None
    elif baseline and baseline["median"]:
        change = (winner["median"] - baseline["median"]) / abs(baseline["median"])
    return {"winner": winner, "runner_up": runner_up, "baseline": baseline,
            "vs_runner_up": vs_runner_up, "vs_baseline": vs_baseline,
            "distinct_from_runner_up": _apart(vs_runner_up) if vs_runner_up
            else separate(winner, runner_up),
            "distinct_from_baseline": _apart(vs_baseline) if vs_baseline
            else separate(winner, baseline),
            "change_vs_baseline": change, "change_vs_baseline_ci": change_ci, "noise": noise}
