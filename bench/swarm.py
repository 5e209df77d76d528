"""`tuner optimize --runner swarm` on one node against two: a grid of equal trials, wall time.

Two simulated machines: two private dockerds, each in a network namespace of its own, joined
by a veth pair (tests/engines.py); the first inits a swarm, the second joins it as a worker;
both get the test image. The same 8-point grid (each trial sleeps SECONDS) runs with
`--parallel 1` (one node at a time) and `--parallel 2` (both), each on a fresh study; every
point must have run once. Everything is removed at the end, on Ctrl-C too. Needs root and
the test image (scripts/setup.sh builds it); the machine's own engine is not touched.

    .venv/bin/python bench/swarm.py [SECONDS_PER_TRIAL]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engines import Swarm  # noqa: E402

IMAGE = "tuner-test/busybox:1"
POINTS = 8
JOB = """
name: bench-swarm
objective: {{container: main, regex: 'total ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: {points}}}}}
spec:
  containers:
    main: {{image: {image}, command: [sh, -c, 'sleep {nap}; echo total $X'], cpu: 1, ram: 64m}}
  timeout: 120s
"""


def run(swarm: Swarm, parallel: int, nap: str) -> float:
    import optuna

    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.yaml"
        job.write_text(JOB.format(points=POINTS, image=IMAGE, nap=nap))
        cmd = [sys.executable, "-m", "tuner", "optimize", str(job), "--runner", "swarm",
               "--sampler", "grid", "--parallel", str(parallel), "--json"]
        env = {**os.environ, "DOCKER_HOST": swarm.manager.host}
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        trials = optuna.load_study(study_name="bench-swarm",
                                   storage=f"sqlite:///{tmp}/tuner.db").get_trials()
        points = sorted(t.params["x"] for t in trials)
        states = {t.state.name for t in trials}
        if points != list(range(1, POINTS + 1)) or states != {"COMPLETE"}:
            raise SystemExit(f"--parallel {parallel}: not every point once and complete: "
                             f"points {points}, states {states}")
        if any(t.value != t.params["x"] for t in trials):
            raise SystemExit(f"--parallel {parallel}: a wrong score")
        return seconds


def main() -> None:
    nap = sys.argv[1] if len(sys.argv) > 1 else "8"
    # SIGTERM cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    swarm = Swarm(2, images=(IMAGE,))
    try:
        swarm.start()
        one = run(swarm, 1, nap)
        two = run(swarm, 2, nap)
    finally:
        swarm.stop()
    print(f"{POINTS}-point grid, each trial sleeping {nap}s, on a swarm of two simulated nodes "
          f"(SQLite); every point ran once, scores right")
    print(f"  --parallel 1 (one node):  {one:6.2f} s  ({one / POINTS:.2f} s a trial)")
    print(f"  --parallel 2 (two nodes): {two:6.2f} s")
    print(f"  ratio two/one: {two / one:5.2f}  (ideal 0.50; done when at most 0.60)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; the simulated nodes are removed", file=sys.stderr)
        sys.exit(130)
