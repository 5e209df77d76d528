"""Does starting from an earlier study's trials find a good configuration in fewer trials?

Known truth: a family of synthetic systems over four knobs (a time-like score to minimize):

    threads  1 .. 32 (log: true)   factor 1 + wt * (log2 threads - log2 T)^2
    batch    1 .. 64               factor 1 + wb * (log2 batch - log2 B)^2
    cache    0 .. 1000 step 50     factor 1 + wc * ((cache - C) / 1000)^2
    mode     a, b, c, d            factor 1.00, 1.06, 1.12 or 1.20 (its rank, per system)

The default (threads 1, batch 64, cache 0, mode a) is where a person starts. Each seed draws
one system of the family: T = 2^U(1, 2.5) (2 to 5.7 threads), B = 2^U(2, 3.5) (4 to 11),
C one of 150 .. 450, the modes' order a random permutation, wt ~ U(0.04, 0.08), wb ~
U(0.02, 0.04), wc ~ U(0.1, 0.2). That system at its first workload is "before"; a new
workload moves it:

    near  a few more clients, more data: T x 1.5, B x 1.4, C + 150, the same best mode. The
          old optimum is 1 to 7% worse than the new one (median 3%, over 300 systems).
    far   another kind of load: T x 2^2.5 (11 to 32 threads), B x 2^2.5 (23 to 64),
          C + 500 (650 to 950), and the modes' order reversed (the old best is the worst);
          the old optimum is 71 to 147% worse (median 102%).

Per seed: a "before" study on the first workload (--before: 40 trials, and 100; 3% noise,
log-normal), then on each new workload two after-studies of --trials trials with the same
seeds (TPE's and the noise's): cold (plain TPE, the default run first, as `tuner run` does)
and warm (as a warm-started run does: the before study's trials matched to the space, the
default then the before study's 3 best configurations run first, TPE seeing the before
trials through PriorSampler). All through tuner's own code (run_study, start_from, match,
PriorSampler) on in-memory Optuna studies; only the trial function is synthetic. "old best"
in the table: how much worse the before study's best is on the new workload (median).

Figure: trials until the first one whose TRUE (noise-free) score is within 2% of the true
best (the default counts as trial 1); a study that never gets there counts --trials + 1
(censored, and counted). Goals (issue #23): near, cold/warm >= 3 (mean); far, warm/cold <=
1.2 (mean).

    .venv/bin/python bench/warmstart.py [--seeds 30] [--trials 60] [--before 40,100] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import textwrap
import time
from dataclasses import dataclass
from typing import Any

JOB = textwrap.dedent("""
    parameters:
      threads: {range: {min: 1, max: 32, log: true}, default: 1}
      batch: {range: {min: 1, max: 64}, default: 64}
      cache: {range: {min: 0, max: 1000, step: 50}, default: 0}
      mode: {enum: [a, b, c, d], default: a}
    spec: {containers: {main: {image: none}}}
""")
MODES = ("a", "b", "c", "d")
PENALTY = (1.0, 1.06, 1.12, 1.2)  # by rank: the best mode, the second, ...
CASES = ("near", "far")
BEFORE, NOISE, WITHIN = (40, 100), 0.03, 0.02


@dataclass(frozen=True)
class System:
    t: float  # the best threads
    b: float  # the best batch
    c: float  # the best cache
    modes: tuple[str, ...]  # best first
    wt: float
    wb: float
    wc: float

    def truth(self, p: dict[str, Any]) -> float:
        return (self._t(p["threads"]) * self._b(p["batch"]) * self._c(p["cache"])
                * PENALTY[self.modes.index(p["mode"])])

    def _t(self, x: int) -> float:
        return 1 + self.wt * (math.log2(x) - math.log2(self.t)) ** 2

    def _b(self, x: int) -> float:
        return 1 + self.wb * (math.log2(x) - math.log2(self.b)) ** 2

    def _c(self, x: int) -> float:
        return 1 + self.wc * ((x - self.c) / 1000) ** 2

    def best(self) -> float:
        """The factors are separate: the best of each is the best of the whole."""
        return (min(map(self._t, range(1, 33))) * min(map(self._b, range(1, 65)))
                * min(map(self._c, range(0, 1001, 50))) * PENALTY[0])

    def moved(self, case: str) -> "System":
        if case == "near":
            return System(self.t * 1.5, self.b * 1.4, self.c + 150, self.modes,
                          self.wt, self.wb, self.wc)
        return System(self.t * 2 ** 2.5, self.b * 2 ** 2.5, self.c + 500, self.modes[::-1],
                      self.wt, self.wb, self.wc)


def draw(seed: int) -> System:
    rng = random.Random(f"system {seed}")
    modes = list(MODES)
    rng.shuffle(modes)
    return System(2 ** rng.uniform(1, 2.5), 2 ** rng.uniform(2, 3.5), rng.randrange(150, 451),
                  tuple(modes), rng.uniform(0.04, 0.08), rng.uniform(0.02, 0.04),
                  rng.uniform(0.1, 0.2))


def space() -> Any:
    from tuner.job import parse_job
    from tuner.space import Space

    job = parse_job(JOB, "bench.yaml", environ={})
    return Space(job, job.source)


def study_on(system: System, seed: int, trials: int, sources: list | None = None
             ) -> tuple[Any, int | None]:
    """One seeded study; the trial number (1-based) of its first within 2% of the best."""
    import optuna

    from tuner.optimize import make_sampler, run_study, start_from
    from tuner.prior_sampler import PriorSampler
    from tuner.warmstart import match

    sp = space()
    sampler = make_sampler("tpe", seed)
    matched = None
    if sources is not None:
        matched = match(sources, sp)
        sampler = PriorSampler(sampler, matched.priors, sp.distributions())
    study = optuna.create_study(sampler=sampler)
    if matched is not None:
        start_from(study, sp, matched.seeds, "before")
    noise = random.Random(f"noise {seed}")
    true: list[float] = []

    def measure(params: dict[str, Any], trial: Any) -> float:
        true.append(system.truth(params))
        return true[-1] * math.exp(noise.gauss(0, NOISE))

    run_study(study, sp, measure, n_trials=trials, grid=False)
    target = system.best() * (1 + WITHIN)
    return study, next((i + 1 for i, v in enumerate(true) if v <= target), None)


def one_seed(seed: int, trials: int, befores: tuple[int, ...]) -> list[dict[str, Any]]:
    from tuner.warmstart import sources_of

    system = draw(seed)
    cold = {case: study_on(system.moved(case), seed, trials)[1] for case in CASES}
    out = []
    for n in befores:
        before, _ = study_on(system, 1000 + seed, n)
        sources = sources_of(before.trials, maximize=False, group="before")
        for case in CASES:
            after = system.moved(case)
            old = after.truth(min(before.trials, key=lambda t: t.value).params)
            _, warm = study_on(after, seed, trials, sources)
            out.append({"seed": seed, "before": n, "case": case,
                        "old_best_loss": old / after.best() - 1,
                        **_count("cold", cold[case], trials), **_count("warm", warm, trials)})
    return out


def _count(method: str, hit: int | None, trials: int) -> dict[str, Any]:
    return {method: trials + 1 if hit is None else hit, method + "_censored": hit is None}


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n, case in sorted({(r["before"], r["case"]) for r in rows}, key=_order):
        rs = [r for r in rows if r["case"] == case and r["before"] == n]
        s: dict[str, Any] = {"case": case, "before": n, "seeds": len(rs),
                             "old_best_loss": statistics.median(r["old_best_loss"] for r in rs)}
        for m in ("cold", "warm"):
            s[m + "_mean"] = statistics.fmean(r[m] for r in rs)
            s[m + "_median"] = statistics.median(r[m] for r in rs)
            s[m + "_censored"] = sum(r[m + "_censored"] for r in rs)
        if case == "near":
            s["ratio"], s["goal"] = s["cold_mean"] / s["warm_mean"], "cold/warm >= 3"
            s["met"] = s["ratio"] >= 3
        else:
            s["ratio"], s["goal"] = s["warm_mean"] / s["cold_mean"], "warm/cold <= 1.2"
            s["met"] = s["ratio"] <= 1.2
        out.append(s)
    return out


def _order(key: tuple[int, str]) -> tuple[int, int]:
    return key[0], CASES.index(key[1])


def table(stats: list[dict[str, Any]]) -> str:
    lines = [f"{'before':>6} {'case':<5} {'old best':>8} {'cold mean':>9} {'median':>6} {'cens':>4} "
             f"{'warm mean':>9} {'median':>6} {'cens':>4}  {'ratio':>5}  goal"]
    for s in stats:
        lines.append(
            f"{s['before']:>6} {s['case']:<5} {s['old_best_loss']:>+8.1%} {s['cold_mean']:>9.1f} "
            f"{s['cold_median']:>6g} {s['cold_censored']:>4} {s['warm_mean']:>9.1f} "
            f"{s['warm_median']:>6g} {s['warm_censored']:>4}  {s['ratio']:>5.2f}  "
            f"{s['goal']}: {'met' if s['met'] else 'MISSED'}")
    return "\n".join(lines)


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=30, help="systems drawn (at least 20)")
    ap.add_argument("--trials", type=int, default=60, help="trials per after-study")
    ap.add_argument("--before", default=",".join(map(str, BEFORE)),
                    help="trials of the earlier study, comma-separated sizes")
    ap.add_argument("--json", action="store_true", help="every seed's figures as JSON")
    a = ap.parse_args()
    start = time.monotonic()
    befores = tuple(int(n) for n in a.before.split(","))
    rows = [r for seed in range(a.seeds) for r in one_seed(seed, a.trials, befores)]
    stats = summary(rows)
    if a.json:
        print(json.dumps({"summary": stats, "rows": rows}, indent=1))
        return
    print(f"{a.seeds} systems; trials of an after-study ({a.trials}) until a true score "
          f"within {WITHIN:.0%} of the best (never: {a.trials + 1}, censored); before: "
          f"the earlier study's trials")
    print(table(stats))
    print(f"({time.monotonic() - start:.0f}s)")


if __name__ == "__main__":
    main()
