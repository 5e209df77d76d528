"""The fault matrix: a long study survives its infrastructure. Each fault is real, and each
runs on an instance of its own, so the rest of the suite never feels it: a private MariaDB and
a private PostgreSQL in turn (own data directory, socket and port; tests/databases.py) that the
test stops and starts, a private dockerd (own socket, data root, exec root and pid file) that
the test kills and starts, a tmpfs that fills.

The faults rows not here are tested where their subject is: container crash, timeout, OOM,
no score and an unparsable score in test_trials.py; SIGINT and SIGTERM in test_interrupt.py;
a SIGKILLed worker and dropped idle connections in test_workers.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from tests.conftest import need, wait_for
from tests.databases import PrivateMariaDB, PrivatePostgres
from tests.engines import PrivateDockerd

pytestmark = pytest.mark.docker


@pytest.fixture(params=["mariadb", "postgres"])
def database(request):
    """A database server of the test's own, each kind in turn: the faults are its own."""
    kind = {"mariadb": PrivateMariaDB, "postgres": PrivatePostgres}[request.param]
    root = Path(tempfile.mkdtemp(prefix=f"tuner-{request.param}-"))
    db = kind(root)
    try:
        db.install()
        db.start()
        yield db
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_dockerd(busybox):
    if os.geteuid() != 0:
        need("a private dockerd", "needs root")
    if shutil.which("unshare") is None:
        need("unshare", "apt-get install util-linux")
    root = Path(tempfile.mkdtemp(prefix="tdk-", dir="/tmp"))  # short: socket paths
    d = PrivateDockerd(root)
    host_bridge = Path("/sys/class/net/docker0").exists()
    try:
        d.start()
        # The test image, carried over from the main engine (no registry).
        save = subprocess.Popen(["docker", "save", busybox], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", d.host, "load", "-q"], stdin=save.stdout, check=True,
                       capture_output=True)
        save.wait(60)
        yield d
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)
    # The machine's own engine is left as it was.
    assert Path("/sys/class/net/docker0").exists() == host_bridge
    assert subprocess.run(["docker", "run", "--rm", "--network", "bridge", busybox, "true"],
                          capture_output=True).returncode == 0


@pytest.fixture
def engine(private_dockerd):
    """The module's private engine, running again after a test that stopped it."""
    yield private_dockerd
    if private_dockerd.proc is None:
        private_dockerd.start()


JOB = """
name: {study}
objective: {{regex: 'score ([0-9.]+)'}}
parameters:
  x: {{range: {{min: 1, max: 9}}}}
spec:
  containers:
    main: {{image: {image}, command: [sh, -c, 'sleep {nap}; echo score $X']}}
  timeout: 120s
"""


def start_tuner(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.Popen([sys.executable, "-m", "tuner", "optimize", "job.yaml", *args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def write_job(tmp_path: Path, study: str, image: str, nap: float) -> None:
    (tmp_path / "job.yaml").write_text(textwrap.dedent(JOB.format(study=study, image=image,
                                                                  nap=nap)))


def with_fault(proc, containers, fault) -> str:
    """Once the trial's containers run, `fault()`; then the tuner's stderr (killed if the
    test fails on the way)."""
    try:
        wait_for(containers, 60, "trial 0 running")
        fault()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def running_trial(url: str, study: str):
    def find():
        try:
            s = optuna.load_study(study_name=study, storage=url)
        except Exception:  # noqa: BLE001 - not created yet
            return None
        return [t for t in s.get_trials() if t.state.name == "RUNNING"] or None
    return find


def test_database_restart_mid_trial(busybox, database, tmp_path, docker_client, leftovers):
    """The database server stops for 6 s while a trial runs and finishes: the study waits, then records
    the trial, and goes on; nothing is left RUNNING and nothing is lost."""
    write_job(tmp_path, "dbrestart", busybox, nap=3)
    proc = start_tuner(tmp_path, "--storage", database.url, "--n-trials", "2", "--seed", "1")

    def restart() -> None:
        database.stop()
        time.sleep(6)  # the trial's container finishes while the database is away
        database.start()

    err = with_fault(proc, lambda: docker_client.containers.list(
        filters={"label": "tuner.study=dbrestart"}), restart)
    assert proc.returncode == 0, err
    assert "the study database stopped answering" in err and "answers again" in err
    assert "internal error" not in err
    trials = optuna.load_study(study_name="dbrestart", storage=database.url).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    leftovers("dbrestart")


def test_database_connections_killed_mid_trial(busybox, database, tmp_path, docker_client):
    """Every connection of the worker is killed while its trial runs (a proxy, a failover)."""
    write_job(tmp_path, "dbkill", busybox, nap=2)
    proc = start_tuner(tmp_path, "--storage", database.url, "--n-trials", "3", "--seed", "1")
    killed = 0
    try:
        while proc.poll() is None and killed < 12:
            if docker_client.containers.list(filters={"label": "tuner.study=dbkill"}):
                killed += database.kill_connections()
            time.sleep(0.7)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed > 0
    assert proc.returncode == 0, err
    assert "internal error" not in err
    trials = optuna.load_study(study_name="dbkill", storage=database.url).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3


def test_database_gone_past_the_limit(busybox, database, tmp_path, docker_client, leftovers):
    """The database does not come back in time: exit 1 with a clear message, no traceback,
    the trial's containers removed; the trial's outcome is kept in its folder, and the next
    run records it."""
    write_job(tmp_path, "dbgone", busybox, nap=1)
    proc = start_tuner(tmp_path, "--storage", database.url, "--n-trials", "2", "--seed", "1",
                       env={"TUNER_DB_WAIT": "4"})
    err = with_fault(proc, lambda: docker_client.containers.list(
        filters={"label": "tuner.study=dbgone"}), database.stop)
    assert proc.returncode == 1, err
    assert "the study database did not answer for 4s" in err
    assert "fix: start the database again and run the same command" in err
    assert "internal error" not in err and "Traceback" not in err
    leftovers("dbgone")
    assert '"value": 1' in (tmp_path / "results" / "dbgone" / "0" / "outcome.json").read_text()

    database.start()
    proc = start_tuner(tmp_path, "--storage", database.url, "--n-trials", "1", "--seed", "1")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "recorded trial(s) 0 from their results folders" in err
    trials = optuna.load_study(study_name="dbgone", storage=database.url).get_trials()
    assert [(t.state.name, t.value) for t in trials][0] == ("COMPLETE", 1.0)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert trials[0].user_attrs["samples"] == {"-": [1.0]}


@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_engine_restart_mid_trial(engine, tmp_path, stop):
    """The engine crashes (SIGKILL) or is stopped the usual way (SIGTERM, as `systemctl
    restart docker` does: its socket file goes) mid-trial and is started again 5 s later:
    that trial fails saying so, tuner waits for the engine, clears what was left, and the
    study goes on."""
    import docker

    study = f"engine-{stop}"
    write_job(tmp_path, study, "tuner-test/busybox:1", nap=4)
    env = {"DOCKER_HOST": engine.host}
    client = docker.DockerClient(base_url=engine.host)
    proc = start_tuner(tmp_path, "--n-trials", "2", "--seed", "1", env=env)

    def fault() -> None:
        time.sleep(1)
        getattr(engine, stop)()
        time.sleep(5)
        engine.start()

    err = with_fault(proc, lambda: client.containers.list(
        filters={"label": f"tuner.study={study}"}), fault)
    assert proc.returncode == 0, err
    assert "the Docker engine stopped answering" in err and "answers again" in err
    assert "internal error" not in err
    trials = optuna.load_study(study_name=study,
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert trials[0].user_attrs["fail_reason"].startswith(
        "the Docker engine stopped during the trial")
    client = docker.DockerClient(base_url=engine.host)
    assert not client.containers.list(all=True, filters={"label": f"tuner.study={study}"})


# Where the engine stops: just before the runner's first call of this kind (after `delay`
# seconds of it, in a thread, for a call that blocks), and what the trial comes to.
POINTS = {
    "before a trial": ("create_container", None, "runs"),  # nothing made yet: run it then
    "mid-trial": ("wait", 1.0, "fails"),
    "while reading logs": ("logs", None, "fails"),
    "during cleanup": ("remove_container", None, "runs"),  # removed before the next trial
}

TWO = """
name: points
objective: {regex: 'score ([0-9.]+)'}
parameters: {x: {range: {min: 1, max: 9}}}
spec:
  containers:
    server: {image: tuner-test/busybox:1, command: [sleep, '60']}
    main: {image: tuner-test/busybox:1, command: [sh, -c, 'sleep 2; echo score $X']}
  until: main
  timeout: 60s
"""


@pytest.mark.parametrize("stop", ["kill", "terminate"])
@pytest.mark.parametrize("point", list(POINTS))
def test_engine_stops_at_each_point(engine, tmp_path, monkeypatch, point, stop):
    """The local runner meets a stopped engine wherever it is: the trial fails naming the
    engine (or, when nothing of it was made yet, runs once the engine is back), tuner waits,
    removes what is left, and the next trial runs."""
    import threading

    import docker

    from tuner.app import validate
    from tuner.errors import TrialFailed
    from tuner.runner import TrialContext
    from tuner.runner.docker import DockerRunner

    monkeypatch.setenv("DOCKER_HOST", engine.host)
    (tmp_path / "job.yaml").write_text(TWO)
    job = validate(str(tmp_path / "job.yaml")).job
    method, delay, expected = POINTS[point]
    stopped = threading.Event()

    def fault() -> None:
        getattr(engine, stop)()
        stopped.set()
        threading.Timer(2, engine.start).start()

    def run(runner, number: int):
        out = tmp_path / str(number)
        out.mkdir()
        return runner.run(TrialContext(study="points", number=number, env={"X": "3"},
                                       outdir=str(out), worker=runner.worker))

    with DockerRunner(job, "points", sample_stats=False) as runner:
        real = getattr(runner._api, method)

        def faulty(*args, **kwargs):
            if not stopped.is_set() and not getattr(faulty, "armed", False):
                faulty.armed = True
                if delay is None:
                    fault()
                else:
                    threading.Timer(delay, fault).start()
            return real(*args, **kwargs)

        monkeypatch.setattr(runner._api, method, faulty)
        if expected == "fails":
            with pytest.raises(TrialFailed) as failed:
                run(runner, 0)
            assert failed.value.reason.startswith("the Docker engine stopped during the trial")
        else:
            assert run(runner, 0).containers["main"].exit_code == 0
        wait_for(stopped.is_set, 30, "the engine stopped")
        done = run(runner, 1)
        assert done.containers["main"].exit_code == 0 and not done.timed_out
    client = docker.DockerClient(base_url=engine.host)
    assert not client.containers.list(all=True, filters={"label": "tuner.study=points"})


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        need("a tmpfs mount", "needs root")
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_disk_full(busybox, small_disk, tmp_path, leftovers):
    """The results disk fills during a trial: the trial fails saying so, the study stops with
    exit 1 and a fix, and the database is left consistent (nothing RUNNING)."""
    (tmp_path / "job.yaml").write_text(textwrap.dedent(f"""
        name: full
        objective: {{regex: 'score ([0-9.]+)'}}
        parameters: {{x: {{range: {{min: 1, max: 9}}}}}}
        spec:
          containers:
            main: {{image: {busybox}, command: [sh, -c, 'yes 0123456789abcdef | head -c 1000000; echo; echo score 1']}}
    """))
    results = small_disk / "results"
    proc = start_tuner(tmp_path, "--n-trials", "3", "--results", str(results))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert f"no space left on the results disk ({results})" in err
    assert "fix: free space there, or pass --results DIR on another disk" in err
    assert "internal error" not in err and "Traceback" not in err
    trials = optuna.load_study(study_name="full",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL"]
    assert trials[0].user_attrs["fail_reason"] == f"no space left on the results disk ({results})"
    leftovers("full")


def test_results_folder_read_only(busybox, tmp_path, leftovers):
    """A results folder that cannot be written (here a read-only mount): a clear error and
    exit 1 before anything is lost, never an internal error."""
    if os.geteuid() != 0:
        need("a tmpfs mount", "needs root")
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], check=True)
    try:
        write_job(tmp_path, "readonly", busybox, nap=0)
        proc = start_tuner(tmp_path, "--n-trials", "2", "--results", str(ro / "results"))
        out, err = proc.communicate(timeout=120)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    assert proc.returncode == 1, err
    assert f"cannot write the results folder {ro / 'results'}: Read-only file system" in err
    assert "internal error" not in err and "Traceback" not in err
    trials = optuna.load_study(study_name="readonly",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert [t.state.name for t in trials] == ["FAIL"]
    leftovers("readonly")
