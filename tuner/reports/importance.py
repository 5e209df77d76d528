"""Which knobs matter: fANOVA parameter importance over a study's complete trials.

The evaluator is chosen explicitly: Optuna's default (PED-ANOVA) misranked parameters on TPE
data in a quick test, and fANOVA with a fixed seed gives the same answer on every run.
When trials measured several workload values (the "workloads" attribute: each value's own
score), importance is given for the study's score and again for each workload value: how much
a knob matters can differ between a small and a large input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..attrs import WORKLOADS
from ..errors import TunerError

if TYPE_CHECKING:
    import optuna

MIN_TRIALS = 5  # below this, a forest of regression trees says more about noise than knobs
# fANOVA's forest grows faster than linearly with trials (2,000 took 15 s here): above this
# many it works on a seeded random sample, and says so.
MAX_TRIALS = 500


@dataclass
class Importance:
    """The answer for one group of trials (one workload, or the whole study)."""

    workload: dict[str, Any] | None
    trials: int  # complete trials used
    shares: dict[str, float] = field(default_factory=dict)  # sums to 1; empty when unanswered
    constant: list[str] = field(default_factory=list)  # parameters that never varied
    note: str | None = None  # why there is no answer, when there is none
    sampled_from: int | None = None  # the complete trials there were, when `trials` is a sample

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "trials": self.trials, "importance": self.shares,
                "constant": self.constant, "note": self.note, "sampled_from": self.sampled_from}

    @property
    def over(self) -> str:
        """Which trials the answer is over, in words."""
        if self.sampled_from:
            return (f"a random sample of {self.trials} of {self.sampled_from} complete "
                    f"trials")
        return f"{self.trials} complete trial(s)"


def per_workload(trials: Iterable["optuna.trial.FrozenTrial"]
                 ) -> dict[str, list["optuna.trial.FrozenTrial"]]:
    """For each workload value the trials measured, the trials with that value's score as
    their value. Empty unless they measured more than one."""
    from optuna.trial import create_trial

    trials = list(trials)
    labels: list[str] = []
    for t in trials:
        for label in t.user_attrs.get(WORKLOADS) or {}:
            if label not in labels:
                labels.append(label)
    if len(labels) < 2:
        return {}
    out: dict[str, list[Any]] = {}
    for label in labels:
        out[label] = [create_trial(params=t.params, distributions=t.distributions,
                                   value=t.user_attrs[WORKLOADS][label])
                      for t in trials if label in (t.user_attrs.get(WORKLOADS) or {})]
    return out


def study_importance(study: "optuna.Study") -> list[Importance]:
    """The importance for the study's score, then one per workload value when the trials
    measured several."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None]
    out = [importance(complete, study.direction)]
    for label, trials in per_workload(complete).items():
        workload = dict(part.split("=", 1) for part in label.split(",") if "=" in part)
        out.append(importance(trials, study.direction, workload))
    return out


def importance(trials: list["optuna.trial.FrozenTrial"], direction: Any,
               workload: dict[str, Any] | None = None) -> Importance:
    """fANOVA importance of the parameters that varied in these complete trials (a seeded
    sample of MAX_TRIALS of them when there are more)."""
    if len(trials) > MAX_TRIALS:
        import random

        sample = random.Random(0).sample(list(trials), MAX_TRIALS)
        answer = importance(sample, direction, workload)
        answer.sampled_from = len(trials)
        return answer
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
