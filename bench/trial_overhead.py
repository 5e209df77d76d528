"""Per-trial cost of tuner against its floor: the same container run by the docker CLI.

Runs N one-container trials through `tuner optimize` (a real process, imports included) and
the same container N times with `docker run --rm`, and prints the ratio of wall times.
Goal: ratio <= 0.8 at N=30. Needs the test image: tests/images/busybox/build.sh.

    .venv/bin/python bench/trial_overhead.py [N]
"""

from __future__ import annotations

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
    subprocess.run(["docker", "run", "--rm", IMAGE, "true"], check=True)  # warm the engine

    def docker_cli() -> None:
        for i in range(n):
            subprocess.run(["docker", "run", "--rm", "-e", f"X={i}", IMAGE, *COMMAND],
                           check=True, capture_output=True)

    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.yaml"
        job.write_text(JOB)

        def tuner() -> None:
            subprocess.run([sys.executable, "-m", "tuner", "optimize", str(job), "--sampler",
                            "random", "--n-trials", str(n), "--storage",
                            f"sqlite:///{tmp}/bench.db", "--results", f"{tmp}/results",
                            "--json"], check=True, capture_output=True, cwd=tmp)

        cli = timed(docker_cli)
        ours = timed(tuner)
    print(f"N={n} one-container trials")
    print(f"  docker run --rm (CLI):  {cli:6.2f} s  ({cli / n * 1000:4.0f} ms/trial)")
    print(f"  tuner optimize:         {ours:6.2f} s  ({ours / n * 1000:4.0f} ms/trial, "
          f"process start and imports included)")
    print(f"  ratio tuner/CLI:        {ours / cli:6.2f}  (goal <= 0.80)")


if __name__ == "__main__":
    main()
