"""Several workers on one study, dead workers, dropped connections, the tuner_ tables.

Real processes, real Docker, real SQLite, MariaDB and PostgreSQL (see the storage_url fixture).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import optuna
import pytest
import sqlalchemy

pytestmark = pytest.mark.docker

GRID = """
name: {study}
objective: {{container: client, regex: 'total ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 4}}}}
  y: {{enum: [a, b, c]}}
spec:
  containers:
    server: {{image: {image}, command: [sh, -c, 'exec httpd -f -p 8080 -h /']}}
    client:
      image: {image}
      command: [sh, -c, 'sleep {nap}; echo total $X']
  until: client
  timeout: 60s
"""


def start(tmp_path, storage, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "tuner", "optimize", "job.yaml", "--storage", storage,
         "--results", str(tmp_path / "results"), *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})})


def finish(proc, timeout=180):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def write(tmp_path, study, image, nap="0.5"):
    (tmp_path / "job.yaml").write_text(textwrap.dedent(GRID.format(study=study, image=image,
                                                                   nap=nap)))


def test_two_workers_share_a_grid_exactly_once(busybox, tmp_path, storage_url, leftovers, sql):
    write(tmp_path, "shared", busybox)
    workers = [start(tmp_path, storage_url, "--sampler", "grid") for _ in range(2)]
    for w in workers:
        finish(w)
    study = optuna.load_study(study_name="shared", storage=storage_url)
    trials = study.get_trials()
    points = Counter((t.params["x"], t.params["y"]) for t in trials)
    assert len(trials) == 12 and set(points.values()) == {1}, points
    assert all(t.state.name == "COMPLETE" for t in trials)
    # Both workers did some of the work (each container is labelled with its worker).
    rows = sql(storage_url, "SELECT trial_id, container, exit_code, killed, started_at, "
                            "ended_at, seconds, log_bytes, log_path, log_tail FROM tuner_runs")
    # Every container of every trial has its row: the client exited 0, the server was killed.
    assert len(rows) == 24
    by_container = Counter(r.container for r in rows)
    assert by_container == {"client": 12, "server": 12}
    for r in rows:
        if r.container == "client":
            assert r.exit_code == 0 and not r.killed and "total" in r.log_tail
            assert 0.4 < r.seconds < 5, r.seconds  # sub-second precision: it slept 0.5 s
        else:
            assert r.killed and r.exit_code is None
        assert r.ended_at >= r.started_at and os.path.exists(r.log_path)
    leftovers("shared")


def wait_for_running(docker_client, study, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = docker_client.containers.list(filters={"label": f"tuner.study={study}"})
        if len(found) == 2:
            return found
        time.sleep(0.1)
    raise AssertionError("the trial's containers never ran")


def test_killed_worker_trial_recovered(busybox, tmp_path, storage_url, docker_client, leftovers):
    fast = {"TUNER_HEARTBEAT_INTERVAL": "1", "TUNER_HEARTBEAT_GRACE": "3"}
    write(tmp_path, "killed", busybox, nap="30")
    victim = start(tmp_path, storage_url, "--n-trials", "1", "--seed", "1", env=fast)
    try:
        wait_for_running(docker_client, "killed")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    # The dead worker's containers run on, and its trial looks RUNNING.
    assert len(docker_client.containers.list(filters={"label": "tuner.study=killed"})) == 2
    study = optuna.load_study(study_name="killed", storage=storage_url)
    (stale,) = study.get_trials()
    assert stale.state.name == "RUNNING"

    time.sleep(4)  # past the grace period: no heartbeat from the dead worker
    write(tmp_path, "killed", busybox, nap="0")
    finish(start(tmp_path, storage_url, "--n-trials", "1", env=fast))
    trials = optuna.load_study(study_name="killed", storage=storage_url).get_trials()
    assert trials[0].state.name == "FAIL"
    assert trials[1].state.name == "COMPLETE" and trials[1].params == stale.params
    assert trials[1].system_attrs["failed_trial"] == 0
    leftovers("killed")  # the next run removed the dead worker's containers

    out = subprocess.run([sys.executable, "-m", "tuner", "trials", "--json", "--storage",
                          storage_url], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "worker stopped sending heartbeats" in out.stdout and "retried as trial 1" in out.stdout


# The worker's idle connections (a second or more), and how to kill one, per server.
IDLE = {
    "mysql": ("SELECT id FROM information_schema.processlist WHERE db = DATABASE() "
              "AND id <> CONNECTION_ID() AND command = 'Sleep' AND time >= 1",
              "KILL CONNECTION {}"),
    "postgresql": ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND state = 'idle' "
                   "AND state_change < now() - interval '1 second'",
                   "SELECT pg_terminate_backend({})"),
}


@pytest.fixture(params=["mysql", "postgres"])
def server_url(request):
    """A fresh database on each shared server: MariaDB, PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


def test_connection_dropped_between_trials(busybox, tmp_path, server_url):
    # Connections idle for a second or more sit in the worker's pool between trials;
    # the server (or a proxy, or a timeout) drops them, and the next trial must not care.
    write(tmp_path, "dropped", busybox, nap="2")
    worker = start(tmp_path, server_url, "--n-trials", "4", "--seed", "1")
    engine = sqlalchemy.create_engine(server_url)
    find, kill = IDLE[engine.dialect.name]
    killed = 0
    try:
        deadline = time.time() + 60
        while worker.poll() is None and time.time() < deadline and killed < 6:
            time.sleep(1.0)
            with engine.connect() as conn:
                for i in conn.execute(sqlalchemy.text(find)).scalars().all():
                    conn.execute(sqlalchemy.text(kill.format(int(i))))
                    killed += 1
    finally:
        engine.dispose()
    finish(worker)
    assert killed > 0, "no idle connection of the worker was seen to kill"
    trials = optuna.load_study(study_name="dropped", storage=server_url).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4


def test_optuna_reads_the_study_and_delete_cascades(busybox, tmp_path, storage_url, sql):
    write(tmp_path, "readable", busybox, nap="0")
    finish(start(tmp_path, storage_url, "--n-trials", "2"))
    optuna_cli = os.path.join(os.path.dirname(sys.executable), "optuna")
    out = subprocess.run([optuna_cli, "studies", "--storage", storage_url, "-f", "json"],
                         capture_output=True, text=True, check=True).stdout
    assert '"readable"' in out
    out = subprocess.run([optuna_cli, "trials", "--storage", storage_url, "--study-name",
                          "readable", "-f", "json"], capture_output=True, text=True,
                         check=True).stdout
    assert out.count('"COMPLETE"') == 2
    # Optuna's delete-study still works beside the tuner_ tables, and takes their rows along.
    optuna.delete_study(study_name="readable", storage=storage_url)
    if storage_url.startswith("sqlite"):
        # Optuna's SQLite connections don't enforce foreign keys: tuner drops the orphaned
        # rows the next time it opens the database to run trials (before a trial id can be
        # reused); reading commands write nothing.
        from tuner.storage import open_storage
        from tuner.storage.tables import ensure_tables

        subprocess.run([sys.executable, "-m", "tuner", "studies", "--storage", storage_url],
                       check=True, capture_output=True)
        assert sql(storage_url, "SELECT COUNT(*) FROM tuner_runs")[0][0] > 0
        ensure_tables(open_storage(storage_url).engine)  # what `tuner optimize` does first
    assert sql(storage_url, "SELECT COUNT(*) FROM tuner_runs")[0][0] == 0


def test_optuna_dashboard_reads_the_study(busybox, tmp_path, storage_url):
    """optuna-dashboard's own server, on the same database the workers wrote."""
    import json
    import socket
    import urllib.request

    write(tmp_path, "browsed", busybox, nap="0")
    finish(start(tmp_path, storage_url, "--n-trials", "2"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dashboard = os.path.join(os.path.dirname(sys.executable), "optuna-dashboard")
    proc = subprocess.Popen([dashboard, storage_url, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, studies = time.time() + 30, None
        while studies is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as r:
                    studies = json.load(r)["study_summaries"]
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.3)
        assert studies is not None, "optuna-dashboard did not answer"
        (only,) = studies
        assert only["study_name"] == "browsed"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{only['study_id']}",
                                    timeout=5) as r:
            detail = json.load(r)
        assert [t["state"] for t in detail["trials"]] == ["Complete", "Complete"]
    finally:
        proc.terminate()
        proc.wait(10)
