"""Which knobs matter: fANOVA parameter importance over a study's complete trials.

The evaluator is chosen explicitly: Optuna's default (PED-ANOVA) misranked parameters on TPE
data in a quick test, and fANOVA with a fixed seed gives the same answer on every run.
Trials are grouped by their workload (user attr "workload", a dict) when they carry one: how
much a knob matters can differ between a small and a large input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import TunerError

if TYPE_CHECKING:
    import optuna

MIN_TRIALS = 5  # below this, a forest of regression trees says more about noise than knobs
WORKLOAD = "workload"  # trial user attr: the workload parameters the trial ran with


@dataclass
class Importance:
    """The answer for one group of trials (one workload, or the whole study)."""

    workload: dict[str, Any] | None
    trials: int  # complete trials used
    shares: dict[str, float] = field(default_factory=dict)  # sums to 1; empty when unanswered
    constant: list[str] = field(default_factory=list)  # parameters that never varied
    note: str | None = None  # why there is no answer, when there is none

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "trials": self.trials, "importance": self.shares,
                "constant": self.constant, "note": self.note}


def workload_groups(trials: Iterable["optuna.trial.FrozenTrial"]
                    ) -> dict[tuple[tuple[str, str], ...], list["optuna.trial.FrozenTrial"]]:
    """Trials keyed by their workload; trials without one share the key ()."""
    groups: dict[tuple[tuple[str, str], ...], list[Any]] = {}
    for t in trials:
        w = t.user_attrs.get(WORKLOAD) or {}
        key = tuple(sorted((str(k), repr(v)) for k, v in w.items())) if isinstance(w, dict) else ()
        groups.setdefault(key, []).append(t)
    return groups


def study_importance(study: "optuna.Study") -> list[Importance]:
    """One Importance per workload the trials ran (one, for a study without workload info)."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None]
    groups = workload_groups(complete) or {(): []}
    out = []
    for key, trials in groups.items():
        workload = trials[0].user_attrs.get(WORKLOAD) if key and trials else None
        out.append(importance(trials, study.direction, workload))
    return out


def importance(trials: list["optuna.trial.FrozenTrial"], direction: Any,
               workload: dict[str, Any] | None = None) -> Importance:
    """fANOVA importance of the parameters that varied in these complete trials."""
    n = len(trials)
    if n < MIN_TRIALS:
        return Importance(workload, n, note=f"too few complete trials to tell: {n} "
                                            f"(at least {MIN_TRIALS} are needed)")
    names = [p for p in trials[0].params if all(p in t.params for t in trials)]
    varied = [p for p in names if len({repr(t.params[p]) for t in trials}) > 1]
    constant = [p for p in names if p not in varied]
    if not varied:
        return Importance(workload, n, constant=constant,
                          note="no parameter varied across the complete trials")
    if len({t.value for t in trials}) == 1:
        return Importance(workload, n, constant=constant,
                          note="every complete trial scored the same: nothing to attribute")
    raw = _fanova(trials, direction, varied)
    total = sum(raw.values())
    if not total > 0:
        return Importance(workload, n, constant=constant,
                          note="fANOVA found no variance to attribute")
    shares = {p: raw[p] / total for p in sorted(raw, key=lambda p: -raw[p])}
    return Importance(workload, n, shares=shares, constant=constant)


def _fanova(trials: list["optuna.trial.FrozenTrial"], direction: Any,
            params: list[str]) -> dict[str, float]:
    import optuna
    from optuna.importance import FanovaImportanceEvaluator

    # A throwaway in-memory study holds just this group, so the evaluator sees nothing else.
    group = optuna.create_study(direction=direction)
    group.add_trials(trials)
    try:
        raw = FanovaImportanceEvaluator(seed=0).evaluate(group, params=params)
    except ImportError as exc:  # fANOVA's random forest is scikit-learn's
        raise TunerError(f"fANOVA needs scikit-learn: {exc}",
                         hint=".venv/bin/pip install scikit-learn") from None
    return {p: float(v) for p, v in raw.items()}
