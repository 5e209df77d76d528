"""Answers read from a study: the best trial, the trials table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..optimize import BASELINE, REASON

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
    return out


def baseline_of(study: "optuna.Study") -> dict[str, Any] | None:
    """The first complete trial that ran the default configuration."""
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(BASELINE) and t.state.name == "COMPLETE":
            return {"number": t.number, "value": t.value, "params": dict(t.params)}
    return None


def trial_rows(study: "optuna.Study") -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = None
        if t.datetime_start and t.datetime_complete:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        rows.append({
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": dict(t.params),
            "reason": t.user_attrs.get(REASON),
            "seconds": seconds,
        })
    return rows
