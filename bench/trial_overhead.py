"""Per-trial cost of tuner against its floor: the same container run by the docker CLI.

Runs N one-container trials through `tuner optimize` (a real process, imports included) and
the same container N times with `docker run --rm`, and prints the ratio of wall times.
Goal: ratio <= 0.9 at N=30 (then 0.8); and the start-up, from launching `tuner optimize` to its
first container started, within 0.8 s. Needs the test image: tests/images/busybox/build.sh.

    .venv/bin/python bench/trial_overhead.py [N [ROUNDS]]
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = "tuner-test/busybox:1"
COMMAND = ["sh", "-c", "echo total 1"]

JOB = f"""
name: bench
objective: {{container: main, regex: 'total ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 1000}}}}
spec:
  containers:
    main: {{image: {IMAGE}, command: {COMMAND!r}}}
  timeout: 30s
"""


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    subprocess.run(["docker", "run", "--rm", IMAGE, "true"], check=True)  # warm the engine

    def docker_cli() -> None:
        for i in range(n):
            subprocess.run(["docker", "run", "--rm", "-e", f"X={i}", IMAGE, *COMMAND],
                           check=True, capture_output=True)

    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.yaml"
        job.write_text(JOB)

        def optimize(db: Path, trials: int) -> float:
            """Runs `tuner optimize`; returns when its first container started, in seconds
            after the process was launched (the engine's start time, from tuner_runs)."""
            launched = time.time()
            subprocess.run([sys.executable, "-m", "tuner", "optimize", str(job), "--sampler",
                            "random", "--n-trials", str(trials), "--storage",
                            f"sqlite:///{db}", "--results", f"{tmp}/results",
                            "--json"], check=True, capture_output=True, cwd=tmp)
            with sqlite3.connect(db) as conn:
                first = conn.execute("SELECT MIN(started_at) FROM (SELECT started_at FROM "
                                     "tuner_runs ORDER BY id DESC LIMIT ?)",
                                     (trials,)).fetchone()[0]
            return first - launched

        db = Path(tmp) / "bench.db"
        starts_new: list[float] = []

        def tuner() -> None:
            db.unlink(missing_ok=True)  # a new study each round, as a first run makes
            starts_new.append(optimize(db, n))

        # Alternate the two, so a machine that slows down or speeds up hits both alike.
        clis, ours = [], []
        for _ in range(rounds):
            clis.append(timed(docker_cli))
            ours.append(timed(tuner))
        starts_existing = [optimize(db, 1) for _ in range(3)]  # the same study, continued
    cli, mine = sum(clis) / rounds, sum(ours) / rounds
    print(f"N={n} one-container trials, {rounds} alternating round(s)")
    print(f"  docker run --rm (CLI):  {cli:6.2f} s  ({cli / n * 1000:4.0f} ms/trial)")
    print(f"  tuner optimize:         {mine:6.2f} s  ({mine / n * 1000:4.0f} ms/trial, "
          f"process start and imports included)")
    print(f"  ratio tuner/CLI:        {mine / cli:6.2f}  (goal <= 0.9, then 0.8; each round: "
          f"{', '.join(f'{o / c:.2f}' for o, c in zip(ours, clis))})")
    print(f"  start-up, launch to first container started (goal <= 0.8 s): new study "
          f"{statistics.median(starts_new):.2f} s, existing study "
          f"{statistics.median(starts_existing):.2f} s (medians)")


if __name__ == "__main__":
    main()
