"""A study as a sampler reads it: the trials it is given, in place of the stored ones.

Optuna's samplers read a study's trials through its private `_get_trials`; this is the one
place tuner stands in for it (tuner.prior_sampler shows TPE an earlier study's trials)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Container

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState


class StudyView:
    """The study as the wrapped sampler reads it: its trials are the prior's and its own."""

    def __init__(self, study: "optuna.Study", trials: list[FrozenTrial]):
        self._study, self._trials = study, trials

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None,
                    use_cache: bool = False) -> list[FrozenTrial]:
        return [t for t in self._trials if states is None or t.state in states]

    def get_trials(self, deepcopy: bool = True,
                   states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy, states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return list(self._trials)
