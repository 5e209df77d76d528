"""A real program nobody here wrote: Redis 7 and redis-benchmark from Debian's packages
(jobs/redis.yaml, image from jobs/redis/build.sh). redis-benchmark -q redraws its progress line
with '\\r' and prints its result on the last one; its --threads flag is left out with
{{ omit }} when it is 1 (an empty word would be run as a Redis command, "ERR unknown command
''", and fail the trial)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.docker


def test_redis_benchmark_scores_are_read(redis_image, run_cli, tmp_path, capsys, monkeypatch,
                                         leftovers):
    shutil.copy(ROOT / "jobs" / "redis.yaml", tmp_path / "redis.yaml")
    monkeypatch.setenv("REDIS_REQUESTS", "20000")  # a short run per trial
    assert run_cli("optimize", "redis.yaml", "--n-trials", "3", "--seed", "2",
                   "--no-prune") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 3, [r["reason"] for r in rows]
    assert rows[0]["params"]["benchThreads"] == 1  # the default: --threads left out
    for row in rows:
        log = (tmp_path / "results" / "redis" / str(row["number"]) / "bench.log").read_bytes()
        # As printed: progress redrawn with '\r', then the result on the same line.
        assert b"\rSET: rps=" in log
        last = re.findall(rb"SET: ([0-9.]+) requests per second", log)[-1]
        # This run's score (a configuration run again reports the mean of its runs).
        assert float(last) in row["samples"]["-"] and float(last) > 1000
        assert row["progress"]  # the redrawn progress reached tuner while it ran
    leftovers("redis")
