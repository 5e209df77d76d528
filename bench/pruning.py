"""Pruning against no pruning: the same TPE study (same seed, same number of trials) of a job
whose trials print their throughput as they go, run with `--no-prune` and with the pruner,
for several seeds. Wall time of each, their ratio, and whether both reach the same best
within the measured noise.

The job is a busybox container: throughput = 200 - 2(x - 6.5)^2 - (y - 3)^2, each progress
line that plus uniform noise (sd 1.7), one every 0.25 s for 16 steps (4 s), the score their
mean. The noise of a score is measured from the trials themselves (the spread of each
trial's progress values, over sqrt(16)). The best a study reports is the highest of noisy
scores, which leans towards luck (a study that completes more trials has more chances of a
lucky one); so the two studies' bests are compared on what their configurations are worth,
the function's true value there (known for this synthetic job), and are "the same" when
they differ by less than two standard deviations of a difference of two scores
(2 * sqrt(2) * sd). The reported bests are shown beside.

    .venv/bin/python bench/pruning.py [--seeds 1,2,3,4,5] [--trials 25] [--pruners median,halving]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 16
JOB = """
name: bench-pruning
objective:
  direction: maximize
  container: main
  regex: 'total ([-0-9.]+)'
  progress: 'rate ([-0-9.]+)'
parameters:
  x: {range: {min: 0.0, max: 10.0}, default: 1.0}
  y: {range: {min: 0.0, max: 10.0}, default: 9.0}
spec:
  containers:
    main:
      image: tuner-test/busybox:1
      command:
        - sh
        - -c
        - |
          n=$(( $(od -An -N4 -tu4 /dev/urandom) ))
          exec awk -v x=$X -v y=$Y -v n=$n -v steps=%d 'BEGIN {
            srand(n); t = 200 - 2*(x-6.5)*(x-6.5) - (y-3)*(y-3); s = 0
            for (i = 1; i <= steps; i++) {
              v = t + 6*(rand()-0.5); s += v
              printf "rate %%.3f\\n", v; fflush(); system("sleep 0.25")
            }
            printf "total %%.3f\\n", s/steps }'
  timeout: 60s
""" % STEPS


def truth(p: dict) -> float:
    return 200 - 2 * (p["x"] - 6.5) ** 2 - (p["y"] - 3) ** 2


def tuner(*args: str, cwd: str) -> str:
    out = subprocess.run([sys.executable, "-m", "tuner", *args], cwd=cwd, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise SystemExit(f"tuner {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def study(seed: int, trials: int, prune: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.yaml"
        job.write_text(JOB)
        flags = ["--no-prune"] if prune is None else ["--pruner", prune]
        start = time.perf_counter()
        tuner("optimize", str(job), "--n-trials", str(trials), "--seed", str(seed),
              "--storage", f"sqlite:///{tmp}/t.db", "--json", *flags, cwd=tmp)
        wall = time.perf_counter() - start
        best = json.loads(tuner("best", "--storage", f"sqlite:///{tmp}/t.db", "--json", cwd=tmp))
        rows = json.loads(tuner("trials", "--storage", f"sqlite:///{tmp}/t.db", "--json",
                                cwd=tmp))
    sds = [statistics.stdev(r["progress"]) for r in rows
           if r["progress"] and len(r["progress"]) > 2]
    return {"wall": wall, "best": best["value"], "best_true": truth(best["params"]),
            "pruned": sum(r["state"] == "PRUNED" for r in rows),
            "step_sd": statistics.fmean(sds) if sds else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--trials", type=int, default=25)
    ap.add_argument("--pruners", default="median,halving")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    pruners = a.pruners.split(",")
    print(f"{a.trials} TPE trials a study, {STEPS} progress values 0.25 s apart per trial")
    print("| seed | pruner | wall, no pruning | wall, pruning | ratio | pruned trials "
          "| best reported, no pruning / pruning | true value of each best | difference "
          "| same within noise |")
    print("|---:|---|---:|---:|---:|---:|---|---|---:|---|")
    ratios: dict[str, list[float]] = {p: [] for p in pruners}
    same: dict[str, list[bool]] = {p: [] for p in pruners}
    for seed in seeds:
        full = study(seed, a.trials, None)
        for pruner in pruners:
            cut = study(seed, a.trials, pruner)
            sd = statistics.fmean([full["step_sd"], cut["step_sd"]]) / math.sqrt(STEPS)
            diff = cut["best_true"] - full["best_true"]
            ok = abs(diff) <= 2 * math.sqrt(2) * sd
            ratios[pruner].append(cut["wall"] / full["wall"])
            same[pruner].append(ok)
            print(f"| {seed} | {pruner} | {full['wall']:.1f} s | {cut['wall']:.1f} s | "
                  f"{ratios[pruner][-1]:.2f} | {cut['pruned']}/{a.trials} | "
                  f"{full['best']:.2f} / {cut['best']:.2f} | "
                  f"{full['best_true']:.2f} / {cut['best_true']:.2f} | {diff:+.2f} | "
                  f"{'yes' if ok else 'no'} (2.8 sd = {2 * math.sqrt(2) * sd:.2f}) |",
                  flush=True)
    for pruner in pruners:
        r = ratios[pruner]
        print(f"{pruner}: wall time ratio mean {statistics.fmean(r):.2f}, worst {max(r):.2f} "
              f"(goal <= 0.60); same best within noise in {sum(same[pruner])}/{len(r)} seeds")


if __name__ == "__main__":
    main()
