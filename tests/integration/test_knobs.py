"""Knobs reach real programs the way they take them: sqlite3 through a rendered SQL script,
PostgreSQL through -c flags and a rendered postgresql.conf, measured by pgbench."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.docker


def test_sqlite_off_reaches_sqlite3_as_off_and_the_script_is_kept(sqlite_image, run_cli,
                                                                   tmp_path, capsys, leftovers):
    shutil.copytree(ROOT / "jobs" / "sqlite", tmp_path / "sqlite")
    job = (ROOT / "jobs" / "sqlite.yaml").read_text()
    job = job.replace("default: delete", "default: off").replace("name: sqlite", "name: sq")
    (tmp_path / "sqlite.yaml").write_text(job)
    assert run_cli("optimize", "sqlite.yaml", "--n-trials", "2", "--seed", "3") == 0
    capsys.readouterr()

    trial = tmp_path / "results" / "sq" / "0"
    script = (trial / "files" / "sqlite" / "etc" / "bench.sql").read_text()
    assert "PRAGMA journal_mode = off;" in script and "PRAGMA synchronous = full;" in script
    assert "PRAGMA cache_size = -2048;" in script
    # sqlite3 answers a PRAGMA with the mode now in effect: `off` took effect.
    log = (trial / "sqlite.log").read_text().splitlines()
    assert log[log.index("journal_mode in effect:") + 1] == "off"
    assert json.loads((trial / "params.json").read_text())["env"]["JOURNAL"] == "off"

    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["params"]["journal"] == "off" and rows[0]["state"] == "COMPLETE"
    assert all(isinstance(r["params"]["cacheSize"], int) for r in rows)
    leftovers("sq")


def test_a_real_postgresql_trial(postgres_image, run_cli, tmp_path, capsys, monkeypatch,
                                 leftovers):
    """jobs/postgres.yaml as shipped, shortened: knobs through -c flags and a rendered
    postgresql.conf reach the server (pg_settings says so), pgbench's tps is the score."""
    shutil.copytree(ROOT / "jobs" / "postgres", tmp_path / "postgres")
    job = (ROOT / "jobs" / "postgres.yaml").read_text().replace("name: postgres", "name: pgt")
    job = job.replace("synchronousCommit: {enum: [on, off, local], default: on}",
                      "synchronousCommit: {enum: [on, off, local], default: off}")
    (tmp_path / "postgres.yaml").write_text(job)
    monkeypatch.setenv("PGBENCH_SECONDS", "2")
    monkeypatch.setenv("PGBENCH_SCALE", "1")
    assert run_cli("optimize", "postgres.yaml", "--n-trials", "1", "--workload", "clients=8",
                   "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert best["value"] > 50  # transactions per second
    assert best["params"]["synchronousCommit"] == "off" and best["params"]["walBuffers"] == -1

    trial = tmp_path / "results" / "pgt" / "0"
    conf = (trial / "files" / "db" / "etc" / "tuner" / "postgresql.conf").read_text()
    assert "shared_buffers = 128MB\n" in conf and "work_mem = 4096kB\n" in conf
    log = (trial / "bench.log").read_text()
    assert "  shared_buffers = 128MB [configuration file]" in log
    assert "  max_wal_size = 1GB [configuration file]" in log
    assert "  synchronous_commit = off [command line]" in log
    assert "number of clients: 8" in log
    assert float(re.search(r"tps = ([0-9.]+) \(without", log).group(1)) == best["value"]
    leftovers("pgt")


OMIT = """
name: omitted
objective: {{container: main, regex: '([0-9]+)\\s*$'}}
parameters:
  mode: {{enum: [pad, plain]}}
spec:
  containers:
    main:
      image: {image}
      # busybox seq reads an empty word as 0 ("seq '' 8 10" prints 0 and 8): left out instead.
      command: [seq, "{{{{ '-w' if mode == 'pad' else omit }}}}", "8", "10"]
"""


def test_omit_leaves_a_flag_out_of_a_real_program(busybox, write_job, run_cli, tmp_path,
                                                  capsys, leftovers):
    job = write_job(OMIT.format(image=busybox))
    assert run_cli("validate", str(job)) == 0
    assert "main: seq -w 8 10" in capsys.readouterr().out  # the default, mode=pad
    assert run_cli("optimize", str(job), "--sampler", "grid") == 0
    capsys.readouterr()
    for number, printed in ((0, "08\n09\n10\n"), (1, "8\n9\n10\n")):
        folder = tmp_path / "results" / "omitted" / str(number)
        assert (folder / "main.log").read_text() == printed
        env = json.loads((folder / "params.json").read_text())["env"]
        assert env["MODE"] == ("pad", "plain")[number]
    leftovers("omitted")
