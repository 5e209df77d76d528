"""Metrics, constraints, several objectives and pruning through the trial executor with a
fake runner, and what best, trials and the report make of the study (SQLite, no Docker; the
real runner is tested in tests/integration/test_pruning_and_fronts.py)."""

from __future__ import annotations

import json
import textwrap

import optuna

from tuner.attrs import (BASELINE, CONSTRAINTS_MET, STUDY_CONSTRAINTS, METRICS, OBJECTIVES, PROGRESS,
                         PRUNED_AT, REASON)
from tuner.job import parse_job
from tuner.job.goals import goals_of
from tuner.optimize import make_pruner, run_study
from tuner.reports import best_of, trial_rows
from tuner.runner.base import ContainerRun, LogLine, TrialRun
from tuner.space import Space
from tuner.executor import TrialExecutor
from tuner.trial import Plan


class FakeRunner:
    """The container prints `progress(x)` values, then its score x and p99 10*x; its peak
    memory is x MiB. A progress callback that answers True stops it (the pruner's call)."""

    worker = "fake"

    def __init__(self, progress=lambda x: [], memory=True):
        self.progress, self.memory, self.stopped = progress, memory, []

    def run(self, ctx):
        x = int(ctx.env["X"])
        lines = []
        for v in self.progress(x):
            lines.append(f"rate {v}")
            if ctx.on_progress is not None and ctx.on_progress(v):
                self.stopped.append(x)
                return TrialRun(containers={"main": ContainerRun(
                    "main", exit_code=137, log=[LogLine((1, 0), t) for t in lines])},
                    stopped=True)
        lines += [f"score {x}", f"p99 {10 * x}ms"]
        return TrialRun(containers={"main": ContainerRun(
            "main", exit_code=0, log=[LogLine((1, i), t) for i, t in enumerate(lines)],
            peak_memory=x * 2**20 if self.memory else None, cpu_seconds=0.5)})


JOB = """
name: goals
objective: {direction: maximize, regex: 'score ([0-9.]+)', progress: 'rate ([0-9.]+)'}
metrics:
  p99_ms: {regex: 'p99 ([0-9.]+)ms'}
parameters:
  x: {range: {min: 1, max: 6}, default: 1}
spec: {containers: {main: {image: x}}}
"""


def study_for(text: str, runner, tmp_path, *, prune=False, pruner=None, points=(1, 2, 3, 4, 5, 6)):
    """A SQLite study set up as `tuner optimize` sets it up, with these points enqueued."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    job = parse_job(textwrap.dedent(text), "job.yaml")
    space = Space(job)
    goals = goals_of(job)
    fn = TrialExecutor(job, space, runner, "goals", tmp_path / "results",
                             Plan(workloads=space.workload_points(), prune=prune))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="goals", storage=f"sqlite:///{tmp_path}/tuner.db",
                                directions=list(goals.directions),
                                sampler=optuna.samplers.RandomSampler(seed=1),
                                pruner=make_pruner(pruner) if pruner else None)
    if job.objectives:
        study.set_user_attr(OBJECTIVES, [{"name": n, "direction": d}
                                         for n, d in zip(goals.names, goals.directions)])
    if job.constraints:
        study.set_user_attr(STUDY_CONSTRAINTS, list(job.constraints))
    for i, x in enumerate(points):
        study.enqueue_trial({"x": x}, user_attrs={BASELINE: True} if i == 0 else None)
    run_study(study, space, fn, n_trials=len(points), grid=False)
    return study


def test_metrics_are_recorded_and_constraints_decide_the_best(tmp_path):
    text = JOB + "constraints: ['p99_ms <= 40', 'peak_memory <= 3m']\n"
    study = study_for(text, FakeRunner(), tmp_path)
    t = study.trials[1]
    assert t.user_attrs[METRICS] == {"score": 2, "p99_ms": 20, "peak_memory": 2 * 2**20,
                                     "peak_memory.main": 2 * 2**20, "cpu_seconds": 0.5,
                                     "cpu_seconds.main": 0.5}
    kept = {t.params["x"]: t.user_attrs[CONSTRAINTS_MET] for t in study.trials}
    assert kept[3] == {"p99_ms <= 40": True, "peak_memory <= 3m": True}
    assert kept[4] == {"p99_ms <= 40": True, "peak_memory <= 3m": False}
    # Optuna's own constraint values: what the samplers learn feasibility from.
    assert study.trials[3].constraints["peak_memory <= 3m"] > 0
    best = best_of(study)
    assert best["params"] == {"x": 3} and best["value"] == 3  # 4..6 score more, but break one
    assert (best["feasible"], best["infeasible"]) == (3, 3)
    assert best["metrics"]["p99_ms"] == 30
    rows = trial_rows(study)
    assert [r["feasible"] for r in rows] == [True, True, True, False, False, False]


def test_a_constrained_study_in_best_and_the_report(tmp_path, run_cli, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    study_for(JOB + "constraints: ['p99_ms <= 40', 'peak_memory <= 3m']\n", FakeRunner(),
              tmp_path)
    assert run_cli("best") == 0
    out = capsys.readouterr().out
    assert "best: trial 2, score 3" in out
    assert ("constraints: p99_ms <= 40; peak_memory <= 3m: 3 complete trial(s) kept them, 3 did "
            "not (infeasible); only a feasible one is named best") in out
    assert run_cli("report", "-o", "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert "3 infeasible" in page and "<b>3 did not (infeasible)</b>" in page
    assert "no: peak_memory &lt;= 3m" in page
    assert "one objective: the best above is the answer" in page


def test_best_says_when_no_trial_kept_the_constraints(tmp_path, run_cli, capsys):
    study_for(JOB + "constraints: ['p99_ms <= 5']\n", FakeRunner(), tmp_path, points=(1, 2))
    assert run_cli("best") == 2
    err = capsys.readouterr().err
    assert "none of its 2 complete trial(s) kept the constraints (p99_ms <= 5)" in err


def test_a_builtin_metric_the_engine_did_not_give_fails_only_when_needed(tmp_path):
    study = study_for(JOB, FakeRunner(memory=False), tmp_path, points=(1,))
    assert study.trials[0].state.name == "COMPLETE"
    assert "peak_memory" not in study.trials[0].user_attrs[METRICS]
    study = study_for(JOB + "constraints: ['peak_memory <= 3m']\n", FakeRunner(memory=False),
                      tmp_path / "2", points=(1,))
    t = study.trials[0]
    assert t.state.name == "FAIL"
    assert t.user_attrs[REASON].startswith("no metric peak_memory: the engine gave no peak "
                                           "memory figure for container(s) main")


TWO = JOB + """objectives:
  - {name: score, direction: maximize}
  - {name: p99_ms, direction: minimize}
constraints: ['p99_ms <= 50']
"""


def test_two_objectives_give_a_pareto_front_of_feasible_trials(tmp_path):
    study = study_for(TWO, FakeRunner(), tmp_path, points=(2, 1, 3, 6, 2))
    assert [t.values for t in study.trials][:2] == [[2, 20], [1, 10]]
    best = best_of(study)
    # Every feasible configuration trades score for latency: all are on the front; x=6
    # (p99 60) broke the constraint and is not.
    assert [f["params"]["x"] for f in best["front"]] == [3, 2, 2, 1]
    assert best["objectives"] == [{"name": "score", "direction": "maximize"},
                                  {"name": "p99_ms", "direction": "minimize"}]
    assert best["number"] == 2 and best["values"] == [3, 30]
    assert best["front"][1]["change_vs_baseline"] == [0.0, 0.0]  # the default itself
    assert best["infeasible"] == 1
    rows = trial_rows(study)
    assert rows[0]["value"] is None and rows[0]["values"] == [2, 20]


def test_best_trials_and_report_show_front_and_constraints(tmp_path, run_cli, capsys,
                                                          monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at 80 otherwise
    study_for(TWO, FakeRunner(), tmp_path, points=(2, 1, 3, 6))
    assert run_cli("best", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert {"study", "number", "value", "params", "values", "front"} <= set(best)
    assert [f["number"] for f in best["front"]] == [2, 0, 1]
    assert run_cli("best") == 0
    out = capsys.readouterr().out
    assert "Pareto front: 3 configuration(s)" in out and "maximize score, minimize p99_ms" in out
    assert "1 did not (infeasible)" in out
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[3]["values"] == [6, 60] and rows[3]["feasible"] is False
    assert rows[3]["constraints"] == {"p99_ms <= 50": False}
    assert run_cli("trials") == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "state" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "#", "state", "score", "p99_ms", "peak_memory", "cpu_seconds", "feasible", "x", "time",
        "reason"]
    row = next(line for line in out.splitlines() if line.startswith("│ 3 "))
    assert [c.strip() for c in row.split("│")[1:-3]] == [
        "3", "COMPLETE", "6", "60", "6.0 MiB", "0.50s", "no: p99_ms <= 50", "6"]
    assert run_cli("report", "-o", "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert "<h2>Pareto front</h2>" in page and "1 infeasible" in page
    assert "Goal: maximize the score, minimize p99_ms" in page
    assert page.count("Plotly.newPlot") >= 2  # the front's own chart among them


def test_single_objective_json_contract_is_unchanged(tmp_path, run_cli, capsys):
    study_for(JOB, FakeRunner(), tmp_path, points=(1, 4))
    assert run_cli("best", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert (best["number"], best["value"], best["params"]) == (1, 4, {"x": 4})
    assert "front" not in best and "values" not in best and "infeasible" not in best


def test_a_trial_worse_than_earlier_ones_is_pruned_the_baseline_never(tmp_path):
    # Each trial prints x five times; x=1 is the baseline (the worst) and is never pruned.
    runner = FakeRunner(progress=lambda x: [x] * 5)
    study = study_for(JOB, runner, tmp_path, prune=True, pruner="median",
                      points=(1, 5, 6, 5, 6, 6, 2))
    states = [(t.params["x"], t.state.name) for t in study.trials]
    assert states == [(1, "COMPLETE"), (5, "COMPLETE"), (6, "COMPLETE"), (5, "COMPLETE"),
                      (6, "COMPLETE"), (6, "COMPLETE"), (2, "PRUNED")]
    pruned = study.trials[-1]
    assert runner.stopped == [2]
    assert pruned.user_attrs[PRUNED_AT] == {"step": 2, "value": 2, "pruner": "median"}
    assert pruned.user_attrs[PROGRESS] == [2, 2, 2]
    assert pruned.intermediate_values == {0: 2, 1: 2, 2: 2}
    assert pruned.value == 2  # the value it reached
    assert pruned.user_attrs[REASON].startswith("pruned at step 2: 2 was worse than earlier "
                                                "trials at that step (median pruner)")
    assert study.trials[0].user_attrs[PROGRESS] == [1] * 5


def test_without_prune_every_trial_runs_to_its_end(tmp_path):
    runner = FakeRunner(progress=lambda x: [x] * 5)
    study = study_for(JOB, runner, tmp_path, prune=False, pruner="median",
                      points=(1, 5, 6, 5, 6, 6, 2))
    assert all(t.state.name == "COMPLETE" for t in study.trials) and runner.stopped == []
    assert study.trials[-1].intermediate_values == {i: 2 for i in range(5)}


def test_confirmation_re_runs_front_members(tmp_path):
    from tuner.attrs import CONFIRM, CONFIRMED
    from tuner.optimize import confirm_top

    job = parse_job(textwrap.dedent(TWO), "job.yaml")
    space = Space(job)
    fn = TrialExecutor(job, space, FakeRunner(), "goals", tmp_path / "results",
                             Plan(workloads=space.workload_points()))
    study = study_for(TWO, FakeRunner(), tmp_path, points=(2, 1, 3, 6))
    confirm_top(study, space, fn, top=2, runs=2, seed=1)
    confirmed = [t for t in study.trials if t.user_attrs.get(CONFIRM)]
    # The top two of the front on the first objective (x=3, x=2; x=6 is infeasible), and the
    # job's default (x=1): 3 configurations x 2 rounds.
    assert sorted(t.params["x"] for t in confirmed) == [1, 1, 2, 2, 3, 3]
    assert study.user_attrs[CONFIRMED]["winner"]["params"] == {"x": 3}
