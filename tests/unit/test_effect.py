"""The effect views and verdict on plain observations: no study, no database."""

from __future__ import annotations

import random

import pytest

from tuner.sweep import sweep_points, sweep_values
from tuner.reports.axes import Axis
from tuner.reports.effect import Obs, edge_of, effect, marginal, noise

X = Axis("x", "int", low=0, high=6, step=1)
Y = Axis("y", "float", low=0.0, high=1.0)
MODE = Axis("mode", "enum", choices=("fast", "safe"))
AXES = {"x": X, "y": Y, "mode": MODE}


def grid(f, repeats: int = 2, sd: float = 0.05, seed: int = 0) -> list[Obs]:
    """Every x, y in {0.3, 0.6}, both modes, `repeats` times, score f(x) + noise."""
    rng = random.Random(seed)
    out = []
    for x in range(7):
        for y in (0.3, 0.6):
            for mode in MODE.choices:
                for _ in range(repeats):
                    out.append(Obs(len(out), {"x": x, "y": y, "mode": mode},
                                   f(x) + rng.gauss(0, sd)))
    return out


def at(obs: list[Obs], **params) -> Obs:
    return next(o for o in obs if all(o.params[k] == v for k, v in params.items()))


def test_verdict_on_each_side_of_the_optimum():
    obs = grid(lambda x: (x - 3) ** 2)
    assert effect(obs, AXES, "x", "minimize", at(obs, x=2)).verdict.answer == "helps"
    assert effect(obs, AXES, "x", "minimize", at(obs, x=4)).verdict.answer == "hurts"
    best = effect(obs, AXES, "x", "minimize")
    assert best.base.params["x"] == 3 and best.verdict.answer == "hurts"
    assert best.neighbourhood.kind == "exact"  # a full grid has the same other parameters
    assert best.edge is None


def test_direction_is_respected():
    obs = [Obs(o.number, o.params, -o.value) for o in grid(lambda x: (x - 3) ** 2)]
    assert effect(obs, AXES, "x", "maximize", at(obs, x=2)).verdict.answer == "helps"
    assert effect(obs, AXES, "x", "maximize", at(obs, x=4)).verdict.answer == "hurts"


def test_irrelevant_parameter_is_flat():
    obs = grid(lambda x: (x - 3) ** 2)
    e = effect(obs, AXES, "y", "minimize", at(obs, x=3, y=0.3))
    assert e.verdict.answer == "flat"
    assert e.noise.sd is not None and "repeated" in e.noise.source


def test_without_noise_estimate_it_is_unclear_but_leans():
    obs = grid(lambda x: (x - 3) ** 2, repeats=1, sd=0.0)
    only = [o for o in obs if o.params["y"] == 0.3 and o.params["mode"] == "fast"]
    e = effect(only, AXES, "x", "minimize", at(only, x=2))
    assert e.verdict.answer == "unclear" and e.verdict.leaning == "helps"
    assert "noise is unknown" in e.verdict.because


def test_best_at_the_top_of_the_range_says_widen_it():
    obs = grid(lambda x: -x)  # higher is better all the way to the range's end
    e = effect(obs, AXES, "x", "minimize")
    assert e.base.params["x"] == 6
    assert e.edge is not None and e.edge.side == "max" and "widen parameters.x.range" in e.edge.hint
    assert e.verdict.answer == "unclear" and "cannot be raised" in e.verdict.because
    low = edge_of(X, 0)
    assert low is not None and low.side == "min" and "lower its min" in low.hint
    assert edge_of(MODE, "safe") is None  # names have no order, so no edge


def test_marginal_per_value_and_in_bins():
    obs = grid(lambda x: (x - 3) ** 2, sd=0.0)
    levels = marginal(obs, X, "minimize")
    assert [lv.low for lv in levels] == list(range(7))
    assert levels[3].best == pytest.approx(0.0) and levels[3].count == 8
    many = [Obs(i, {"y": i / 99}, float(i)) for i in range(100)]
    bins = marginal(many, Y, "maximize")
    assert 2 <= len(bins) <= 6 and sum(b.count for b in bins) == 100
    assert bins[-1].best == 99.0 and bins[0].low == 0.0


def test_noise_is_the_pooled_sd_of_repeats():
    obs = [Obs(0, {"x": 1}, 1.0), Obs(1, {"x": 1}, 3.0), Obs(2, {"x": 2}, 5.0),
           Obs(3, {"x": 2}, 5.0), Obs(4, {"x": 3}, 9.0)]
    n = noise(obs, {"x": X})
    assert n.sd == pytest.approx((2.0 / 2) ** 0.5)  # (1 + 1 + 0 + 0) / 2 degrees of freedom
    assert noise(obs[:1] + obs[2:3], {"x": X}).sd is None


def test_sweep_values_stay_in_range():
    assert sweep_values(X, 3, 2) == [1, 2, 4, 5]
    assert sweep_values(X, 6, 2) == [4, 5]
    assert sweep_values(Axis("r", "float", low=0.1, high=0.5, step=0.1), 0.1, 2) == [0.2, 0.3]
    assert sweep_values(Y, 0.5, 1) == [0.4, 0.6]
    assert sweep_values(MODE, "fast", 2) == ["safe"]
    points = sweep_points(X, {"x": 6, "mode": "safe"}, 1)
    assert points == [{"x": 6, "mode": "safe"}, {"x": 5, "mode": "safe"}]


def test_a_duplicate_chain_counts_once():
    # Trial 3 measured x=1 again and holds trial 1's samples too: its value is not an
    # independent repeat of trial 1's, so only it is kept.
    import optuna
    from optuna.distributions import IntDistribution
    from optuna.trial import create_trial

    from tuner.reports.effect import study_effect

    study = optuna.create_study()
    dist = {"x": IntDistribution(0, 6)}
    for x, value, attrs in ((0, 5.0, {}), (1, 3.0, {}), (2, 4.0, {}), (1, 3.1, {"duplicate_of": 1})):
        study.add_trial(create_trial(params={"x": x}, distributions=dist, value=value,
                                     user_attrs=attrs))
    e = study_effect(study, "x")
    assert e.noise.sd is None, "no independent repeat, so no noise estimate"
    assert e.trials == 3
    assert sorted(n for lv in e.marginal for n in lv.numbers) == [0, 2, 3]


def test_a_byte_range_is_counted_not_listed():
    from tuner.reports.effect import _steps

    big = Axis("buf", "int", low=1 << 20, high=8 << 30, step=1 << 20)  # 1m..8g, 8192 values
    huge = Axis("b", "int", low=1024, high=1 << 40, step=1)  # 10^12 values: a list would hang
    assert big.count() == 8192 and huge.count() == (1 << 40) - 1024 + 1
    assert huge.ends() == (1024, 1 << 40) and not huge.discrete
    assert edge_of(huge, 1 << 40).side == "max"
    # The steps between two values, by arithmetic, match counting them in a listed range.
    small = Axis("s", "int", low=2, high=20, step=2)  # 10 values: matched exactly
    listed = small.values()
    for a, b in ((2, 20), (10, 12), (14, 14)):
        assert _steps(small, a, b) == abs(listed.index(b) - listed.index(a))
    assert _steps(huge, 2048, 4096) == pytest.approx(2048 / ((1 << 40) - 1023) * 5)
