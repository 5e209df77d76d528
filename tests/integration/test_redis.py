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
    monkeypatch.setenv("REDIS_REQUESTS", "100000")  # under 2 s a trial here
    assert run_cli("optimize", "redis.yaml", "--n-trials", "3", "--seed", "2",
                   "--no-prune") == 0
    capsys.readouterr()
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 3, [r["reason"] for r in rows]
    assert rows[0]["params"]["benchThreads"] == 1  # the default: --threads left out
    # Without a pipeline, 100,000 requests take far longer than redis-benchmark's first
    # redraw (250 ms; no machine does 400,000 unpipelined SETs a second in 1 CPU).
    assert rows[0]["params"]["pipeline"] == 1 and rows[0]["progress"]
    for row in rows:
        log = (tmp_path / "results" / "redis" / str(row["number"]) / "bench.log").read_bytes()
        # As printed: progress redrawn with '\r', then the result on the same line.
        assert b"\rSET: rps=" in log
        last = re.findall(rb"SET: ([0-9.]+) requests per second", log)[-1]
        # This run's score (a configuration run again reports the mean of its runs).
        assert float(last) in row["samples"]["-"] and float(last) > 1000
        # Every redrawn progress value reached tuner while it ran (as many as the run lasted
        # quarter seconds: a short run may have none).
        shown = [float(v) for v in re.findall(rb"SET: rps=[0-9.]+ \(overall: ([0-9.]+)\)", log)]
        assert (row["progress"] or []) == shown
    leftovers("redis")
