"""The seed's query in SQL: `select * from results_<study> order by score limit 1` answers
the best combination, with values as written, on SQLite, MariaDB and PostgreSQL, and from the
sqlite3 and psql clients themselves."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.docker

JOB = """
name: sql-view
objective: {{direction: maximize, regex: 'score ([0-9.]+)'}}
parameters:
  mode: {{enum: ["off", "on", "1.10"]}}
  n: {{range: {{min: 1, max: 3}}}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'if [ "$MODE" = off ]; then echo score $((N * 10)); elif [ "$MODE" = bad ]; then exit 3; else echo score $N; fi']
"""


def test_results_view_answers_the_seeds_query(busybox, write_job, run_cli, storage_url, sql,
                                              tmp_path, capsys):
    job = write_job(JOB.format(image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--storage", storage_url) == 0
    capsys.readouterr()
    best = sql(storage_url, "select * from results_sql_view order by score desc limit 1")
    row = best[0]._mapping
    assert (row["mode"], row["n"], row["score"], row["state"]) == ("off", 3, 30.0, "COMPLETE")
    rows = sql(storage_url, "select mode, n from results_sql_view order by number")
    assert len(rows) == 9 and {r[0] for r in rows} == {"off", "on", "1.10"}
    assert all(isinstance(r[1], int) for r in rows)

    if storage_url.startswith("sqlite") and shutil.which("sqlite3"):
        out = subprocess.run(["sqlite3", str(tmp_path / "tuner.db"),
                              "select mode, n, score from results_sql_view "
                              "order by score desc limit 1"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "off|3|30.0"
    if storage_url.startswith("postgresql"):  # and from PostgreSQL's own client
        from sqlalchemy.engine import make_url

        from tests.databases import postgres_bin

        url = make_url(storage_url)
        out = subprocess.run([str(postgres_bin() / "psql"), "-h", url.host, "-p", str(url.port),
                              "-U", url.username, "-d", url.database, "-At", "-c",
                              "select mode, n, score from results_sql_view "
                              "order by score desc limit 1"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "off|3|30"


def test_results_view_shows_why_a_trial_failed(busybox, write_job, run_cli, sql, storage_url,
                                               capsys):
    job = write_job(JOB.format(image=busybox).replace('"1.10"]', '"bad"]'))
    url = storage_url
    assert run_cli("optimize", str(job), "--sampler", "grid", "--storage", url) == 0
    capsys.readouterr()
    rows = sql(url, "select reason from results_sql_view where state = 'FAIL'")
    assert rows and all(r[0] == "container main exited with code 3" for r in rows)
