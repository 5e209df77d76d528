"""The sampler that sees a prior: the earlier trials reach the wrapped sampler alone, ranked,
fading as the study learns, and dropped when they order its own results wrongly."""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution

from tuner.prior_sampler import PriorSampler
from tuner.warmstart import Prior

DISTS = {"x": IntDistribution(1, 20), "y": CategoricalDistribution(["a", "b"])}


def _priors(best_x: int) -> list[Prior]:
    """Twenty earlier trials, ranked by their distance from `best_x` (and y=a better)."""
    points = [{"x": x, "y": y} for x in range(1, 21, 2) for y in ("a", "b")]
    scored = sorted(points, key=lambda p: abs(p["x"] - best_x) + (p["y"] == "b"))
    return [Prior(p, i / (len(scored) - 1), -1, "earlier") for i, p in enumerate(scored)]


def _study(priors: list[Prior], seed: int = 0, **kw) -> tuple[optuna.Study, PriorSampler]:
    sampler = PriorSampler(optuna.samplers.TPESampler(seed=seed), priors, DISTS, **kw)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(sampler=sampler), sampler


def _objective(best_x: int):
    def f(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 1, 20)
        y = trial.suggest_categorical("y", ["a", "b"])
        return abs(x - best_x) + (y == "b")
    return f


def test_the_prior_steers_from_the_first_trial_and_is_never_in_the_study():
    priors = _priors(best_x=5)
    study, sampler = _study(priors)
    study.optimize(_objective(5), n_trials=6)
    assert len(study.trials) == 6  # the prior is not written anywhere
    assert all(t.number >= 0 for t in study.trials)
    # TPE's ten random start-up trials are skipped: it samples where the prior was good.
    near = [t for t in study.trials if abs(t.params["x"] - 5) <= 3]
    assert len(near) >= 4
    view = sampler.view(study)
    assert len(view.trials) > 6 and [t.number < 0 for t in view.trials[:3]] == [True] * 3


def test_without_a_prior_the_first_trials_are_random():
    cold = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    cold.optimize(_objective(5), n_trials=6)
    warm, _ = _study(_priors(best_x=5))
    warm.optimize(_objective(5), n_trials=6)
    assert [t.params for t in cold.trials] != [t.params for t in warm.trials]


def test_ranks_replace_values_in_the_view():
    study, sampler = _study(_priors(best_x=5))
    study.optimize(_objective(5), n_trials=4)
    view = sampler.view(study)
    own = {t.number: t.value for t in view.trials if t.number >= 0}
    raw = {t.number: t.value for t in study.trials}
    assert all(0.0 <= v <= 1.0 for v in own.values())
    assert all((raw[a] < raw[b]) <= (own[a] < own[b]) for a in raw for b in raw)
    assert max(raw.values()) > 1 and max(own.values()) == 1.0  # the study keeps its own


def test_the_prior_fades_as_the_study_learns():
    study, sampler = _study(_priors(best_x=5), horizon=8)
    study.optimize(_objective(5), n_trials=4)
    half = [t for t in sampler.view(study).trials if t.number < 0]
    study.optimize(_objective(5), n_trials=4)
    gone = [t for t in sampler.view(study).trials if t.number < 0]
    assert 0 < len(half) < 20 and gone == []
    assert sampler.view(study) is study  # faded: TPE reads the study itself, at no cost


def test_a_prior_that_orders_the_results_wrongly_is_dropped():
    # The earlier best was x=19; here it is x=1: the prior ranks every measurement backwards.
    study, sampler = _study(_priors(best_x=19))
    for x in (1, 7, 13, 19):
        study.enqueue_trial({"x": x, "y": "a"})
    study.optimize(_objective(1), n_trials=4)
    view = sampler.view(study)
    assert sampler.trust == 0.0 and all(t.number >= 0 for t in view.trials)
    # One that orders them rightly keeps its weight.
    study, sampler = _study(_priors(best_x=1))
    for x in (1, 7, 13, 19):
        study.enqueue_trial({"x": x, "y": "a"})
    study.optimize(_objective(1), n_trials=4)
    assert sampler.trust == 1.0 and len(sampler.view(study).trials) > 4


def test_hidden_trials_are_left_out_of_the_view():
    study, sampler = _study(_priors(best_x=5), hidden={0, 1})
    study.optimize(_objective(5), n_trials=3)
    numbers = [t.number for t in sampler.view(study).trials if t.number >= 0]
    assert numbers == [2]
