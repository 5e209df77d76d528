"""Ctrl-C in the middle of a trial, then resuming the study: a real `tuner` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from tests.conftest import wait_for

pytestmark = pytest.mark.docker

JOB = """
name: sigint
objective: {{container: client, regex: 'total ([0-9]+)'}}
parameters:
  x: {{enum: [1, 2, 3]}}
spec:
  containers:
    server: {{image: {image}, command: [sh, -c, 'exec httpd -f -p 8080 -h /']}}
    client:
      image: {image}
      command: [sh, -c, 'if [ $X = 2 ]; then sleep ${{NAP:-60}}; fi; echo total $X']
  until: client
  timeout: 90s
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_mid_trial_then_resume(sig, busybox, tmp_path, docker_client, leftovers):
    """Ctrl-C, or a SIGTERM from a supervisor (systemd, Kubernetes, kill): the same."""
    job = tmp_path / "job.yaml"
    job.write_text(textwrap.dedent(JOB.format(image=busybox)))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NAP", None)
    cmd = [sys.executable, "-m", "tuner", "optimize", str(job), "--sampler", "grid"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # Trial 1 (x=2) sleeps: interrupt it while its containers run.
        wait_for(lambda: docker_client.containers.list(
            filters={"label": ["tuner.study=sigint", "tuner.trial=1"]}), 60)
        interrupted = time.time()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.time() - interrupted < 10, "Ctrl-C must stop within seconds"
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    leftovers("sigint")

    storage = f"sqlite:///{tmp_path}/tuner.db"
    trials = optuna.load_study(study_name="sigint", storage=storage).get_trials()
    states = {t.number: t.state.name for t in trials}
    assert states[0] == "COMPLETE" and states[1] == "FAIL"
    assert "RUNNING" not in states.values()
    assert trials[1].user_attrs["fail_reason"].startswith("interrupted")

    # Resume: the interrupted point and the one never started are run; nothing twice.
    env["NAP"] = "0"
    done = subprocess.run(cmd + ["--json"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    trials = optuna.load_study(study_name="sigint", storage=storage).get_trials()
    complete = sorted(t.params["x"] for t in trials if t.state.name == "COMPLETE")
    assert complete == [1, 2, 3]
    assert len(trials) == 4
    leftovers("sigint")
