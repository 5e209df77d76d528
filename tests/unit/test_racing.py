"""Racing's decisions and the interval math under the study's measured noise (pure logic, a
synthetic trial function; no containers)."""

from __future__ import annotations

import math
import random

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from tuner.attrs import BASELINE, CONFIRM, CONFIRM_ROUND, RACE
from tuner.racing import Budget, race_study, race_verdict, worth_racing
from tuner.selection import calibrated, interval, noise_floor, study_noise, t975
from tests.conftest import one_knob_space
from tuner.space import Space

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _trial(x: int, value: float, **attrs) -> optuna.trial.FrozenTrial:
    return create_trial(state=TrialState.COMPLETE, value=value, params={"x": x},
                        distributions={"x": IntDistribution(1, 9)}, user_attrs=attrs)


def test_agreeing_samples_cannot_make_a_narrow_interval():
    # The case: three side-by-side ratios that happen to agree to 0.2 points, on a
    # machine whose runs have 10% noise. Alone they give a 0.4-point interval.
    logs = [math.log(r) for r in (0.417, 0.418, 0.419)]
    lo, hi = interval(logs)
    assert hi - lo < 0.02
    floor = (math.sqrt(2) * 0.10, 30)  # two runs' worth of 10% noise, well measured
    lo, hi = calibrated(logs, floor)
    half = t975(30) * floor[0] / math.sqrt(3)
    assert hi - lo == pytest.approx(2 * half)
    assert math.exp(lo) < 0.418 * 0.86 and math.exp(hi) > 0.418 * 1.15
    # Samples that spread more than the study's noise keep their own, wider interval.
    spread = [-0.3, 0.0, 0.3]
    assert calibrated(spread, (0.01, 30)) == pytest.approx(interval(spread))
    # One sample: no interval of its own, but the study's noise gives one.
    assert calibrated([0.1], None) is None
    lo, hi = calibrated([0.1], (0.1, 10))
    assert lo == pytest.approx(0.1 - t975(10) * 0.1) and hi == pytest.approx(0.1 + t975(10) * 0.1)


def test_calibrated_intervals_cover_at_least_95_percent():
    rng = random.Random(3)
    sd, covered, studies = 0.1, 0, 2000
    for _ in range(studies):
        logs = [rng.gauss(0.2, sd) for _ in range(3)]
        lo, hi = calibrated(logs, (sd * rng.uniform(0.8, 1.2), 20))
        covered += lo <= 0.2 <= hi
    assert covered / studies >= 0.95


def test_study_noise_pools_repeated_configurations_and_rounds():
    rng = random.Random(1)
    trials, cv = [], 0.1
    for x in (2, 3, 4):
        trials += [_trial(x, x * math.exp(rng.gauss(0, cv))) for _ in range(40)]
    trials.append(_trial(7, 1.0))  # measured once: says nothing about the noise
    noise = study_noise(trials)
    assert noise["cv"] == pytest.approx(cv, rel=0.2)
    assert noise["cv_df"] == 3 * 39 and noise["configurations"] == 3
    assert noise["pair_sd"] is None
    assert noise_floor(noise) == (pytest.approx(math.sqrt(2) * noise["cv"]), 117)
    # Rounds: the configuration against the default, side by side; the baseline drifts.
    rounds = []
    for r in range(1, 31):
        speed = 1 + 0.02 * r
        rounds.append(_trial(9, 2 * speed, **{CONFIRM: True, CONFIRM_ROUND: r, BASELINE: True}))
        rounds.append(_trial(3, speed * math.exp(rng.gauss(0, 0.05)),
                             **{CONFIRM: True, CONFIRM_ROUND: r}))
    noise = study_noise(rounds)
    assert noise["pair_sd"] == pytest.approx(0.05, rel=0.3) and noise["pair_df"] == 29
    assert noise["drift"] == pytest.approx((2 * 1.6 - 2 * 1.02) / (2 * 1.02))
    # A race's pairs count too: the candidate against the incumbent.
    race = [_trial(x, v, **{RACE: {"id": 1, "pair": k, "role": role}})
            for k in range(4) for x, v, role in ((3, 1.0 + 0.01 * k, "incumbent"),
                                                 (4, 1.1, "candidate"))]
    assert study_noise(race)["pair_df"] == 3


def test_a_clearly_worse_run_is_dropped_a_close_one_races():
    floor = (0.1, 20)
    assert not worth_racing(2.0, [1.0, 1.0], floor, sign=1)  # minimize: twice the time
    assert worth_racing(1.02, [1.0], floor, sign=1)  # within the noise: it might be better
    assert worth_racing(0.8, [1.0], floor, sign=1)
    assert not worth_racing(0.5, [1.0], floor, sign=-1)  # maximize: half the throughput
    assert worth_racing(1.0, [], floor, sign=1)


def test_race_verdicts():
    floor = (0.05, 30)
    assert race_verdict([0.3], floor) == "better"  # far outside the noise at once
    assert race_verdict([-0.01], floor) == "worse"  # behind: nothing more spent on it
    assert race_verdict([0.02], floor) is None  # ahead, not clearly: another pair
    assert race_verdict([0.02, 0.01, 0.03], floor, limit=3) == "better"  # the limit: the mean
    assert race_verdict([], floor) is None


def _space() -> Space:
    return one_knob_space()


def truth(x: int) -> float:
    return 1 + 0.1 * (x - 3) ** 2  # the best x=3 scores 1, the default x=9 scores 4.6


def test_racing_study_within_its_run_budget():
    rng = random.Random(0)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    ran = race_study(study, _space(), lambda p, t: truth(p["x"]) * math.exp(rng.gauss(0, 0.05)),
                     budget=Budget(max_runs=40), final_rounds=3, seed=0)
    trials = study.trials
    assert ran == len(trials) <= 40
    assert trials[0].user_attrs.get(BASELINE) and trials[0].params == {"x": 9}
    summary = study.user_attrs["confirmed"]
    assert summary["method"] == "race" and summary["winner"]["params"]["x"] in (2, 3, 4)
    stats = summary["race"]
    assert stats["raced"] >= 1 and stats["candidates"] >= stats["raced"]
    # Every run is a trial the sampler sees, race runs included; each race alternates the two.
    raced = [t for t in trials if t.user_attrs.get(RACE)]
    assert raced and all(t.state == TrialState.COMPLETE for t in raced)
    by_pair: dict[tuple, set[str]] = {}
    for t in raced:
        r = t.user_attrs[RACE]
        by_pair.setdefault((r["id"], r["pair"]), set()).add(r["role"])
    assert all(roles == {"incumbent", "candidate"} for roles in by_pair.values())
    # The stated gain is side by side over the final rounds, with an interval.
    lo, hi = summary["change_vs_baseline_ci"]
    assert lo < truth(summary["winner"]["params"]["x"]) / truth(9) - 1 < hi
    assert summary["noise"]["pair_sd"] is not None


def test_a_clearly_worse_candidate_costs_one_run():
    # Exact scores: x=3 is the incumbent; everything the sampler proposes afterwards that is
    # far worse runs once and never again.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial({"x": 9}, user_attrs={BASELINE: True})
    study.enqueue_trial({"x": 3})
    race_study(study, _space(), lambda p, t: truth(p["x"]), budget=Budget(max_trials=25),
               final_rounds=0, seed=1)
    proposed = [t for t in study.trials if not t.user_attrs.get(RACE)]
    assert len({t.params["x"] for t in proposed}) >= 5
    # No race was run: every other configuration was clearly slower on its one run.
    assert not any(t.user_attrs.get(RACE) for t in study.trials)
    assert study.user_attrs.get("confirmed") is None  # no final rounds asked for


def test_racing_handles_failed_pruned_and_infeasible_runs():
    from tuner.errors import TrialFailed

    def fn(p, t):
        if p["x"] == 5:
            raise TrialFailed("container exited 1")
        if p["x"] == 6:
            raise optuna.TrialPruned("pruned at step 2")
        if p["x"] == 2:  # the fastest, but it breaks a constraint (p99 over its limit)
            t.storage.set_trial_system_attr(t._trial_id, "constraints:p99_ms <= 20", 5.0)
            return 0.5
        return truth(p["x"])

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for x in (9, 5, 6, 2, 4, 3):
        study.enqueue_trial({"x": x})
    race_study(study, _space(), fn, budget=Budget(max_trials=20), final_rounds=1, seed=2)
    states = {t.params["x"]: t.state for t in study.trials[:6]}
    assert states[5] == TrialState.FAIL and states[6] == TrialState.PRUNED
    summary = study.user_attrs["confirmed"]
    assert summary["winner"]["params"] == {"x": 3}  # x=2 never counts: it broke a constraint
    assert not any(t.user_attrs.get(RACE) and t.params == {"x": 2} for t in study.trials)


def test_the_bench_runs_all_three_methods_at_one_budget():
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_racing", Path(__file__).resolve().parents[2] / "bench" / "racing.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_racing"] = bench  # the pool's workers find one_study by this name
    spec.loader.exec_module(bench)

    results = bench.run(studies=1, runs=40, procs=1, quiet=True)
    assert {(r["machine"], r["method"]) for r in results} == {
        (m, k) for m in bench.MACHINES for k in bench.METHODS}
    assert all(r["runs"] <= 40 for r in results)
    assert all(r["loss"] >= 0 for r in results)
    assert all(r["covered"] is not None for r in results if r["method"] != "repeat3")
    assert "coverage" in bench.table(results, 1)


def test_stop_when_done_says_why():
    # Exact scores, x=3 found early: every later candidate is clearly worse on its one run,
    # so after `patience` of them in a row the search ends, long before its budget.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.enqueue_trial({"x": 9}, user_attrs={BASELINE: True})
    study.enqueue_trial({"x": 3})
    race_study(study, _space(), lambda p, t: truth(p["x"]),
               budget=Budget(max_trials=200, patience=6), final_rounds=2, seed=3)
    stats = study.user_attrs["confirmed"]["race"]
    assert stats["stopped"].startswith("done: none of the last 6 candidates")
    searched = [t for t in study.trials if not t.user_attrs.get(CONFIRM)]
    assert len(searched) < 60
    # Without patience, the budget is what stops it, and that is said too.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    race_study(study, _space(), lambda p, t: truth(p["x"]), budget=Budget(max_runs=20),
               final_rounds=2, seed=3)
    assert len(study.trials) <= 20
    assert study.user_attrs["confirmed"]["race"]["stopped"] == \
        "the run budget (--max-runs 20) was spent"


def test_best_leads_with_the_configuration_chosen_side_by_side():
    from tuner.optimize import confirm_top, run_study
    from tuner.reports import best_of

    # x=4's first run is lucky (0.5: better than x=3's true 1.0); its re-runs are not.
    luck = {"x4": [0.5]}

    def fn(p, t):
        if p["x"] == 4 and luck["x4"]:
            return luck["x4"].pop()
        return truth(p["x"])

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    run_study(study, _space(), fn, n_trials=1, grid=False)
    for x in (2, 3, 4):
        study.enqueue_trial({"x": x})
    run_study(study, _space(), fn, n_trials=3, grid=False)
    assert best_of(study)["params"] == {"x": 4} and "chosen_on" not in best_of(study)
    confirm_top(study, _space(), fn, top=3, runs=3, seed=0)
    best = best_of(study)
    assert best["chosen_on"] == "confirmation"
    assert best["params"] == {"x": 3} and best["value"] == pytest.approx(1.0)
    assert best["change_vs_baseline"] == pytest.approx(1.0 / truth(9) - 1)
    assert best["best_single_run"] == {"number": 3, "value": 0.5, "params": {"x": 4},
                                       "note": best["best_single_run"]["note"]}
    assert best["best_single_run"]["note"].startswith("one run")
    assert best["noise"]["pair_sd"] is not None
