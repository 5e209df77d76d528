"""`tuner effect PARAM --measure`: real trials that vary only PARAM, added to the same study."""

from __future__ import annotations

import json

import optuna
import pytest

pytestmark = pytest.mark.docker

# score = (x - 3)^2, whatever y is; the default configuration is x=1, y=1.
JOB = """
name: sweep
objective: {{container: main, regex: 'score ([-0-9.]+)'}}
parameters:
  x: {{range: {{min: 1, max: 6}}, default: 1}}
  y: {{enum: [1, 2]}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'echo "score $(( (X - 3) * (X - 3) ))"']
  timeout: 10s
"""


def test_measure_sweeps_only_the_parameter_around_the_best(busybox, write_job, run_cli,
                                                          tmp_path, capsys):
    job = write_job(JOB.format(image=busybox))
    assert run_cli("optimize", str(job), "--n-trials", "1") == 0  # the default: x=1, y=1
    capsys.readouterr()
    assert run_cli("effect", "x", "--measure", "--steps", "3", "--json") == 0
    data = json.loads(capsys.readouterr().out)

    s = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path}/tuner.db")
    sweep = [t for t in s.get_trials() if t.user_attrs.get("sweep") == "x"]
    # The best (x=1) once more, then x a few steps above it; x=1 is the bottom of the range.
    assert [t.params for t in sweep] == [{"x": x, "y": 1} for x in (1, 2, 3, 4)]
    assert all(t.state.name == "COMPLETE" for t in sweep)
    assert [t.value for t in sweep] == [4.0, 1.0, 0.0, 1.0]
    assert all((tmp_path / "results" / "sweep" / str(t.number) / "main.log").exists()
               for t in sweep)

    # Measured now: around the new best (x=3) with the same y, raising x hurts, beyond noise
    # measured on the repeated default configuration.
    assert data["base"]["params"] == {"x": 3, "y": 1}
    assert data["neighbours"]["kind"] == "exact"
    assert data["verdict"]["answer"] == "hurts"
    assert "repeated configuration" in data["noise"]["source"]


def test_measure_refuses_an_unknown_parameter_before_running(busybox, write_job, run_cli,
                                                             tmp_path, capsys):
    job = write_job(JOB.format(image=busybox))
    assert run_cli("optimize", str(job), "--n-trials", "1") == 0
    capsys.readouterr()
    assert run_cli("effect", "w", "--measure") == 2
    assert "no parameter 'w'" in capsys.readouterr().err
    s = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path}/tuner.db")
    assert len(s.get_trials()) == 1
