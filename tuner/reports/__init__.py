"""Answers read from a study: the best trial, the trials table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..attrs import BASELINE, CONFIRMED, REASON, SAMPLES, SPREAD, UNITS
from ..storage import trial_id

if TYPE_CHECKING:
    import optuna


def best_of(study: "optuna.Study") -> dict[str, Any] | None:
    """{"study", "number", "value", "params"} of the best complete trial, or None."""
    try:
        t = study.best_trial
    except ValueError:
        return None
    out: dict[str, Any] = {"study": study.study_name, "number": t.number, "value": t.value,
                           "params": dict(t.params)}
    base = baseline_of(study)
    if base is not None:
        out["baseline"] = base
        if base["value"]:
            # The one place the change against the default is computed (terminal and report).
            out["change_vs_baseline"] = (t.value - base["value"]) / abs(base["value"])
    drift = [{"number": t.number, "value": t.value} for t in study.get_trials(deepcopy=False)
             if t.user_attrs.get(BASELINE) and t.state.name == "COMPLETE"]
    if len(drift) > 1:
        out["baseline_drift"] = drift
        out["drift"] = (drift[-1]["value"] - drift[0]["value"]) / abs(drift[0]["value"]) \
            if drift[0]["value"] else None
    if CONFIRMED in study.user_attrs:
        out["confirmed"] = study.user_attrs[CONFIRMED]
    if study.user_attrs.get(UNITS):
        out["units"] = study.user_attrs[UNITS]
    return out


def per_workload(study: "optuna.Study") -> dict[str, Any]:
    """For each workload value, the best configuration measured on it; and what choosing the
    one overall best for every workload costs against those per-workload bests."""
    from ..attrs import WORKLOADS

    best = best_of(study)
    from ..selection import better_first

    sign = better_first(study)
    per: dict[str, dict[str, Any]] = {}
    overall_values: dict[str, float] = {}
    for t in study.get_trials(deepcopy=False):
        if t.state.name != "COMPLETE":
            continue
        for label, value in (t.user_attrs.get(WORKLOADS) or {}).items():
            if label not in per or sign * value < sign * per[label]["value"]:
                per[label] = {"workload": label, "number": t.number, "value": value,
                              "params": dict(t.params)}
            if best and t.number == best["number"]:
                overall_values[label] = value
    rows = []
    for label, row in per.items():
        overall = overall_values.get(label)
        cost = (overall - row["value"]) / abs(row["value"]) if overall is not None and \
            row["value"] else None
        rows.append({**row, "overall_best_value": overall, "cost_of_one_config": cost})
    return {"study": study.study_name, "overall_best": best, "per_workload": rows}


def baseline_of(study: "optuna.Study") -> dict[str, Any] | None:
    """The first complete trial that ran the default configuration."""
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(BASELINE) and t.state.name == "COMPLETE":
            return {"number": t.number, "value": t.value, "params": dict(t.params)}
    return None


def trial_rows(study: "optuna.Study", engine: Any = None) -> list[dict[str, Any]]:
    """One row per trial; times from tuner_runs when the engine is given (sub-second precise)."""
    trials = study.get_trials(deepcopy=False)
    spans: dict[int, tuple[float, float]] = {}
    if engine is not None:
        from ..storage.tables import runs_of

        for r in runs_of(engine, [trial_id(t) for t in trials]):
            if r["started_at"] is None or r["ended_at"] is None:
                continue
            lo, hi = spans.get(r["trial_id"], (r["started_at"], r["ended_at"]))
            spans[r["trial_id"]] = (min(lo, r["started_at"]), max(hi, r["ended_at"]))
    retried = {t.system_attrs["failed_trial"]: t.number for t in trials
               if "failed_trial" in t.system_attrs}
    rows = []
    for t in trials:
        seconds = None
        if trial_id(t) in spans:
            lo, hi = spans[trial_id(t)]
            seconds = max(0.0, hi - lo)
        elif t.datetime_start and t.datetime_complete:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        reason = t.user_attrs.get(REASON)
        if t.state.name == "FAIL" and reason is None:
            reason = ("its worker stopped sending heartbeats (killed?)"
                      + (f"; retried as trial {retried[t.number]}" if t.number in retried
                         else ""))
        rows.append({
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": dict(t.params),
            "reason": reason,
            "seconds": seconds,
            # Per workload value: every repeat's score, and their spread.
            "samples": t.user_attrs.get(SAMPLES),
            "spread": t.user_attrs.get(SPREAD),
        })
    return rows


def study_rows(storage: Any) -> list[dict[str, Any]]:
    """Every study in a storage with its trial counts and best value."""
    rows = []
    for s in storage.get_all_studies():
        trials = storage.get_all_trials(s._study_id, deepcopy=False)
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        best = None
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        if complete:
            pick = min if s.direction.name == "MINIMIZE" else max
            best = pick(t.value for t in complete)
        rows.append({"study": s.study_name, "direction": s.direction.name.lower(),
                     "trials": len(trials), "complete": counts.get("COMPLETE", 0),
                     "fail": counts.get("FAIL", 0), "running": counts.get("RUNNING", 0),
                     "waiting": counts.get("WAITING", 0), "best": best})
    return rows
