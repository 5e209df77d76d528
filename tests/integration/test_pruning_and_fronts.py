"""Metrics, several objectives, constraints and pruning with real containers, through the
CLI: progress values read from a running container's log, a pruned trial's containers
stopped and removed, the front and the constraints in best, trials and the report."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker

# x=1..5 print their rate three times and finish; x=6 is the slow bad one: it would print
# for 30 s (past the 20 s timeout) unless the pruner stops it.
PRUNING = """
name: {study}
objective:
  direction: maximize
  container: main
  regex: 'total ([0-9.]+)'
  progress: 'rate ([0-9.]+)'
parameters:
  x: {{range: {{min: 1, max: 6}}, default: 1}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'v=$((10 - X)); n=3; nap=0.05; if [ $X = 6 ]; then n=100; nap=0.3; fi; i=0; while [ $i -lt $n ]; do echo "rate $v"; sleep $nap; i=$((i+1)); done; echo "total $v"']
  timeout: 20s
"""


def test_a_trial_worse_at_the_same_step_is_pruned_and_its_containers_go(
        busybox, write_job, run_cli, capsys, leftovers, docker_client):
    job = write_job(PRUNING.format(study="prune", image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--json") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["params"]["x"], r["state"]) for r in rows] == [
        (1, "COMPLETE"), (2, "COMPLETE"), (3, "COMPLETE"), (4, "COMPLETE"), (5, "COMPLETE"),
        (6, "PRUNED")]
    assert [r["progress"] for r in rows[:5]] == [[9] * 3, [8] * 3, [7] * 3, [6] * 3, [5] * 3]
    pruned = rows[5]
    # The median of x=1..5 at step 2 is 7; x=6 printed 4 there.
    assert pruned["progress"] == [4, 4, 4] and pruned["value"] == 4
    assert pruned["pruned_at"] == {"step": 2, "value": 4, "pruner": "median"}
    assert pruned["reason"].startswith("pruned at step 2: 4 was worse than earlier trials at "
                                       "that step (median pruner)")
    assert pruned["seconds"] < 10, "stopped, not left to run its 30 s"
    assert run_cli("runs", "5", "--json") == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["exit_code"] == 137 and run["seconds"] < 10  # killed by tuner when pruned
    leftovers("prune")
    assert run_cli("trials") == 0
    assert "PRUNED" in capsys.readouterr().out


def test_progress_redrawn_with_carriage_returns_is_pruned_as_printed(
        busybox, write_job, run_cli, capsys, leftovers, tmp_path):
    """A progress line redrawn with '\\r' and never ended by '\\n' (as redis-benchmark, curl
    or zstd print theirs): the engine's log would hold it back to the program's end."""
    job = write_job(PRUNING.format(study="redraw", image=busybox)
                    .replace('echo "rate $v"', 'printf "\\rrate $v"')
                    .replace('echo "total $v"', 'printf "\\rtotal $v"'))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--json") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 5 + ["PRUNED"]
    assert [r["value"] for r in rows[:5]] == [9, 8, 7, 6, 5]
    assert rows[5]["pruned_at"]["step"] == 2 and rows[5]["seconds"] < 10
    logs = sorted(tmp_path.rglob("redraw/0/main.log"))
    assert logs and logs[0].read_bytes() == b"\rrate 9" * 3 + b"\rtotal 9"  # as printed
    leftovers("redraw")


def test_no_prune_lets_every_trial_finish(busybox, write_job, run_cli, capsys, leftovers):
    job = write_job(PRUNING.format(study="noprune", image=busybox)
                    .replace("n=100; nap=0.3", "n=4; nap=0.05"))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--no-prune", "--json") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 6
    assert rows[5]["progress"] == [4] * 4 and rows[5]["pruned_at"] is None
    leftovers("noprune")


# score rises with x, and so does the latency: a trade; x=4 breaks the latency bound. The
# container lives 1.5 s: the engine samples peak memory about once a second.
TWO = """
name: {study}
objective: {{container: main, regex: 'total ([0-9.]+)'}}
metrics:
  p99_ms: {{regex: 'p99 ([0-9.]+)ms'}}
objectives:
  - {{name: score, direction: maximize}}
  - {{name: p99_ms, direction: minimize}}
constraints: ['p99_ms <= 30', 'peak_memory <= 1g']
parameters:
  x: {{range: {{min: 1, max: 4}}, default: 2}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'sleep 1.5; echo "total $X"; echo "p99 $((X * 10))ms"']
      ram: 64m
  timeout: 20s
"""


def test_two_objectives_and_constraints_in_best_trials_and_report(
        busybox, write_job, run_cli, capsys, leftovers, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    job = write_job(TWO.format(study="two", image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Pareto front: 3 configuration(s)" in out
    assert "3 complete trial(s) kept them, 1 did not (infeasible)" in out
    assert run_cli("best", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert [f["params"]["x"] for f in best["front"]] == [3, 2, 1]
    assert best["params"] == {"x": 3} and best["values"] == [3, 30]
    assert best["baseline"]["values"] == [2, 20]
    assert (best["feasible"], best["infeasible"]) == (3, 1)
    assert run_cli("trials", "--json") == 0
    rows = {r["params"]["x"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[4]["values"] == [4, 40] and rows[4]["feasible"] is False
    assert rows[4]["constraints"] == {"p99_ms <= 30": False, "peak_memory <= 1g": True}
    m = rows[1]["metrics"]
    assert m["p99_ms"] == 10 and 0 < m["peak_memory"] == m["peak_memory.main"] < 64 * 2**20
    assert m["cpu_seconds"] >= 0
    assert run_cli("report", "-o", "r.html") == 0
    page = (tmp_path / "r.html").read_text()
    assert "<h2>Pareto front</h2>" in page and "1 infeasible" in page
    assert "no: p99_ms &lt;= 30" in page
    leftovers("two")
