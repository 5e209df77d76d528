"""A sampler that also sees a prior: earlier trials, shown to the sampler alone.

The wrapped sampler (TPE) reads the study through a view: the study's own trials plus the
prior's, every value replaced by its rank within its source (see tuner.warmstart), the prior
first, as the oldest observations. The study itself, and everything that reads it, never
sees the prior.
"""

from __future__ import annotations

import copy
from typing import Any, Container, Sequence

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from .storage.view import StudyView
from .warmstart import HORIZON, Prior, agreement, fading, nearest_rank, quantiles


class PriorSampler(BaseSampler):
    def __init__(self, base: BaseSampler, priors: list[Prior],
                 distributions: dict[str, BaseDistribution], *, horizon: int = HORIZON,
                 hidden: Container[int] = ()):
        """`hidden`: numbers of the study's own trials that are part of the prior instead
        (measured on other workload values); the view leaves them out."""
        self.base, self.priors, self.horizon, self.hidden = base, priors, horizon, hidden
        self.distributions = distributions
        self.scales = {n: None if isinstance(d, optuna.distributions.CategoricalDistribution)
                       else (d.low, d.high, d.log) for n, d in distributions.items()}
        self._cached: tuple[tuple[int, int], Any] | None = None
        self.trust: float = 1.0  # the last agreement of the prior with this study (1: none yet)

    # The sampling calls read the view; the rest goes to the wrapped sampler as it is.
    def infer_relative_search_space(self, study: "optuna.Study",
                                    trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(self.view(study), trial)

    def sample_relative(self, study: "optuna.Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.base.sample_relative(self.view(study), trial, search_space)

    def sample_independent(self, study: "optuna.Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(self.view(study), trial, param_name,
                                            param_distribution)

    def before_trial(self, study: "optuna.Study", trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study: "optuna.Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()

    def view(self, study: "optuna.Study") -> Any:
        own = [t for t in study.get_trials(deepcopy=False) if t.number not in self.hidden]
        done = [t for t in own if t.state == TrialState.COMPLETE and t.values]
        if len(done) >= self.horizon:  # the prior has faded: the study as it is
            return StudyView(study, own) if self.hidden else study
        key = (len(own), len(done))
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        maximize = study.directions[0] == StudyDirection.MAXIMIZE
        measured = [-t.values[0] if maximize else t.values[0] for t in done]
        ranks = dict(zip((t.number for t in done), quantiles(measured)))
        # A prior that orders this study's own results wrongly is a past that misleads:
        # it is used as far as it agrees with them.
        told = agreement([nearest_rank(t.params, self.priors, self.scales) for t in done],
                         measured)
        self.trust = 1.0 if told is None else told
        kept = fading(self.priors, len(done), self.horizon, self.trust)
        trials = [self._prior_trial(p, i - len(kept), maximize) for i, p in enumerate(kept)]
        for t in own:
            if t.number in ranks:
                t = copy.copy(t)
                t.value = _value(ranks[t.number], maximize)
            trials.append(t)
        view = StudyView(study, trials)
        self._cached = (key, view)
        return view

    def _prior_trial(self, p: Prior, number: int, maximize: bool) -> FrozenTrial:
        t = optuna.trial.create_trial(
            params=p.params, distributions={n: self.distributions[n] for n in p.params},
            value=_value(p.rank, maximize))
        t.number = number  # older than the study's own trials: before them in every order
        return t


def _value(rank: float, maximize: bool) -> float:
    """A rank (0 the best) as a value in the study's direction."""
    return 1.0 - rank if maximize else rank
