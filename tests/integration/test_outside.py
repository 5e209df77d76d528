"""Tried from outside, on the machine's engine: a trial's container removed by another tool
(`docker rm -f`) while it runs or while its logs are read, and a container that fails while
the trial's `until` container still runs. Each fails its trial with a reason; the study goes
on. Only this test's own containers are touched (found by their study label)."""

from __future__ import annotations

import subprocess
import textwrap
import threading
import time

import docker
import optuna
import pytest

pytestmark = pytest.mark.docker


def remove_from_outside(study: str, container: str) -> None:
    """`docker rm -f` of the study's container, as another tool on the engine would."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=tuner.study={study}",
                          "--filter", f"label=tuner.container={container}"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert ids, f"no container {container} of study {study}"
    subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)


# (removed container, the runner's call it is removed at, after how long in a thread)
WHEN = {
    "while it runs": ("main", "wait", 1.0),
    "while its logs are read": ("main", "logs", None),
    "a container beside until, while it runs": ("server", "wait", 1.0),
}


@pytest.mark.parametrize("when", list(WHEN))
def test_container_removed_from_outside(busybox, tmp_path, run_cli, monkeypatch, leftovers,
                                        when):
    container, method, delay = WHEN[when]
    study = f"outside{list(WHEN).index(when)}"
    (tmp_path / "job.yaml").write_text(textwrap.dedent(f"""
        name: {study}
        objective: {{container: main, regex: 'score ([0-9.]+)'}}
        parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
        spec:
          containers:
            server: {{image: {busybox}, command: [sleep, '60']}}
            main: {{image: {busybox}, command: [sh, -c, 'sleep 3; echo score $X']}}
          until: main
          timeout: 60s
    """))
    real = getattr(docker.APIClient, method)
    armed = threading.Event()

    def faulty(self, *args, **kwargs):
        if not armed.is_set():
            armed.set()
            if delay is None:
                remove_from_outside(study, container)
            else:
                threading.Timer(delay, remove_from_outside, (study, container)).start()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(docker.APIClient, method, faulty)
    assert run_cli("optimize", "job.yaml", "--n-trials", "2", "--seed", "1") == 0
    trials = optuna.load_study(study_name=study,
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert trials[0].user_attrs["fail_reason"] == (
        f"container {container} was removed from outside the trial (docker rm or another "
        f"tool on the same engine)")
    leftovers(study)


def test_container_removed_from_outside_in_a_real_process(busybox, tmp_path, leftovers):
    """The same from a `tuner` process of its own: nothing patched, the container removed
    as soon as it runs."""
    import sys

    (tmp_path / "job.yaml").write_text(textwrap.dedent(f"""
        name: outsider
        objective: {{regex: 'score ([0-9.]+)'}}
        parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
        spec:
          containers:
            main: {{image: {busybox}, command: [sh, -c, 'sleep 3; echo score $X']}}
          timeout: 60s
    """))
    proc = subprocess.Popen([sys.executable, "-m", "tuner", "optimize", "job.yaml",
                             "--n-trials", "2", "--seed", "1"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client = docker.from_env()
        deadline = time.monotonic() + 60
        while not client.containers.list(filters={"label": "tuner.study=outsider"}):
            assert time.monotonic() < deadline and proc.poll() is None, "trial 0 never ran"
            time.sleep(0.1)
        remove_from_outside("outsider", "main")
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "internal error" not in err
    trials = optuna.load_study(study_name="outsider",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert "container main was removed from outside the trial" in \
        trials[0].user_attrs["fail_reason"]
    leftovers("outsider")


REFUSED = """
name: {study}
objective: {{container: bench, regex: 'score ([0-9.]+)'}}
parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
spec:
  containers:
    db:
      image: {image}
      command: [sh, -c, 'echo "[ERROR] unknown variable x=$X" >&2; exit 1']
      may_fail: {may_fail}
    bench: {{image: {image}, command: [sh, -c, '{bench}']}}
  until: bench
  timeout: 120s
"""


def test_a_failing_container_ends_its_trial_at_once(busybox, tmp_path, run_cli, leftovers):
    """A server that refuses its configuration (exits 1 at start) while its client, the
    `until` container, waits for it: the trial fails at once with the server's reason, not
    after the 120 s timeout."""
    (tmp_path / "job.yaml").write_text(REFUSED.format(
        study="refused", image=busybox, may_fail="false", bench="sleep 110; echo score 1"))
    started = time.monotonic()
    assert run_cli("optimize", "job.yaml", "--n-trials", "2", "--seed", "1") == 0
    assert time.monotonic() - started < 100  # two trials of the full timeout would be 240 s
    trials = optuna.load_study(study_name="refused",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    for t in trials:
        assert t.user_attrs["fail_reason"] == (
            f"container db exited with code 1: [ERROR] unknown variable x={t.params['x']}")
    leftovers("refused")


def test_may_fail_container_neither_ends_nor_fails_the_trial(busybox, tmp_path, run_cli,
                                                               leftovers):
    (tmp_path / "job.yaml").write_text(REFUSED.format(
        study="mayfail", image=busybox, may_fail="true", bench="sleep 2; echo score $X"))
    assert run_cli("optimize", "job.yaml", "--n-trials", "1", "--seed", "1") == 0
    trial, = optuna.load_study(study_name="mayfail",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert trial.state.name == "COMPLETE" and trial.value == trial.params["x"]
    leftovers("mayfail")
