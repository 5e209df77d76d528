"""Answers read from a study: the best trial, the trials table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..attrs import (BASELINE, CONFIRMED, CONSTRAINTS_MET, STUDY_CONSTRAINTS, METRICS, OBJECTIVES,
                     PROGRESS, PRUNED_AT, REASON, SAMPLES, SPREAD, UNITS, WARM_START)
from ..selection import directions_of, feasible, is_multi, pareto_front, primary
from ..storage import trial_id

if TYPE_CHECKING:
    import optuna


def objectives_of(study: "optuna.Study") -> list[dict[str, str]]:
    """[{"name", "direction"}] of each objective (the score, unless the job named others)."""
    directions = directions_of(study)
    named = study.user_attrs.get(OBJECTIVES) or []
    if len(named) == len(directions):
        return [{"name": o["name"], "direction": d} for o, d in zip(named, directions)]
    if len(directions) == 1:
        return [{"name": "score", "direction": directions[0]}]
    return [{"name": f"objective {i}", "direction": d} for i, d in enumerate(directions)]


def feasibility(study: "optuna.Study") -> dict[str, Any] | None:
    """{"constraints", "feasible", "infeasible"} over complete trials; None without
    constraints."""
    constraints = study.user_attrs.get(STUDY_CONSTRAINTS) or []
    if not constraints:  # no trial is read (a big study's best needs one query)
        return None
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    known = [feasible(t) for t in complete]
    return {"constraints": constraints, "feasible": sum(k is True for k in known),
            "infeasible": sum(k is False for k in known)}


def front_of(study: "optuna.Study") -> list["optuna.trial.FrozenTrial"]:
    """The Pareto front of the feasible complete trials, best on the first objective first."""
    trials = [t for t in study.get_trials(deepcopy=False)
              if t.state.name == "COMPLETE" and feasible(t) is not False]
    front = pareto_front([(t, list(t.values)) for t in trials], directions_of(study))
    sign = 1 if directions_of(study)[0] == "minimize" else -1
    return sorted((t for t, _ in front), key=lambda t: (sign * t.values[0], t.number))


def best_of(study: "optuna.Study") -> dict[str, Any] | None:
    """{"study", "number", "value", "params"} of the best complete trial that kept the
    constraints, or None. With several objectives: the front member best on the first
    objective, and "values", "objectives" and "front" (every front member)."""
    multi = is_multi(study)
    front = front_of(study) if multi else None
    t = (front[0] if front else None) if multi else _best_feasible(study)
    if t is None:
        return None
    out: dict[str, Any] = {"study": study.study_name, "number": t.number, "value": primary(t),
                           "params": dict(t.params)}
    if multi:
        out["values"] = list(t.values)
    if multi or study.user_attrs.get(OBJECTIVES):
        out["objectives"] = objectives_of(study)
    if t.user_attrs.get(METRICS):
        out["metrics"] = t.user_attrs[METRICS]
    base = baseline_of(study)
    if base is not None:
        out["baseline"] = base
        if base["value"]:
            # The one place the change against the default is computed (terminal and report).
            out["change_vs_baseline"] = (primary(t) - base["value"]) / abs(base["value"])
    if multi:
        out["front"] = [_front_row(f, base) for f in front]
    feas = feasibility(study)
    if feas is not None:
        out.update(feas)
    drift = [{"number": t.number, "value": primary(t)} for t in _baselines(study)]
    if len(drift) > 1:
        out["baseline_drift"] = drift
        out["drift"] = (drift[-1]["value"] - drift[0]["value"]) / abs(drift[0]["value"]) \
            if drift[0]["value"] else None
    if CONFIRMED in study.user_attrs:
        from .confidence import confirmation_verdict

        confirmed = study.user_attrs[CONFIRMED]
        out["confirmed"] = {**confirmed, "verdict": confirmation_verdict(confirmed)}
    if study.user_attrs.get(UNITS):
        out["units"] = study.user_attrs[UNITS]
    if study.user_attrs.get(WARM_START):  # where the sampler's prior came from: not results
        out["warm_start"] = study.user_attrs[WARM_START]
    # The noise the confirmation's intervals were held to; else measured now, on a study
    # small enough that reading every trial stays quick (a big study's best is one query).
    noise = (out.get("confirmed") or {}).get("noise")
    if noise is None and _count(study) <= NOISE_READ_LIMIT:
        noise = study_noise(study)
    if noise:
        out["noise"] = noise
    if out.get("confirmed") and not multi:
        lead_with_chosen(out, out["confirmed"])
    return out


NOISE_READ_LIMIT = 2000  # trials


def _best_feasible(study: "optuna.Study") -> Any:
    """The best complete trial that kept the constraints, or None."""
    try:
        t = study.best_trial
    except ValueError:
        return None
    if feasible(t) is not False:
        return t
    kept = [x for x in study.get_trials(deepcopy=False)
            if x.state.name == "COMPLETE" and x.values and feasible(x) is not False]
    if not kept:
        return None
    sign = 1 if directions_of(study)[0] == "minimize" else -1
    return min(kept, key=lambda x: (sign * x.values[0], x.number))


def _count(study: "optuna.Study") -> int:
    count = getattr(study, "count", None)  # a study read from its tables counts in SQL
    return count() if count else len(study.get_trials(deepcopy=False))


def study_noise(study: "optuna.Study") -> dict[str, Any] | None:
    """The study's measured noise (tuner.selection.study_noise) over its complete trials."""
    from ..selection import study_noise as measured

    return measured([t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"])


def lead_with_chosen(out: dict[str, Any], summary: dict[str, Any]) -> None:
    """One answer first: the configuration chosen on side-by-side runs (confirmed or raced)
    becomes the best's params, value (its median over those runs) and change against the
    default (side by side, with its interval); the single luckiest trial moves to
    "best_single_run", labelled as what it is."""
    w = summary["winner"]
    single = {"number": out["number"], "value": out["value"], "params": out["params"],
              "note": "one run: the luckiest measurement of the search, optimistic"}
    out["best_single_run"] = single
    out["chosen_on"] = "race" if summary.get("method") == "race" else "confirmation"
    if w["params"] != out["params"]:
        out.pop("metrics", None)  # they were the single run's
    out["params"], out["value"] = dict(w["params"]), w["median"]
    out["number"] = w["trials"][-1] if w.get("trials") else out["number"]
    out["runs"] = w["n"]
    if summary.get("change_vs_baseline") is not None:
        out["change_vs_baseline"] = summary["change_vs_baseline"]
    out["change_vs_baseline_ci"] = summary.get("change_vs_baseline_ci")


def _front_row(t: Any, base: dict[str, Any] | None) -> dict[str, Any]:
    row = {"number": t.number, "values": list(t.values), "params": dict(t.params)}
    if base is not None and base.get("values"):
        row["change_vs_baseline"] = [(v - b) / abs(b) if b else None
                                     for v, b in zip(t.values, base["values"])]
    return row


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
        out = {"number": t.number, "value": primary(t), "params": dict(t.params)}
        if len(t.values) > 1:
            out["values"] = list(t.values)
        if feasible(t) is not None:
            out["feasible"] = feasible(t)
        if t.user_attrs.get(METRICS):
            out["metrics"] = t.user_attrs[METRICS]
        return out
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
    multi = is_multi(study)
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
            # Several objectives have no one value: "values" holds each.
            "value": None if multi else primary(t),
            "params": dict(t.params),
            "reason": reason,
            "seconds": seconds,
            # Per workload value: every repeat's score, and their spread.
            "samples": t.user_attrs.get(SAMPLES),
            "spread": t.user_attrs.get(SPREAD),
            "values": list(t.values) if multi and t.values else None,
            "metrics": t.user_attrs.get(METRICS),
            "feasible": feasible(t) if t.state.name == "COMPLETE" else None,
            "constraints": t.user_attrs.get(CONSTRAINTS_MET),
            "progress": t.user_attrs.get(PROGRESS),
            "pruned_at": t.user_attrs.get(PRUNED_AT),
        })
    return rows
def primary_view(study: "optuna.Study") -> "optuna.Study":
    """The study itself; or, with several objectives, an in-memory copy whose trials have
    their first objective as their value: importance, effects, slices and history answer
    about that objective."""
    if not is_multi(study):
        return study
    import optuna
    from optuna.trial import TrialState, create_trial

    view = optuna.create_study(study_name=study.study_name,
                               direction=directions_of(study)[0])
    copies = []
    for t in study.get_trials(deepcopy=False):
        if t.state.name not in ("COMPLETE", "PRUNED", "FAIL"):
            continue
        copies.append(create_trial(
            state=TrialState[t.state.name],
            value=t.values[0] if t.state.name == "COMPLETE" else None,
            params=t.params, distributions=t.distributions, user_attrs=t.user_attrs,
            system_attrs=t.system_attrs, intermediate_values=t.intermediate_values))
    view.add_trials(copies)
    for k, v in study.user_attrs.items():
        view.set_user_attr(k, v)
    return view
