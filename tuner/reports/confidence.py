"""How sure a best is: configurations' repeated measurements, 95% intervals, and whether the
winner is distinguishable from the runner-up and from the baseline.
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


def describe(values: list[float], numbers: list[int], params: dict[str, Any]) -> dict[str, Any]:
    ci = interval(values)
    return {"params": params, "n": len(values), "median": statistics.median(values),
            "mean": statistics.fmean(values), "ci": list(ci) if ci else None,
            "trials": numbers}


def _complete(study: Any) -> list[Any]:
    return [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]


def _key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def top_configurations(study: Any, k: int) -> list[dict[str, Any]]:
    """The k distinct configurations with the best median of their results so far (a
    configuration measured often is judged on all of it, not on its luckiest run)."""
    values: dict[tuple, list[float]] = {}
    params_of: dict[tuple, dict[str, Any]] = {}
    for t in _complete(study):
        key = _key(t.params)
        values.setdefault(key, []).append(t.value)
        params_of[key] = dict(t.params)
    sign = 1 if study.direction.name == "MINIMIZE" else -1
    ranked = sorted(values, key=lambda key: sign * statistics.median(values[key]))
    return [params_of[key] for key in ranked[:k]]


def separate(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool | None:
    """Do two configurations' 95% intervals not overlap? None when either has no interval."""
    if not a or not b or not a["ci"] or not b["ci"]:
        return None
    return a["ci"][1] < b["ci"][0] or b["ci"][1] < a["ci"][0]


def confirmed_summary(study: Any, configs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The winner among `configs` (chosen on all their measurements, described by their
    confirmation re-runs), beside the runner-up and the baseline (the default's trials)."""
    from ..optimize import BASELINE

    from ..optimize import CONFIRM

    trials = _complete(study)
    ranked = []
    sign = 1 if study.direction.name == "MINIMIZE" else -1
    for params in configs:
        same = [t for t in trials if _key(t.params) == _key(params)]
        if not same:
            continue
        # Choose on every measurement (more data tells configurations apart better), but
        # state the numbers of the re-runs alone: the earlier results are why a configuration
        # made the top K, so they lean towards luck (the winner's curse).
        pooled = statistics.median(t.value for t in same)
        fresh = [t for t in same if t.user_attrs.get(CONFIRM)] or same
        d = describe([t.value for t in fresh], [t.number for t in fresh], params)
        d["measured_on"] = "re-runs" if fresh is not same else "all trials"
        ranked.append((sign * pooled, d))
    if not ranked:
        return None
    ranked.sort(key=lambda pair: pair[0])
    described = [d for _, d in ranked]
    base_trials = [t for t in trials if t.user_attrs.get(BASELINE)]
    baseline = describe([t.value for t in base_trials], [t.number for t in base_trials],
                        dict(base_trials[0].params)) if base_trials else None
    winner = described[0]
    runner_up = described[1] if len(described) > 1 else None
    change = None
    if baseline and baseline["median"]:
        change = (winner["median"] - baseline["median"]) / abs(baseline["median"])
    return {"winner": winner, "runner_up": runner_up, "baseline": baseline,
            "distinct_from_runner_up": separate(winner, runner_up),
            "distinct_from_baseline": separate(winner, baseline),
            "change_vs_baseline": change}


def verdict(summary: dict[str, Any]) -> list[str]:
    """The confirmed result in sentences a person can act on."""
    w = summary["winner"]
    over = "re-run(s)" if w.get("measured_on") == "re-runs" else "measurement(s)"
    lines = [f"confirmed best: median {w['median']:.6g} over {w['n']} {over}"
             + (f", 95% interval {w['ci'][0]:.6g} .. {w['ci'][1]:.6g}" if w["ci"] else "")]
    r, b = summary.get("runner_up"), summary.get("baseline")
    if r:
        if summary["distinct_from_runner_up"]:
            lines.append(f"it is distinguishable from the runner-up (median {r['median']:.6g})")
        else:
            lines.append(f"it is NOT distinguishable from the runner-up (median "
                         f"{r['median']:.6g}): their intervals overlap; more repeats would tell")
    if b:
        change = summary.get("change_vs_baseline")
        pct = f" ({100 * change:+.1f}%)" if change is not None else ""
        if summary["distinct_from_baseline"]:
            lines.append(f"against the baseline (median {b['median']:.6g} over {b['n']}){pct}: "
                         f"a real difference")
        elif summary["distinct_from_baseline"] is False:
            lines.append(f"against the baseline (median {b['median']:.6g} over {b['n']}){pct}: "
                         f"NOT distinguishable from noise")
        else:
            lines.append(f"against the baseline (median {b['median']:.6g} over {b['n']}){pct}: "
                         f"measure the baseline more (--rebaseline) to tell")
    return lines
