"""Profile answers from the stored summaries: a trial's top functions, how they move with a
parameter, and the difference between two trials.

A trial's figures add up its containers (or one, with `container`) for one sample type.
Only each profile's top functions are stored, so a function outside a trial's top list
counts as 0 there: shares of small functions are lower bounds.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from ..attrs import UNITS
from ..errors import InputError
from ..format import fmt
from ..storage import trial_id
from ..storage.tables import profiles_of

DEFAULT_SAMPLE = "cpu"


def _per_trial(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """trial_id -> {"total", "unit", "flat": {fn: v}, "cum": {fn: v}} summed over containers."""
    out: dict[int, dict[str, Any]] = {}
    seen_totals: set[tuple[int, str, str]] = set()
    for r in rows:
        t = out.setdefault(r["trial_id"], {"total": 0.0, "unit": r["unit"],
                                           "flat": defaultdict(float), "cum": defaultdict(float)})
        key = (r["trial_id"], r["container"], r["source"])
        if key not in seen_totals:  # the total repeats on every row of one profile
            seen_totals.add(key)
            t["total"] += r["total"]
        t["flat"][r["name"]] += r["flat"]
        t["cum"][r["name"]] += r["cum"]
    return out


def _rows(engine: Any, trials: list[Any], container: str | None, sample_type: str
          ) -> list[dict[str, Any]]:
    rows = profiles_of(engine, [trial_id(t) for t in trials], container, sample_type)
    if not rows:
        what = f"{sample_type} profiles" + (f" of container {container}" if container else "")
        raise InputError(f"no {what} stored for these trials",
                         hint="collect them with a profile: block in the job (see "
                              "docs/profiles.md), or choose --sample-index / --container")
    return rows


def trial_top(study: Any, engine: Any, number: int, container: str | None = None,
              sample_type: str = DEFAULT_SAMPLE, n: int = 20) -> dict[str, Any]:
    trial = _trial(study, number)
    data = _per_trial(_rows(engine, [trial], container, sample_type))[trial_id(trial)]
    names = sorted(data["flat"], key=lambda f: (-abs(data["flat"][f]), f))[:n]
    return {"sample_type": sample_type, "unit": data["unit"], "total": data["total"],
            "functions": [{"name": f, "flat": data["flat"][f], "cum": data["cum"][f]}
                          for f in names]}


def diff(study: Any, engine: Any, a: int, b: int, container: str | None = None,
         sample_type: str = DEFAULT_SAMPLE, n: int = 20) -> dict[str, Any]:
    ta, tb = _trial(study, a), _trial(study, b)
    per = _per_trial(_rows(engine, [ta, tb], container, sample_type))
    da = per.get(trial_id(ta), {"total": 0.0, "flat": {}, "unit": ""})
    db = per.get(trial_id(tb), {"total": 0.0, "flat": {}, "unit": ""})
    names = set(da["flat"]) | set(db["flat"])

    def share(d: dict[str, Any], f: str) -> float:
        return d["flat"].get(f, 0.0) / d["total"] if d["total"] else 0.0

    rows = [{"name": f, "flat_a": da["flat"].get(f, 0.0), "flat_b": db["flat"].get(f, 0.0),
             "delta": db["flat"].get(f, 0.0) - da["flat"].get(f, 0.0),
             "share_a": share(da, f), "share_b": share(db, f)} for f in names]
    rows.sort(key=lambda r: (-abs(r["delta"]), r["name"]))
    return {"sample_type": sample_type, "unit": da["unit"] or db["unit"], "a": a, "b": b,
            "total_a": da["total"], "total_b": db["total"], "functions": rows[:n]}


def compare(study: Any, engine: Any, param: str, container: str | None = None,
            sample_type: str = DEFAULT_SAMPLE, n: int = 8, bins: int = 4) -> dict[str, Any]:
    """Per value (or bin) of `param`: the top functions' shares and costs; and the movers."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    known = sorted({p for t in trials for p in t.params})
    if param not in known:
        raise InputError(f"--param: no parameter '{param}' in study '{study.study_name}' "
                         f"(parameters: {', '.join(known) or 'none'})")
    trials = [t for t in trials if param in t.params]
    per = _per_trial(_rows(engine, trials, container, sample_type))
    trials = [t for t in trials if trial_id(t) in per]
    param_unit = (study.user_attrs.get(UNITS) or {}).get(param)
    groups = _group(trials, param, bins, param_unit)
    unit = next(iter(per.values()))["unit"]
    out_groups = []
    shares: dict[str, list[float]] = defaultdict(list)
    for label, members in groups:
        data = [per[trial_id(t)] for t in members]
        names = set().union(*(d["flat"] for d in data))
        mean_share = {f: statistics.fmean(d["flat"].get(f, 0.0) / d["total"] if d["total"]
                                          else 0.0 for d in data) for f in names}
        mean_flat = {f: statistics.fmean(d["flat"].get(f, 0.0) for d in data) for f in names}
        top = sorted(names, key=lambda f: (-mean_share[f], f))[:n]
        out_groups.append({
            "value": label, "trials": len(members),
            "total": statistics.fmean(d["total"] for d in data),
            "functions": [{"name": f, "share": mean_share[f], "flat": mean_flat[f]}
                          for f in top],
            "_all": mean_share,
        })
    candidates = set().union(*(set(f["name"] for f in g["functions"]) for g in out_groups)) \
        if out_groups else set()
    for f in candidates:
        shares[f] = [g["_all"].get(f, 0.0) for g in out_groups]
    movers = sorted(({"name": f, "shares": s, "change": max(s) - min(s)}
                     for f, s in shares.items()), key=lambda m: (-m["change"], m["name"]))
    for g in out_groups:
        del g["_all"]
    return {"param": param, "param_unit": param_unit, "sample_type": sample_type, "unit": unit,
            "container": container, "groups": out_groups, "movers": movers[:5]}


def _group(trials: list[Any], param: str, bins: int,
           unit: str | None = None) -> list[tuple[Any, list[Any]]]:
    values = sorted({t.params[param] for t in trials}, key=_order)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric or len(values) <= bins:
        return [(v, [t for t in trials if t.params[param] == v]) for v in values]
    # Many values: bins of roughly equal trial counts that never split one value.
    target = len(trials) / bins
    out: list[tuple[Any, list[Any]]] = []
    current: list[Any] = []
    for v in values:
        current += [t for t in trials if t.params[param] == v]
        if len(current) >= target or v == values[-1]:
            lo, hi = current[0].params[param], current[-1].params[param]
            out.append((f"{fmt(lo, unit)}..{fmt(hi, unit)}" if lo != hi else lo, current))
            current = []
    return out


def _order(v: Any) -> tuple[int, Any]:
    """Numbers in order, enum values written as numbers (`1.10`) among them, then text."""
    try:
        return (0, float(v)) if not isinstance(v, bool) else (1, str(v))
    except (TypeError, ValueError):
        return (1, str(v))


def _trial(study: Any, number: int) -> Any:
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    raise InputError(f"study '{study.study_name}' has no trial {number}")
