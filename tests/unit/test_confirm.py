"""Confirmation in interleaved rounds: every round runs each top configuration and the baseline
once, shuffled, and the winner is compared with the baseline side by side, so a machine that
drifts between rounds does not move the answer. The trial function is synthetic (no
containers): what is tested is the order of the runs and the statistics."""

from __future__ import annotations


import optuna
import pytest

from tuner.optimize import BASELINE, CONFIRM, CONFIRM_ROUND, confirm_top, run_study
from tuner.reports.confidence import confirmation_verdict
from tuner.selection import paired
from tests.conftest import one_knob_space
from tuner.space import Space

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _space() -> Space:
    return one_knob_space()


def truth(x: int) -> float:
    return 1 + 0.05 * (x - 3) ** 2  # the default x=9 scores 2.8, the best x=3 scores 1


def _study(trial_fn) -> optuna.Study:
    """The default (x=9) first, then every other x once."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    run_study(study, _space(), trial_fn, n_trials=1, grid=False)
    for x in range(1, 9):
        study.enqueue_trial({"x": x})
    run_study(study, _space(), trial_fn, n_trials=8, grid=False)
    return study


def test_every_round_runs_each_configuration_and_the_baseline_once_in_a_shuffled_order():
    study = _study(lambda p, t: truth(p["x"]))
    confirm_top(study, _space(), lambda p, t: truth(p["x"]), top=3, runs=6, seed=1)
    reruns = [t for t in study.trials if t.user_attrs.get(CONFIRM)]
    assert len(reruns) == 6 * 4  # 3 configurations and the default
    rounds: dict[int, list[int]] = {}
    for t in reruns:
        rounds.setdefault(t.user_attrs[CONFIRM_ROUND], []).append(t.params["x"])
    assert sorted(rounds) == [1, 2, 3, 4, 5, 6]
    members = sorted(rounds[1])
    assert 9 in members
    assert all(sorted(xs) == members for xs in rounds.values())
    assert len({tuple(xs) for xs in rounds.values()}) > 1, "the order is shuffled"
    assert all(t.user_attrs.get(BASELINE) for t in reruns if t.params["x"] == 9)
    # A second confirmation numbers its rounds after the first one's.
    confirm_top(study, _space(), lambda p, t: truth(p["x"]), top=2, runs=1, seed=1)
    assert max(t.user_attrs.get(CONFIRM_ROUND, 0) for t in study.trials) == 7


def test_side_by_side_rounds_cancel_a_drifting_machine():
    # While the top configurations are confirmed, the machine gets 50% slower from one round
    # (four runs) to the next: measured at different times the best and the default cannot be
    # compared; in the same round they can.
    study = _study(lambda p, t: truth(p["x"]))
    clock = {"n": 0}

    def drifting(params: dict, trial: object) -> float:
        clock["n"] += 1
        return truth(params["x"]) * 1.5 ** ((clock["n"] - 1) // 4)

    confirm_top(study, _space(), drifting, top=3, runs=4, seed=2)
    summary = study.user_attrs["confirmed"]
    assert summary["winner"]["params"] == {"x": 3}
    vs = summary["vs_baseline"]
    assert vs["rounds"] == 4
    true_change = truth(3) / truth(9) - 1  # -64%
    assert summary["change_vs_baseline"] == pytest.approx(true_change)
    assert vs["ci"] == [pytest.approx(vs["ratio"])] * 2
    assert summary["distinct_from_baseline"] is True
    assert summary["vs_runner_up"]["ratio"] == pytest.approx(truth(3) / truth(2))
    # Against the default as measured at the start of the study, the gain looks half as big.
    naive = summary["winner"]["median"] / study.trials[0].value - 1
    assert naive - true_change > 0.25
    text = "\n".join(confirmation_verdict(summary))
    assert "side by side over 4 round(s)" in text and "a real difference" in text


def test_paired_ratio_and_its_interval():
    class T:
        def __init__(self, x: int, value: float, r: int | None):
            self.params, self.value = {"x": x}, value
            self.user_attrs = {CONFIRM_ROUND: r} if r is not None else {}

    trials = [T(3, 1.0, 1), T(9, 2.0, 1), T(3, 3.0, 2), T(9, 6.0, 2), T(3, 5.0, None),
              T(9, 1.0, 3)]  # round 3 has no x=3: not a pair; the unrounded trial is ignored
    pair = paired(trials, {"x": 3}, {"x": 9})
    assert pair["rounds"] == 2 and pair["ratio"] == pytest.approx(0.5)
    assert pair["ci"] == [pytest.approx(0.5), pytest.approx(0.5)]  # no spread in the ratios
    trials.append(T(3, 1.5, 3))  # a third pair: ratio 1.5
    pair = paired(trials, {"x": 3}, {"x": 9})
    assert pair["median_ratio"] == pytest.approx(0.5)
    assert pair["ci"][0] < 0.5 and pair["ci"][1] > 1.5
    assert paired([T(3, -1.0, 1), T(9, 2.0, 1)], {"x": 3}, {"x": 9}) is None
    assert paired(trials, {"x": 3}, {"x": 4}) is None


def test_the_default_in_the_top_k_is_ranked_side_by_side_too():
    # The default (x=9) is made the best: it is among the configurations confirmed, its
    # ratio to itself is 1, and the others are ranked on their side-by-side ratios to it.
    def f(params: dict, trial: object) -> float:
        return 0.5 if params["x"] == 9 else truth(params["x"])

    study = _study(f)
    confirm_top(study, _space(), f, top=3, runs=3, seed=4)
    summary = study.user_attrs["confirmed"]
    assert summary["winner"]["params"] == {"x": 9}
    assert summary["vs_baseline"] == {"rounds": 3, "ratio": 1.0, "median_ratio": 1.0,
                                      "ci": None}
    assert summary["runner_up"]["params"] == {"x": 3}
    assert summary["runner_up"]["vs_baseline"]["ratio"] == pytest.approx(2.0)
    assert "the default configuration is itself the best" in "\n".join(confirmation_verdict(summary))
