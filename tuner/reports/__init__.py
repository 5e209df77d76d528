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
    drift = [{"number": t.number, "value": t.value} for t in _baselines(study)]
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
    for t in _baselines(study):
        return {"number": t.number, "value": t.value, "params": dict(t.params)}
    return None


def _baselines(study: "optuna.Study") -> list[Any]:
    """The complete trials of the default configuration, in order. A study read from its
    tables finds them in one query; on a big study, loading every trial would cost seconds."""
    where = getattr(study, "trials_where", None)
    trials = where(BASELINE) if where else study.get_trials(deepcopy=False)
    return [t for t in trials if t.user_attrs.get(BASELINE) and t.state.name == "COMPLETE"]


def trial_rows(study: "optuna.Study", engine: Any = None) -> list[dict[str, Any]]:
    """One row per trial; times from tuner_runs when the engine is given (sub-second precise)."""
    from ..storage.tables import run_spans

    trials = study.get_trials(deepcopy=False)
    spans = run_spans(engine, [trial_id(t) for t in trials]) if engine is not None else {}
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
