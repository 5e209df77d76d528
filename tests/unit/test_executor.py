"""The trial executor's logic with a fake runner: warm-ups, repeats, duplicates, workloads,
aggregation, failures and the outcome kept on disk. No Docker: the runner interface is all
the executor sees (the real runner is tested in tests/integration)."""

from __future__ import annotations

import json
import textwrap

import optuna
import pytest

from tuner.attrs import DUPLICATE_OF, SAMPLES, SPREAD, WORKLOADS
from tuner.job import parse_job
from tuner.optimize import run_study
from tuner.runner.base import ContainerRun, LogLine, TrialRun
from tuner.space import Space
from tuner.executor import TrialExecutor
from tuner.trial import Plan


class FakeRunner:
    """Returns `score(env, call)` as the container's log; exits with `code(env)`."""

    worker = "fake"

    def __init__(self, score, code=lambda env: 0):
        self.score, self.code, self.calls = score, code, []

    def run(self, ctx):
        self.calls.append(dict(ctx.env))
        text = f"score {self.score(ctx.env, len(self.calls))}"
        return TrialRun(containers={"main": ContainerRun(
            "main", exit_code=self.code(ctx.env), log=[LogLine((1, 0), text)])})


def setup(text: str, runner, tmp_path, **plan):
    job = parse_job(textwrap.dedent(text), "job.yaml")
    space = Space(job)
    fn = TrialExecutor(job, space, runner, "s", tmp_path, Plan(
        workloads=space.workload_points(), **plan))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", sampler=optuna.samplers.RandomSampler(seed=1))
    return job, space, fn, study


JOB = """
objective: {regex: 'score ([0-9.]+)'}
parameters:
  x: {range: {min: 1, max: 5}}
spec: {containers: {main: {image: x}}}
"""


def test_warmups_are_run_but_not_scored_and_repeats_give_the_median(tmp_path):
    runner = FakeRunner(lambda env, call: [0, 9, 1, 5, 7][call - 1])  # call 1 is the warm-up
    _, space, fn, study = setup(JOB, runner, tmp_path, warmup=1, repeat=3)
    run_study(study, space, fn, n_trials=1, grid=False)
    (t,) = study.trials
    assert len(runner.calls) == 4
    assert t.value == 5 and t.user_attrs[SAMPLES] == {"-": [9, 1, 5]}
    assert t.user_attrs[SPREAD]["-"]["n"] == 3
    folders = sorted(p.name for p in (tmp_path / "s" / "0").iterdir() if p.is_dir())
    assert folders == ["0", "1", "2", "warmup0"]


def test_every_workload_value_is_measured_and_summed(tmp_path):
    runner = FakeRunner(lambda env, call: int(env["X"]) * int(env["SIZE"]))
    text = JOB.replace("x: {range: {min: 1, max: 5}}",
                       "x: {range: {min: 1, max: 5}, default: 2}\n"
                       "  size: {role: workload, enum: [1, 10]}")
    _, space, fn, study = setup(text, runner, tmp_path)
    run_study(study, space, fn, n_trials=1, grid=False)
    (t,) = study.trials
    assert [c["SIZE"] for c in runner.calls] == ["1", "10"]
    assert t.user_attrs[WORKLOADS] == {"size=1": 2, "size=10": 20} and t.value == 22


def test_a_configuration_proposed_again_adds_a_sample(tmp_path):
    runner = FakeRunner(lambda env, call: [3, 5, 4][call - 1])
    text = JOB.replace("x: {range: {min: 1, max: 5}}", "x: {enum: [7]}")
    _, space, fn, study = setup(text, runner, tmp_path, repeat=1)
    run_study(study, space, fn, n_trials=3, grid=False)
    first, second, third = study.trials
    assert len(runner.calls) == 3  # one run each, not a fresh measurement
    assert DUPLICATE_OF not in first.user_attrs and second.user_attrs[DUPLICATE_OF] == 0
    assert third.user_attrs[SAMPLES] == {"-": [3, 5, 4]} and third.value == 4


def test_a_failed_run_fails_the_trial_with_its_reason(tmp_path):
    runner = FakeRunner(lambda env, call: 1, code=lambda env: 3 if env["X"] == "1" else 0)
    _, space, fn, study = setup(JOB, runner, tmp_path, repeat=2)
    run_study(study, space, fn, n_trials=1, grid=False)  # the baseline: x=1
    (t,) = study.trials
    assert t.state.name == "FAIL"
    assert t.user_attrs["fail_reason"] == "0: container main exited with code 3: score 1"
    outcome = json.loads((tmp_path / "s" / "0" / "outcome.json").read_text())
    assert outcome["value"] is None and outcome["reason"] == t.user_attrs["fail_reason"]


def test_the_outcome_is_on_disk_and_marked_recorded(tmp_path):
    runner = FakeRunner(lambda env, call: 2.5)
    _, space, fn, study = setup(JOB, runner, tmp_path)
    run_study(study, space, fn, n_trials=1, grid=False)
    outcome = json.loads((tmp_path / "s" / "0" / "outcome.json").read_text())
    assert outcome["value"] == 2.5 and outcome["recorded"] is True
    assert outcome["attrs"][SAMPLES] == {"-": [2.5]}


@pytest.mark.parametrize("aggregate,expected", [("sum", 30), ("mean", 15)])
def test_aggregates(aggregate, expected, tmp_path):
    runner = FakeRunner(lambda env, call: int(env["SIZE"]))
    text = JOB.replace("x: {range: {min: 1, max: 5}}",
                       "x: {range: {min: 1, max: 5}}\n  size: {role: workload, enum: [10, 20]}")
    _, space, fn, study = setup(text, runner, tmp_path, aggregate=aggregate)
    run_study(study, space, fn, n_trials=1, grid=False)
    assert study.trials[0].value == expected
