"""The command line as a person meets it: help, exit codes, one-line errors, nothing started."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuner.cli import cli, main

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
name: demo
parameters:
  numChunk: {range: {min: 1, max: 4}}
  ratio: {range: {min: 0.1, max: 0.5, step: 0.2}}
  mode: {enum: [fast, safe]}
spec:
  containers:
    score: {image: tuner-test/busybox:1, command: [echo, "1"]}
  timeout: 5s
"""


def tuner(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "tuner", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=60)


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if hasattr(command, "commands"):
            yield from _commands(command, prefix + (name,))


@pytest.mark.parametrize("command", sorted(_commands(cli)), ids=" ".join)
def test_every_command_has_help_with_example(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and f"tuner {' '.join(command)}" in out


@pytest.mark.parametrize("command", sorted(_commands(cli)), ids=" ".join)
def test_every_command_is_in_the_readme(command):
    readme = (ROOT / "README.md").read_text()
    if not hasattr(dict(_commands_by_path()).get(command), "commands"):  # groups: their commands
        assert f"tuner {' '.join(command)}" in readme, f"README never shows `tuner {' '.join(command)}`"


def _commands_by_path(group=None, prefix=()):
    group = group or cli
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if hasattr(command, "commands"):
            yield from _commands_by_path(command, prefix + (name,))


def test_validate_prints_space(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(GOOD)
    assert main(["validate", str(job)]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out and "NUM_CHUNK" in out and "grid: 24 points" in out
    assert main(["validate", str(job), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["grid_size"] == 24
    assert data["parameters"][1]["values"] == [0.1, 0.3, 0.5]


def test_validate_all_shipped_jobs(capsys):
    for job in sorted((ROOT / "jobs").glob("*.yaml")):
        assert main(["validate", str(job)]) == 0, job


def test_bad_job_is_exit_2_one_line_no_traceback(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(GOOD.replace("timeout: 5s", "timeout: 5s\n  untill: score"))
    for command in (["validate", "job.yaml"], ["optimize", "job.yaml"]):
        r = tuner(*command, cwd=tmp_path)
        assert r.returncode == 2
        assert r.stderr == ("tuner: error: job.yaml:11: spec.untill: unknown key 'untill'; "
                            "did you mean 'until'?\n")
    assert not (tmp_path / "tuner.db").exists() and not (tmp_path / "results").exists()


def test_grid_over_continuous_range_is_a_job_error(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(GOOD.replace("step: 0.2", "log: false"))
    assert main(["optimize", str(job), "--sampler", "grid", "--storage",
                 f"sqlite:///{tmp_path}/t.db"]) == 2
    err = capsys.readouterr().err
    assert "parameters.ratio.range: a float range without a step has no grid" in err
    assert not (tmp_path / "t.db").exists()


def test_bad_options_exit_2(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(GOOD)
    assert main(["optimize", str(job), "--sampler", "bayes"]) == 2
    assert main(["optimize", str(job), "--n-trials", "0"]) == 2
    assert main(["optimize", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_swarm_options_checked_before_docker(tmp_path, capsys, monkeypatch):
    """Bad --runner/--parallel/--node-label input, and what a swarm cannot run: exit 2 naming
    the option or the field, with no engine to ask (DOCKER_HOST points nowhere)."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    job = tmp_path / "job.yaml"
    job.write_text(GOOD)
    storage = ["--storage", f"sqlite:///{tmp_path}/t.db"]
    assert main(["optimize", str(job), "--runner", "k8s", *storage]) == 2
    assert main(["optimize", str(job), "--parallel", "2", *storage]) == 2
    assert "--parallel: only with --runner swarm" in capsys.readouterr().err
    assert main(["optimize", str(job), "--node-label", "disk=ssd", *storage]) == 2
    assert "--node-label: only with --runner swarm" in capsys.readouterr().err
    for bad in ("disk", "=ssd", "disk=", "a b=c", "disk=s sd", "disk=a,b"):
        assert main(["optimize", str(job), "--runner", "swarm", "--node-label", bad,
                     *storage]) == 2
        assert "--node-label" in capsys.readouterr().err
    assert main(["optimize", str(job), "--runner", "swarm", "--parallel", "0", *storage]) == 2
    job.write_text(GOOD.replace("command: [echo, \"1\"]}", "command: [echo, \"1\"], "
                                "privileged: true}"))
    assert main(["optimize", str(job), "--runner", "swarm", *storage]) == 2
    assert "spec.containers.score.privileged: swarm services cannot run privileged" in \
        capsys.readouterr().err
    assert not (tmp_path / "t.db").exists()


def test_docker_unreachable_is_exit_1_with_fix(tmp_path):
    (tmp_path / "job.yaml").write_text(GOOD)
    r = tuner("optimize", "job.yaml", cwd=tmp_path,
              env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith("tuner: error: cannot reach the Docker engine")
    assert lines[1].startswith("  fix: start it with")
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "tuner.db").exists()


def test_reading_commands_without_database(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["best"]) == 2
    assert "no study database at tuner.db" in capsys.readouterr().err
    assert not (tmp_path / "tuner.db").exists()


def test_unknown_study_lists_known_ones(tmp_path, monkeypatch, capsys):
    import optuna

    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path}/tuner.db"
    for name in ("alpha", "beta"):
        optuna.create_study(study_name=name, storage=storage)
    assert main(["trials", "--study", "gamma"]) == 2
    assert "no study 'gamma'" in capsys.readouterr().err
    assert main(["best"]) == 2
    assert "holds several studies: alpha, beta" in capsys.readouterr().err
    assert main(["best", "--study", "alpha"]) == 2
    assert "has no complete trial yet" in capsys.readouterr().err


def test_best_and_trials_json_shapes(tmp_path, monkeypatch, capsys):
    import optuna

    monkeypatch.chdir(tmp_path)
    s = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/tuner.db")
    s.enqueue_trial({"x": 2})
    s.optimize(lambda t: t.suggest_int("x", 0, 5) * 1.5, n_trials=1)
    t = s.ask()
    t.suggest_int("x", 0, 5)
    t.set_user_attr("fail_reason", "container b exited with code 1")
    s.tell(t, state=optuna.trial.TrialState.FAIL)
    assert main(["best", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"study": "s", "number": 0, "value": 3.0,
                                                   "params": {"x": 2}}
    assert main(["trials", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["number"], r["state"], r["value"], r["reason"]) for r in rows] == [
        (0, "COMPLETE", 3.0, None), (1, "FAIL", None, "container b exited with code 1")]
    assert main(["trials"]) == 0
    assert "container b exited with code 1" in capsys.readouterr().out


def test_trials_table_shows_the_latest_unless_all(tmp_path, monkeypatch, capsys):
    import optuna

    monkeypatch.chdir(tmp_path)
    s = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/tuner.db")
    s.optimize(lambda t: t.suggest_int("x", 0, 500) * 1.0, n_trials=5)
    assert main(["trials", "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "5 trial(s); the latest 2" in out
    numbers = [line.split()[1] for line in out.splitlines() if line.startswith("│")]
    assert numbers == ["3", "4"]
    assert main(["trials", "--last", "2", "--all"]) == 0
    assert len([ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("│")]) == 5
    assert main(["trials", "--last", "2", "--json"]) == 0  # JSON always has every trial
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert main(["runs", "99999999999999999999999"]) == 2  # bigger than any database integer
    assert "has no trial 99999999999999999999999 (it has 5)" in capsys.readouterr().err


def test_reading_commands_write_nothing_and_need_no_optuna(tmp_path):
    """best, trials, studies read the tables in plain SQL: Optuna is not even imported."""
    import optuna

    s = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/tuner.db")
    s.optimize(lambda t: t.suggest_int("x", 0, 5) * 1.0, n_trials=3)
    before = (tmp_path / "tuner.db").read_bytes()
    code = ("import sys; from tuner.cli import main; "
            "[main([c]) for c in ('best', 'trials', 'studies')]; "
            "print(sorted(m for m in ('optuna', 'docker', 'alembic') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "tuner.db").read_bytes() == before


def test_validate_and_help_do_not_import_heavy_libraries(tmp_path):
    (tmp_path / "job.yaml").write_text(GOOD)
    code = ("import sys; from tuner.cli import main; main(['validate', 'job.yaml']); "
            "main(['--help']); print(sorted(m for m in ('optuna', 'docker', 'sqlalchemy') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.strip().splitlines()[-1] == "[]"
