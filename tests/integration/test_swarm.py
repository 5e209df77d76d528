"""`tuner optimize --runner swarm` on a real swarm: a one-node swarm of a private dockerd (its
own socket, data root and network namespace; the machine's engine never joins a swarm), made
by the module's fixture and left at its end.

Each trial's containers run as swarm services on a per-trial overlay network; everything a
trial made is gone when it ends, fails, times out or is interrupted, and `tuner cleanup`
removes what a killed tuner left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import optuna
import pytest

from tests.conftest import need, wait_for
from tests.engines import EngineUnavailable, Swarm

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def swarm(busybox):
    host_bridge = Path("/sys/class/net/docker0").exists()
    s = Swarm(1, images=(busybox,))
    try:
        s.start()
    except EngineUnavailable as exc:
        need("a private swarm", str(exc))
    try:
        yield s
    finally:
        s.stop()
    assert not Path(s.root).exists()
    # The machine's own engine is left as it was: not in a swarm, its bridge in place.
    assert Path("/sys/class/net/docker0").exists() == host_bridge
    state = subprocess.run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
                           capture_output=True, text=True).stdout.strip()
    assert state == "inactive"


def nothing_left(s: Swarm) -> None:
    """No service, config or tuner network in the swarm; no container on its node."""
    m = s.manager
    assert m.docker("service", "ls", "-q").split() == []
    assert m.docker("config", "ls", "-q").split() == []
    assert m.docker("network", "ls", "-q", "--filter", "label=tuner=1").split() == []
    # A removed service's container goes a moment later, on its node.
    wait_for(lambda: not m.docker("ps", "-aq").split(), 10, "the node's containers removed")


def running(node, count: int) -> bool:
    """Whether `count` tasks run (the trial's services start one after the other)."""
    services = node.docker("service", "ls", "-q").split()
    return bool(services) and node.docker("service", "ps", "--format", "{{.CurrentState}}",
                                          *services).count("Running") >= count


def tuner(tmp_path: Path, s: Swarm, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "DOCKER_HOST": s.manager.host, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "tuner", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


GRID = """
name: swarmgrid
objective: {{container: client, regex: 'score ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 2}}}}
  mode: {{enum: [a, b]}}
spec:
  containers:
    server:
      image: {image}
      # Its answer comes from a rendered file (a swarm config) and the environment.
      command: [sh, -c, 'echo "score $(( $(cat /etc/srv/factor) * X ))$MODE" | nc -l -p 8000']
      files:
        /etc/srv/factor: {{content: "{{{{ x * 10 + 1 }}}}"}}
      cpu: 0.5
      ram: 64m
    client:
      image: {image}
      # Reached by its name on the trial's overlay network.
      command: [sh, -c, 'for i in $(seq 100); do nc server 8000 && exit 0; sleep 0.2; done; exit 9']
  until: client
  timeout: 60s
"""


def test_two_container_grid_on_a_one_node_swarm(swarm, busybox, tmp_path):
    """Every grid point once, each with its own score (x * (10x + 1), from env, a rendered
    file and a name resolved on the overlay network), and nothing left behind."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(GRID.format(image=busybox)))
    proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm",
                 "--sampler", "grid", "--json")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    trials = optuna.load_study(study_name="swarmgrid",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert sorted((t.params["x"], t.params["mode"]) for t in trials) == \
        [(x, m) for x in (1, 2) for m in ("a", "b")]
    for t in trials:
        assert t.state.name == "COMPLETE", t.user_attrs
        assert t.value == t.params["x"] * (10 * t.params["x"] + 1)
        folder = tmp_path / "results" / "swarmgrid" / str(t.number)
        assert f"score {int(t.value)}{t.params['mode']}" in (folder / "client.log").read_text()
        assert (folder / "files" / "server" / "etc" / "srv" / "factor").read_text() == \
            str(10 * t.params["x"] + 1)
        runs = json.loads((folder / "outcome.json").read_text())["runs"]
        exits = {r["container"]: (r["exit_code"], r["killed"]) for r in runs}
        assert exits["client"] == (0, False)
        # The server ends as the client closes; when `until: client` is quicker, it is killed.
        assert exits["server"] in ((0, False), (None, True))
    assert json.loads(out)["value"] == 11
    nothing_left(swarm)


FAULTS = """
name: swarmfaults
objective: {{container: main, file: score.txt}}
parameters:
  mode: {{enum: [ok, crash, hang, oom]}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'case $MODE in ok) cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; echo 7 > /out/score.txt;; crash) echo boom >&2; exit 3;; hang) sleep 300;; oom) x=$(head -c 200000000 /dev/zero | tr "\\0" a);; esac']
      output: /out
      cpu: 0.5
      ram: 32m
  timeout: 6s
"""


def test_failures_read_as_with_the_local_runner(swarm, busybox, tmp_path):
    """The limits, read back from the cgroup inside; exit code and stderr, the timeout, an OOM
    kill (seen on the manager's own node), and a score file through the output folder; each
    failure stays inside its trial."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(FAULTS.format(image=busybox)))
    proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm",
                 "--sampler", "grid")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    trials = optuna.load_study(study_name="swarmfaults",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    got = {t.params["mode"]: (t.state.name, t.value, t.user_attrs.get("fail_reason"))
           for t in trials}
    assert got == {
        "ok": ("COMPLETE", 7.0, None),
        "crash": ("FAIL", None, "container main exited with code 3: boom"),
        "hang": ("FAIL", None, "killed after the 6s timeout (still running: main)"),
        "oom": ("FAIL", None, "container main: out of memory (ram 32m)"),
    }
    ok = next(t for t in trials if t.params["mode"] == "ok")
    log = (tmp_path / "results" / "swarmfaults" / str(ok.number) / "main.log").read_text()
    assert "50000" in log.split() and str(32 * 2**20) in log.split()  # cpu 0.5, ram 32m
    rows = json.loads((tmp_path / "results" / "swarmfaults" / str(ok.number) /
                       "outcome.json").read_text())["runs"]
    # Times from the engine (a container this short may be stamped started after it ended).
    assert abs(rows[0]["ended_at"] - rows[0]["started_at"]) < 5
    # The manager's own node: its engine's stats are within reach.
    hang = next(t for t in trials if t.params["mode"] == "hang")
    rows = json.loads((tmp_path / "results" / "swarmfaults" / str(hang.number) /
                       "outcome.json").read_text())["runs"]
    assert rows[0]["killed"] and rows[0]["peak_memory_bytes"] > 0
    nothing_left(swarm)


def test_log_is_kept_as_printed(swarm, busybox, tmp_path):
    """A service's log, read from the swarm: '\\r' redraws, other separators, a line past the
    engine's 16 KiB pieces and no final '\\n', byte for byte; the score after a '\\r'."""
    from tests.integration.test_logs import PRINTED, PRINTS

    (tmp_path / "job.yaml").write_text(PRINTS.format(study="swarmlog", image=busybox))
    proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm", "--n-trials",
                 "1", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["value"] == 110864.74
    assert (tmp_path / "results" / "swarmlog" / "0" / "main.log").read_bytes() == PRINTED
    nothing_left(swarm)


def test_bad_options_exit_2(swarm, busybox, tmp_path):
    (tmp_path / "job.yaml").write_text(textwrap.dedent(FAULTS.format(image=busybox)))
    for args, said in (
            (["--parallel", "2"], "--parallel: 2 trials at once need 2 nodes (one trial per "
                                  "node); the swarm has 1 usable"),
            (["--node-label", "disk=ssd"], "--node-label: no ready, active swarm node has "
                                           "disk=ssd"),
            (["--node-label", "disk ssd"], "'disk ssd' is not KEY=VALUE")):
        proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm", *args)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, err
        assert said in err


def test_interrupt_and_a_killed_tuner_leave_nothing(swarm, busybox, tmp_path):
    """Ctrl-C mid-trial: its services, network and configs go, the trial is recorded as
    interrupted, exit 130. A tuner killed with SIGKILL leaves its trial's services, and
    `tuner cleanup` removes them."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(GRID.format(image=busybox)).replace(
        "nc -l -p 8000", "sleep 300"))
    manager = swarm.manager
    for sig in (signal.SIGINT, signal.SIGKILL):
        proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm",
                     "--n-trials", "1")
        try:
            wait_for(lambda: running(manager, 2), 60, "the trial's services running")
            sent = time.time()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        if sig == signal.SIGINT:
            assert time.time() - sent < 10, "Ctrl-C must stop within seconds"
            assert proc.returncode == 130, err
            assert "Traceback" not in err
            nothing_left(swarm)
            trial = optuna.load_study(study_name="swarmgrid",
                                      storage=f"sqlite:///{tmp_path}/tuner.db").trials[0]
            assert trial.user_attrs["fail_reason"] == "interrupted (Ctrl-C)"
        else:
            assert len(manager.docker("service", "ls", "-q").split()) == 2
            cleanup = tuner(tmp_path, swarm, "cleanup")
            out, err = cleanup.communicate(timeout=60)
            assert cleanup.returncode == 0, err
            # Two services, the rendered file's config, the trial's network.
            assert "4 swarm object(s)" in out, out
            for kind in ("service", "config", "network"):
                assert f"{kind} tuner-swarmgrid-1-" in out
            nothing_left(swarm)


NAP = """
name: swarmtwo
objective: {{container: main, regex: 'score ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 4}}}}
spec:
  containers:
    main: {{image: {image}, command: [sh, -c, 'sleep 2; echo score $X']}}
  timeout: 60s
"""


SLEEPS = """
name: {study}
objective: {{regex: 'score ([0-9.]+)'}}
parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
spec:
  containers:
    main: {{image: {image}, command: [sh, -c, 'sleep 4; echo score $X']}}
  timeout: 120s
"""


def swarm_ready(s: Swarm) -> bool:
    try:
        return s.manager.docker("node", "ls", "--format", "{{.Status}}").split() == ["Ready"]
    except subprocess.CalledProcessError:
        return False


@pytest.mark.parametrize("fault", ["terminate", "kill", "service rm"])
def test_manager_stopped_or_service_removed_mid_trial(swarm, busybox, tmp_path, fault):
    """The manager's engine stopped the usual way (SIGTERM: its socket goes) or crashed
    (SIGKILL) and started again 5 s later, or the trial's service removed by another tool:
    that trial fails saying so, tuner waits for the manager and its swarm, removes what is
    left, and the study goes on (exit 0)."""
    study = "swarm" + fault.replace(" ", "")
    (tmp_path / "job.yaml").write_text(textwrap.dedent(SLEEPS.format(study=study,
                                                                     image=busybox)))
    proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm",
                 "--n-trials", "2", "--seed", "1")
    try:
        wait_for(lambda: running(swarm.manager, 1), 60, "trial 0 running")
        time.sleep(1)
        if fault == "service rm":
            swarm.manager.docker("service", "rm", *swarm.manager.docker(
                "service", "ls", "-q", "--filter", f"label=tuner.study={study}").split())
        else:
            getattr(swarm.manager, fault)()
            time.sleep(5)
            swarm.manager.start()
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        wait_for(lambda: swarm_ready(swarm), 90, "the swarm back")
    assert proc.returncode == 0, err
    assert "internal error" not in err
    trials = optuna.load_study(study_name=study,
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    reason = trials[0].user_attrs["fail_reason"]
    if fault == "service rm":
        assert reason.startswith("container main was removed from outside the trial"), reason
    else:
        assert reason.startswith("the swarm manager's Docker engine stopped during the "
                                 "trial"), reason
        assert "answers again" in err
    nothing_left(swarm)


# Where the manager's engine stops: just before the runner's first call of this kind; and
# what that trial comes to.
SWARM_POINTS = {
    "before a trial": ("create_service", "runs"),  # nothing made yet: run it then
    "while reading logs": ("service_logs", "fails"),
    "during cleanup": ("remove_service", "runs"),  # removed before the next trial
}


@pytest.mark.parametrize("stop", ["kill", "terminate"])
@pytest.mark.parametrize("point", list(SWARM_POINTS))
def test_manager_stops_at_each_point(swarm, busybox, tmp_path, monkeypatch, point, stop):
    """The swarm runner meets a stopped manager wherever it is (mid-trial: the test above):
    the trial fails naming it, or runs once it is back; nothing is left; the next runs."""
    import threading

    from tuner.app import validate
    from tuner.errors import TrialFailed
    from tuner.runner import TrialContext
    from tuner.runner.swarm_pool import open_pool

    monkeypatch.setenv("DOCKER_HOST", swarm.manager.host)
    (tmp_path / "job.yaml").write_text(textwrap.dedent(SLEEPS.format(study="points",
                                                                     image=busybox)))
    job = validate(str(tmp_path / "job.yaml")).job
    method, expected = SWARM_POINTS[point]
    stopped = threading.Event()

    def run(pool, number: int):
        out = tmp_path / str(number)
        out.mkdir()
        return pool.run(TrialContext(study="points", number=number, env={"X": "3"},
                                     outdir=str(out), worker=pool.worker))

    pool, _ = open_pool(job, "points", 1, None)
    try:
        with pool:
            api = pool.runners[0]._api
            real = getattr(api, method)

            def faulty(*args, **kwargs):
                if not stopped.is_set():
                    getattr(swarm.manager, stop)()
                    stopped.set()
                    threading.Timer(2, swarm.manager.start).start()
                return real(*args, **kwargs)

            monkeypatch.setattr(api, method, faulty)
            if expected == "fails":
                with pytest.raises(TrialFailed) as failed:
                    run(pool, 0)
                assert failed.value.reason.startswith(
                    "the swarm manager's Docker engine stopped during the trial")
            else:
                assert run(pool, 0).containers["main"].exit_code == 0
            done = run(pool, 1)
            assert done.containers["main"].exit_code == 0 and not done.timed_out
    finally:
        wait_for(lambda: swarm_ready(swarm), 90, "the swarm back")
    assert stopped.is_set()
    nothing_left(swarm)


def test_a_failing_container_ends_a_swarm_trial(swarm, busybox, tmp_path):
    """A server that exits 1 at start while the `until` client waits: the trial ends at once
    with the server's reason, not at the 120 s timeout."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(f"""
        name: swarmrefused
        objective: {{container: bench, regex: 'score ([0-9.]+)'}}
        parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
        spec:
          containers:
            db: {{image: {busybox}, command: [sh, -c, 'echo "[ERROR] bad x=$X" >&2; exit 1']}}
            bench: {{image: {busybox}, command: [sh, -c, 'sleep 110; echo score 1']}}
          until: bench
          timeout: 120s
    """))
    started = time.monotonic()
    proc = tuner(tmp_path, swarm, "optimize", "job.yaml", "--runner", "swarm",
                 "--n-trials", "1", "--seed", "1")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 100
    trial, = optuna.load_study(study_name="swarmrefused",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert trial.user_attrs["fail_reason"] == \
        f"container db exited with code 1: [ERROR] bad x={trial.params['x']}"
    nothing_left(swarm)


def test_two_nodes_at_once_and_a_node_without_the_image(busybox, tmp_path):
    """Two nodes (two private engines in their own network namespaces, joined by a veth
    pair): the grid runs two trials at once, one per node, each point once. Then the worker
    loses the image, and a trial pinned to it by a node label fails saying so; then its
    engine dies mid-trial, and the trial fails saying the node is down."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(NAP.format(image=busybox)))
    s = Swarm(2, images=(busybox,))
    try:
        s.start()
    except EngineUnavailable as exc:
        need("a private swarm", str(exc))
    try:
        proc = tuner(tmp_path, s, "optimize", "job.yaml", "--runner", "swarm",
                     "--sampler", "grid")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        trials = optuna.load_study(study_name="swarmtwo",
                                   storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
        assert sorted(t.params["x"] for t in trials) == [1, 2, 3, 4]
        assert all(t.state.name == "COMPLETE" and t.value == t.params["x"] for t in trials)
        assert len({t.user_attrs["node"] for t in trials}) == 2
        spans = sorted((t.datetime_start, t.datetime_complete) for t in trials)
        assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), "no two trials overlapped"

        worker = s.nodes[1]
        worker_id = worker.docker("info", "--format", "{{.Swarm.NodeID}}").strip()
        s.manager.docker("node", "update", "--label-add", "role=w", worker_id)
        # The grid's task containers go a moment after their services; then the image can.
        wait_for(lambda: not worker.docker("ps", "-aq").split(), 15, "the worker's containers gone")
        worker.docker("rmi", busybox)
        proc = tuner(tmp_path, s, "optimize", "job.yaml", "--runner", "swarm",
                     "--study", "noimage", "--n-trials", "1", "--node-label", "role=w")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        trial = optuna.load_study(study_name="noimage",
                                  storage=f"sqlite:///{tmp_path}/tuner.db").trials[0]
        assert trial.state.name == "FAIL"
        reason = trial.user_attrs["fail_reason"]
        assert "container main could not start on node " in reason
        assert f"({worker_id[:12]}): it has no image '{busybox}' (sha256:" in reason
        nothing_left(s)
        assert not worker.docker("ps", "-aq").split()

        # The worker's engine dies mid-trial: the manager marks the node down, and the trial
        # fails saying so instead of waiting for its timeout.
        worker.load(busybox)
        (tmp_path / "long.yaml").write_text(textwrap.dedent(NAP.format(image=busybox)).replace(
            "sleep 2", "sleep 100").replace("timeout: 60s", "timeout: 90s"))
        proc = tuner(tmp_path, s, "optimize", "long.yaml", "--runner", "swarm",
                     "--study", "lost", "--n-trials", "1", "--node-label", "role=w")
        try:
            wait_for(lambda: running(s.manager, 1), 60, "the trial running on the worker")
            worker.kill()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        trial = optuna.load_study(study_name="lost",
                                  storage=f"sqlite:///{tmp_path}/tuner.db").trials[0]
        # The simulated nodes share this machine's hostname.
        assert trial.user_attrs["fail_reason"] == (
            f"node {socket.gethostname()} ({worker_id[:12]}) is down: the manager lost it "
            f"during the trial, with its containers")
        assert trial.datetime_complete - trial.datetime_start < timedelta(seconds=60)
        nothing_left(s)
    finally:
        s.stop()
