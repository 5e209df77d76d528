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
# fANOVA's cost grows with trials times trees (500 trials of 64 trees took 4 s here, and a
# study with two workload values asks three times): above MAX_TRIALS it works on a seeded
# random sample, and says so. Above SMALL trials it grows 16 trees, the original fANOVA's
# default (Optuna's 64 gave the same shares to three decimals on a 10,000-trial study).
MAX_TRIALS = 200
SMALL, TREES, FEWER_TREES = 100, 64, 16


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
                 ) -> dict[str, tuple[list["optuna.trial.FrozenTrial"], int]]:
    """For each workload value the trials measured, the trials (a sample of MAX_TRIALS when
    there are more) with that value's score as their value, and how many there were. Empty
    unless they measured more than one."""
    from optuna.trial import create_trial

    trials = list(trials)
    labels: list[str] = []
    for t in trials:
        for label in t.user_attrs.get(WORKLOADS) or {}:
            if label not in labels:
                labels.append(label)
    if len(labels) < 2:
        return {}
    out: dict[str, tuple[list[Any], int]] = {}
    for label in labels:
        measured = [t for t in trials if label in (t.user_attrs.get(WORKLOADS) or {})]
        out[label] = ([create_trial(params=t.params, distributions=t.distributions,
                                    value=t.user_attrs[WORKLOADS][label])
                       for t in _sample(measured)], len(measured))
    return out


def study_importance(study: "optuna.Study") -> list[Importance]:
    """The importance for the study's score, then one per workload value when the trials
    measured several."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None]
    out = [importance(complete, study.direction)]
    for label, (trials, total) in per_workload(complete).items():
        workload = dict(part.split("=", 1) for part in label.split(",") if "=" in part)
        answer = importance(trials, study.direction, workload)
        if total > len(trials):
            answer.sampled_from = total
        out.append(answer)
    return out


def _sample(trials: list[Any]) -> list[Any]:
    """A seeded random sample of MAX_TRIALS of the trials, when there are more."""
    if len(trials) <= MAX_TRIALS:
        return trials
    import random

    return random.Random(0).sample(trials, MAX_TRIALS)


def importance(trials: list["optuna.trial.FrozenTrial"], direction: Any,
               workload: dict[str, Any] | None = None) -> Importance:
    """fANOVA importance of the parameters that varied in these complete trials (a seeded
    sample of MAX_TRIALS of them when there are more)."""
    if len(trials) > MAX_TRIALS:
        answer = importance(_sample(list(trials)), direction, workload)
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

    from ..storage.read import as_frozen

    # A throwaway in-memory study holds just this group, so the evaluator sees nothing else.
    group = optuna.create_study(direction=direction.name.lower())
    group.add_trials(as_frozen(trials))
    try:
        trees = TREES if len(trials) <= SMALL else FEWER_TREES
        raw = FanovaImportanceEvaluator(seed=0, n_trees=trees).evaluate(group, params=params)
    except ImportError as exc:  # fANOVA's random forest is scikit-learn's
        raise TunerError(f"fANOVA needs scikit-learn: {exc}",
                         hint=".venv/bin/pip install scikit-learn") from None
    return {p: float(v) for p, v in raw.items()}
