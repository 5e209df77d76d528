"""Real Docker trials through the CLI: networks, limits, failures, grids, results on disk."""

from __future__ import annotations

import json

import optuna
import pytest

pytestmark = pytest.mark.docker

# b serves a score computed from the parameters; score fetches it by b's name on the network.
TWO_CONTAINERS = """
name: {study}
objective: {{container: score, regex: 'total ([-0-9.]+)'}}
parameters:
  x: {{range: {{min: 1, max: 4}}}}
  ratio: {{range: {{min: 0.2, max: 0.6, step: 0.2}}}}
  mode: {{enum: [slow, fast]}}
spec:
  containers:
    b:
      image: {image}
      command: [sh, -c, 'mkdir -p /www && awk -v x=$X -v r=$RATIO -v m=$MODE "BEGIN {{ print \\"total\\", (x-3)*(x-3) + 10*(r-0.4)*(r-0.4) + (m == \\"fast\\" ? 0 : 1) }}" > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www']
      cpu: 0.5
      ram: 32m
    score:
      image: {image}
      command: [sh, -c, 'for i in $(seq 100); do wget -qO- http://b:8080/ && exit 0; sleep 0.05; done; exit 1']
      output: /out
  until: score
  timeout: 20s
"""


def trials_of(tmp_path, study):
    s = optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path}/tuner.db")
    return s.get_trials()


def test_grid_two_containers_finds_exact_optimum(busybox, write_job, run_cli, tmp_path, capsys,
                                                 leftovers):
    job = write_job(TWO_CONTAINERS.format(study="grid2", image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert best["params"] == {"x": 3, "ratio": 0.4, "mode": "fast"}
    assert best["value"] == pytest.approx(0.0)

    trials = trials_of(tmp_path, "grid2")
    points = [tuple(sorted(t.params.items())) for t in trials]
    assert len(points) == 4 * 3 * 2 == len(set(points)), "every grid point exactly once"
    assert all(t.state.name == "COMPLETE" for t in trials)
    leftovers("grid2")
    # Again: the grid is complete, nothing runs, and the output says why.
    assert run_cli("optimize", str(job), "--sampler", "grid") == 0
    assert "every grid point had already run" in capsys.readouterr().out
    assert len(trials_of(tmp_path, "grid2")) == 24

    # The trial's folder: a log per container, the merged log, score and parameters.
    d = tmp_path / "results" / "grid2" / str(best["number"])
    assert (d / "score.log").read_text().startswith("total ")
    assert "serving" in (d / "b.log").read_text()
    merged = (d / "merged.log").read_text().splitlines()
    assert merged[0].startswith("b     | serving") and any(m.startswith("score | total") for m in merged)
    assert float((d / "score.txt").read_text()) == pytest.approx(0.0)
    params = json.loads((d / "params.json").read_text())
    assert params["env"] == {"X": "3", "RATIO": "0.4", "MODE": "fast"}

    # Running the finished grid again runs nothing more.
    assert run_cli("optimize", str(job), "--sampler", "grid", "--json") == 0
    assert len(trials_of(tmp_path, "grid2")) == 24


def test_limits_visible_inside_container(busybox, write_job, run_cli, tmp_path, capsys):
    job = write_job(f"""
        name: limits
        objective: {{container: probe, regex: 'ok ([0-9]+)'}}
        parameters:
          n: {{enum: [1]}}
        spec:
          containers:
            probe:
              image: {busybox}
              command: [sh, -c, 'cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max 2>/dev/null; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; echo ok 1']
              cpu: 1.5
              ram: 48m
          timeout: 10s
    """)
    assert run_cli("optimize", str(job), "--n-trials", "1") == 0
    log = (tmp_path / "results" / "limits" / "0" / "probe.log").read_text().split()
    mem = str(48 * 1024 * 1024)
    if "max" in log or len(log) == 5:  # cgroup v2: "150000 100000", memory bytes
        assert log[:3] == ["150000", "100000", mem]
    else:  # cgroup v1: quota, period, memory limit
        assert log[:3] == ["150000", "100000", mem]


FAILURES = """
name: failures
objective: {{container: main, file: result.txt}}
parameters:
  kind: {{enum: [ok, crash, timeout, oom, noscore, badscore]}}
spec:
  containers:
    main:
      image: {image}
      command:
        - sh
        - -c
        - |
          echo "running $KIND"
          case $KIND in
            ok) echo 42 > /out/result.txt ;;
            crash) echo "cannot parse config" >&2; exit 3 ;;
            timeout) sleep 30 ;;
            oom) dd if=/dev/zero of=/dev/null bs=64M count=1 ;;
            noscore) echo nothing ;;
            badscore) echo fast > /out/result.txt ;;
          esac
      ram: 24m
      output: /out
  timeout: 3s
"""


def test_each_failure_kind_fails_only_its_trial(busybox, write_job, run_cli, tmp_path, capsys,
                                                leftovers):
    job = write_job(FAILURES.format(image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = {r["params"]["kind"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ok"]["state"] == "COMPLETE" and rows["ok"]["value"] == 42
    reasons = {k: r["reason"] for k, r in rows.items() if k != "ok"}
    assert all(rows[k]["state"] == "FAIL" for k in reasons)
    assert reasons["crash"] == "container main exited with code 3: cannot parse config"
    assert reasons["timeout"] == "killed after the 3s timeout (still running: main)"
    assert reasons["oom"] == "container main: out of memory (ram 24m)"
    assert reasons["noscore"] == "no score: result.txt was not written by container main"
    assert reasons["badscore"] == "no score: 'fast' in result.txt is not a number"
    # A failed trial keeps its logs.
    crash = rows["crash"]["number"]
    assert "cannot parse config" in (tmp_path / "results" / "failures" / str(crash) / "main.log").read_text()
    leftovers("failures")


def test_regex_without_match_names_log(busybox, write_job, run_cli, tmp_path, capsys):
    job = write_job(f"""
        name: nomatch
        objective: {{container: main, regex: 'total ([0-9.]+)s'}}
        parameters: {{n: {{enum: [1]}}}}
        spec:
          containers:
            main: {{image: {busybox}, command: [echo, done]}}
          timeout: 5s
    """)
    assert run_cli("optimize", str(job), "--n-trials", "1") == 0
    capsys.readouterr()
    run_cli("trials", "--json")
    (row,) = json.loads(capsys.readouterr().out)
    assert row["reason"] == "no score: regex 'total ([0-9.]+)s' matched nothing in main.log"


def test_parameters_reach_containers_only_as_env(busybox, write_job, run_cli, tmp_path, capsys):
    # A value with shell syntax arrives verbatim: nothing ever passes it through a shell.
    job = write_job(f"""
        name: envonly
        objective: {{container: main, regex: 'len ([0-9]+)'}}
        parameters:
          word: {{enum: ['$(touch /tmp/pwned); echo x']}}
        spec:
          containers:
            main: {{image: {busybox}, command: [sh, -c, 'printf "%s\\n" "$WORD"; echo len ${{#WORD}}; [ -e /tmp/pwned ] && echo PWNED || echo clean']}}
          timeout: 5s
    """)
    assert run_cli("optimize", str(job), "--n-trials", "1", "--json") == 0
    log = (tmp_path / "results" / "envonly" / "0" / "main.log").read_text()
    assert log.splitlines()[0] == "$(touch /tmp/pwned); echo x"
    assert log.splitlines()[1:] == ["len 27", "clean"]


def test_containers_are_unprivileged_and_labelled(busybox, write_job, run_cli, tmp_path,
                                                  docker_client):
    job = write_job(f"""
        name: safety
        objective: {{container: main, regex: '([0-9]+)'}}
        parameters: {{n: {{enum: [1]}}}}
        spec:
          containers:
            main: {{image: {busybox}, command: [sleep, '3']}}
          timeout: 10s
    """)
    import threading
    import time

    seen = {}

    def watch():
        deadline = time.time() + 8
        while time.time() < deadline and not seen:
            for c in docker_client.containers.list(filters={"label": "tuner.study=safety"}):
                seen.update(c.attrs)
            time.sleep(0.1)

    t = threading.Thread(target=watch)
    t.start()
    run_cli("optimize", str(job), "--n-trials", "1")
    t.join()
    assert seen, "the trial's container was never seen running"
    host = seen["HostConfig"]
    assert host["Privileged"] is False
    assert host["NetworkMode"] != "host"
    assert not any("docker.sock" in b for b in host.get("Binds") or [])
    labels = seen["Config"]["Labels"]
    assert labels["tuner.study"] == "safety" and labels["tuner.trial"] == "0"
    assert labels["tuner.container"] == "main"
