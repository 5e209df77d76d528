"""Which knobs matter, two questions with two answers over a study's complete trials.

- Overall (fANOVA, seeded, so the same study gives the same answer): how much of the score's
  variation each parameter explains across every trial.
- Among the best (PED-ANOVA, Optuna's default evaluator and the chart optuna-dashboard draws,
  with its defaults): which parameters set the best TOP_QUANTILE of trials apart from all of
  them. A knob the search has settled (every good trial has it right, and the sampler ran it
  that way most of the time) matters overall and scores low here: the two answers differ, and
  both are named, so neither contradicts the other unexplained.
When trials measured several workload values (the "workloads" attribute: each value's own
score), importance is given for the study's score and again for each workload value: how much
a knob matters can differ between a small and a large input.
"""

from __future__ import annotations

import math
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
TOP_QUANTILE = 0.1  # PED-ANOVA's "best": optuna-dashboard's default, so the answers match
FEW_TOP = 5  # Optuna's advice: at least this many trials in the top quantile


@dataclass
class Importance:
    """The answer for one group of trials (one workload, or the whole study)."""

    workload: dict[str, Any] | None
    trials: int  # complete trials used
    shares: dict[str, float] = field(default_factory=dict)  # sums to 1; empty when unanswered
    constant: list[str] = field(default_factory=list)  # parameters that never varied
    note: str | None = None  # why there is no answer, when there is none
    sampled_from: int | None = None  # the complete trials there were, when `trials` is a sample
    among_best: dict[str, float] = field(default_factory=dict)  # PED-ANOVA; sums to 1
    top: int = 0  # how many trials the best TOP_QUANTILE held
    over_all: int = 0  # how many trials PED-ANOVA compared them with (all: it is cheap)

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "trials": self.trials, "importance": self.shares,
                "constant": self.constant, "note": self.note, "sampled_from": self.sampled_from,
                "among_best": self.among_best, "top_trials": self.top,
                "top_quantile": TOP_QUANTILE}

    @property
    def best_over(self) -> str:
        """Which trials the among-the-best answer is over, in words."""
        few = " (few: a rough answer)" if self.top < FEW_TOP else ""
        return (f"the best {TOP_QUANTILE:.0%} of trials ({self.top} of {self.over_all}) "
                f"apart from the rest{few}")

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
    """Both answers for these complete trials: fANOVA overall (over a seeded sample of
    MAX_TRIALS of them when there are more) and PED-ANOVA among the best (over all)."""
    answer = overall(trials, direction, workload)
    if answer.shares:
        names = list(answer.shares)
        raw = _ped_anova(trials, direction, names)
        total = sum(raw.values())
        if total > 0:
            answer.among_best = {p: raw.get(p, 0.0) / total
                                 for p in sorted(names, key=lambda p: -raw.get(p, 0.0))}
        answer.top = min(len(trials), math.ceil(TOP_QUANTILE * len(trials)))
        answer.over_all = len(trials)
    return answer


def overall(trials: list["optuna.trial.FrozenTrial"], direction: Any,
            workload: dict[str, Any] | None = None) -> Importance:
    """fANOVA importance of the parameters that varied in these complete trials (a seeded
    sample of MAX_TRIALS of them when there are more)."""
    if len(trials) > MAX_TRIALS:
        answer = overall(_sample(list(trials)), direction, workload)
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


def _ped_anova(trials: list["optuna.trial.FrozenTrial"], direction: Any,
               params: list[str]) -> dict[str, float]:
    """PED-ANOVA with optuna-dashboard's settings: the top TOP_QUANTILE against all trials."""
    import warnings

    from optuna.importance import PedAnovaImportanceEvaluator

    from ..storage.read import as_frozen, thin_study

    group = thin_study(as_frozen(trials), direction.name.lower())
    with warnings.catch_warnings():  # "too few trials" is said in words by the caller
        warnings.simplefilter("ignore")
        raw = PedAnovaImportanceEvaluator(target_quantile=TOP_QUANTILE).evaluate(
            group, params=params)
    return {p: float(v) for p, v in raw.items()}
