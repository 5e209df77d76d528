"""One worker against two on one shared grid study (MariaDB), same job, wall time.

Each trial's container sleeps, so two workers on one machine can overlap their trials the
way two machines would. Needs the test image and a MariaDB user that may create tuner_*
databases (scripts/setup.sh makes both).

    .venv/bin/python bench/workers.py [SECONDS_PER_TRIAL]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy

SERVER = os.environ.get("TUNER_TEST_MYSQL", "mysql+pymysql://tuner:tuner@127.0.0.1")
JOB = """
name: bench-workers
objective: {{container: main, regex: 'total ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 4}}}}
  y: {{enum: [a, b, c]}}
spec:
  containers:
    main: {{image: tuner-test/busybox:1, command: [sh, -c, 'sleep {nap}; echo total $X']}}
  timeout: 60s
"""


def run(workers: int, nap: str) -> float:
    name = f"tuner_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(SERVER + "/")
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            job = Path(tmp) / "job.yaml"
            job.write_text(JOB.format(nap=nap))
            cmd = [sys.executable, "-m", "tuner", "optimize", str(job), "--sampler", "grid",
                   "--storage", f"{SERVER}/{name}", "--results", f"{tmp}/results", "--json"]
            start = time.perf_counter()
            procs = [subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for _ in range(workers)]
            for p in procs:
                if p.wait() != 0:
                    raise SystemExit(p.stderr.read().decode())
            return time.perf_counter() - start
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE {name}"))
        admin.dispose()


def main() -> None:
    nap = sys.argv[1] if len(sys.argv) > 1 else "1"
    one = run(1, nap)
    two = run(2, nap)
    print(f"12-point grid, each trial sleeping {nap}s, on MariaDB")
    print(f"  one worker:   {one:6.2f} s")
    print(f"  two workers:  {two:6.2f} s")
    print(f"  ratio two/one: {two / one:5.2f}  (ideal 0.50)")


if __name__ == "__main__":
    main()
