"""Knobs reach real programs the way they take them: sqlite3 through a rendered SQL script,
PostgreSQL through -c flags and a rendered postgresql.conf, measured by pgbench."""

from __future__ import annotations

import json
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
