"""Importance per workload value: each value's own scores, from the trials' "workloads"."""

from __future__ import annotations

import random

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from tuner.attrs import WORKLOADS
from tuner.reports.importance import study_importance


def test_importance_per_workload_value():
    # On the small input only `a` matters; on the large one only `b`.
    rng = random.Random(1)
    study = optuna.create_study()
    dists = {"a": FloatDistribution(0, 1), "b": FloatDistribution(0, 1)}
    for _ in range(30):
        a, b = rng.random(), rng.random()
        small, large = 10 * a + 0.01 * rng.random(), 10 * b + 0.01 * rng.random()
        study.add_trial(create_trial(params={"a": a, "b": b}, distributions=dists,
                                     value=small + large,
                                     user_attrs={WORKLOADS: {"size=small": small,
                                                             "size=large": large}}))
    overall, small, large = study_importance(study)
    assert overall.workload is None and set(overall.shares) == {"a", "b"}
    assert small.workload == {"size": "small"} and small.shares["a"] > 0.9
    assert large.workload == {"size": "large"} and large.shares["b"] > 0.9


def test_one_workload_value_gives_one_answer():
    study = optuna.create_study()
    dists = {"a": FloatDistribution(0, 1)}
    for i in range(6):
        study.add_trial(create_trial(params={"a": i / 10}, distributions=dists, value=i,
                                     user_attrs={WORKLOADS: {"-": i}}))
    (only,) = study_importance(study)
    assert only.workload is None and only.trials == 6


def test_many_trials_are_sampled_and_it_says_so(monkeypatch):
    from tuner.reports import importance as imp

    monkeypatch.setattr(imp, "MAX_TRIALS", 20)
    rng = random.Random(2)
    study = optuna.create_study()
    dists = {"a": FloatDistribution(0, 1), "b": FloatDistribution(0, 1)}
    for _ in range(50):
        a, b = rng.random(), rng.random()
        study.add_trial(create_trial(params={"a": a, "b": b}, distributions=dists,
                                     value=10 * a + 0.1 * b))
    (only,) = study_importance(study)
    assert (only.trials, only.sampled_from) == (20, 50) and only.shares["a"] > 0.8
    assert only.over == "a random sample of 20 of 50 complete trials"
