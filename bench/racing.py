"""Which way of spending a fixed number of benchmark runs picks a configuration you can bet on?

Known truth over four knobs (a smooth time-like score to minimize: threads, batch, mode,
compression; the best scores 1.0, the default 3.64, about a dozen of 2,880 configurations are
within 1% of the best), measured on three simulated machines:

    steady    every run's score has 5% noise (log-normal, cv 0.05)
    noisy     15% noise
    drifting  the machine's speed takes a 3% random-walk step before every run, plus 10% noise

and, at the same number of container runs per study (--runs, default 100), three methods, each
through tuner's own code (run_study, confirm_top, race_study on an in-memory Optuna study, TPE
seeded per study; only the trial function is synthetic, no containers run):

    confirm   today: single-run trials, then --confirm 3 --confirm-runs 5 (top 3 and the
              default in 5 shuffled rounds); the confirmed winner and its gain's interval
    repeat3   --repeat 3: every trial the median of 3 runs; the best trial (no interval stated)
    race      --race --max-runs N --confirm-runs 5: racing, then the incumbent and the default
              in 5 rounds

Figures: how often the chosen configuration is within 1% of the best (and exactly the best),
its mean true loss against the best, how often the stated 95% interval of the gain over the
default contains the true gain (coverage) and its mean width, and how often the search ran a
configuration within 1% of the best at all (found: the ceiling of any choice).

    .venv/bin/python bench/racing.py [--studies 100] [--runs 100] [--procs 2]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import statistics
import sys
import textwrap
import time
from typing import Any

JOB = textwrap.dedent("""
    parameters:
      threads: {range: {min: 1, max: 16}, default: 1}
      batch: {range: {min: 1, max: 20}, default: 20}
      mode: {enum: [a, b, c], default: a}
      compress: {enum: [none, lz4, zstd], default: none}
    spec: {containers: {main: {image: none}}}
""")
MACHINES = {"steady": (0.05, 0.0), "noisy": (0.15, 0.0), "drifting": (0.10, 0.03)}
METHODS = ("confirm", "repeat3", "race")
CONFIRM_RUNS = 5


def truth(p: dict[str, Any]) -> float:
    """The true score (lower is better): 1.0 at threads 8, batch 8, mode b, lz4."""
    return ((1 + 0.08 * (math.log2(p["threads"]) - 3) ** 2)
            * (1 + 0.004 * (p["batch"] - 8) ** 2)
            * {"a": 1.2, "b": 1.0, "c": 1.1}[p["mode"]]
            * {"none": 1.12, "lz4": 1.0, "zstd": 1.04}[p["compress"]])


def best_truth() -> float:
    return min(truth({"threads": t, "batch": b, "mode": m, "compress": c})
               for t in range(1, 17) for b in range(1, 21) for m in "abc"
               for c in ("none", "lz4", "zstd"))


class Machine:
    """Runs the synthetic benchmark: each call is one container run."""

    def __init__(self, cv: float, drift: float, seed: int):
        self.cv, self.drift = cv, drift
        self.rng = random.Random(seed)
        self.speed = 1.0
        self.runs = 0

    def run(self, params: dict[str, Any]) -> float:
        self.runs += 1
        self.speed *= math.exp(self.rng.gauss(0, self.drift))
        return self.speed * truth(params) * math.exp(self.rng.gauss(0, self.cv))


def space() -> Any:
    from tuner.job import parse_job
    from tuner.space import Space

    job = parse_job(JOB, "bench.yaml", environ={})
    return Space(job, job.source)


def one_study(task: tuple[str, str, int, int]) -> dict[str, Any]:
    """One seeded study of one method on one machine: what it chose and what it stated."""
    import optuna

    from tuner.optimize import confirm_top, run_study
    from tuner.racing import Budget, race_study
    from tuner.reports import best_of

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    machine_name, method, seed, runs = task
    m = Machine(*MACHINES[machine_name], seed=seed)
    sp = space()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    single = lambda p, t: m.run(p)  # noqa: E731
    lo = hi = None
    if method == "confirm":
        run_study(study, sp, single, n_trials=runs - 4 * CONFIRM_RUNS, grid=False)
        confirm_top(study, sp, single, top=3, runs=CONFIRM_RUNS, seed=seed)
    elif method == "repeat3":
        run_study(study, sp, lambda p, t: statistics.median(m.run(p) for _ in range(3)),
                  n_trials=runs // 3, grid=False)
    else:
        race_study(study, sp, single, budget=Budget(max_runs=runs), final_rounds=CONFIRM_RUNS,
                   seed=seed)
    summary = study.user_attrs.get("confirmed")
    if summary:
        chosen = summary["winner"]["params"]
        gain = summary["change_vs_baseline"]
        if summary["change_vs_baseline_ci"]:
            lo, hi = summary["change_vs_baseline_ci"]
    else:
        best = best_of(study)
        chosen, gain = best["params"], best.get("change_vs_baseline")
    true_gain = truth(chosen) / truth(sp.defaults()) - 1
    covered = None
    if lo is not None:
        covered = lo <= true_gain <= hi
    elif summary and summary.get("vs_baseline", {}) and chosen == sp.defaults():
        covered = True  # the default itself: a gain of 0, stated as 0
    found = any(truth(t.params) <= 1.01 * BEST for t in study.trials if t.params)
    return {"machine": machine_name, "method": method, "loss": truth(chosen) / BEST - 1,
            "found": found,
            "covered": covered, "gain": gain, "true_gain": true_gain, "runs": m.runs,
            "width": None if lo is None else hi - lo}


BEST = best_truth()


def table(results: list[dict[str, Any]], studies: int) -> str:
    lines = [f"{'machine':<9} {'method':<8} {'within 1%':>9} {'best':>6} {'mean loss':>9} "
             f"{'coverage':>9} {'mean width':>10} {'runs':>5} {'found':>6}"]
    for machine in MACHINES:
        for method in METHODS:
            rs = [r for r in results if r["machine"] == machine and r["method"] == method]
            if not rs:
                continue
            within = sum(r["loss"] <= 0.01 + 1e-12 for r in rs) / len(rs)
            exact = sum(r["loss"] <= 1e-12 for r in rs) / len(rs)
            stated = [r["covered"] for r in rs if r["covered"] is not None]
            widths = [r["width"] for r in rs if r["width"] is not None]
            cover = f"{sum(stated) / len(stated):.1%}" if stated else "none"
            width = f"{100 * statistics.fmean(widths):.1f} pts" if widths else "-"
            lines.append(f"{machine:<9} {method:<8} {within:>9.1%} {exact:>6.1%} "
                         f"{statistics.fmean(r['loss'] for r in rs):>9.1%} {cover:>9} "
                         f"{width:>10} {max(r['runs'] for r in rs):>5} "
                         f"{sum(r['found'] for r in rs) / len(rs):>6.0%}")
    return "\n".join(lines)


def run(studies: int, runs: int, procs: int, quiet: bool = False,
        methods: tuple[str, ...] = METHODS) -> list[dict[str, Any]]:
    tasks = [(machine, method, seed, runs) for seed in range(studies) for machine in MACHINES
             for method in methods]
    results: list[dict[str, Any]] = []
    start = time.monotonic()
    pool = multiprocessing.get_context("spawn").Pool(procs) if procs > 1 else None
    try:
        done = pool.imap_unordered(one_study, tasks, chunksize=2) if pool \
            else map(one_study, tasks)
        for r in done:
            results.append(r)
            if not quiet and len(results) % 30 == 0:
                print(f"  {len(results)}/{len(tasks)} studies, "
                      f"{time.monotonic() - start:.0f}s", file=sys.stderr, flush=True)
    finally:
        if pool:
            pool.terminate()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=100, help="seeded studies per machine")
    ap.add_argument("--runs", type=int, default=100, help="container runs per study")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--methods", default=",".join(METHODS), help="a comma-separated subset")
    a = ap.parse_args()
    start = time.monotonic()
    results = run(a.studies, a.runs, a.procs, methods=tuple(a.methods.split(",")))
    print(f"{a.studies} studies per machine and method, {a.runs} runs each; 4 knobs, "
          f"2,880 configurations")
    print(table(results, a.studies))
    print(f"({time.monotonic() - start:.0f}s)")


if __name__ == "__main__":
    main()
