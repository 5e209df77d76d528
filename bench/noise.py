"""How noisy is one configuration? Runs it N times as single-run trials of a fresh study and
prints the spread of the scores: the floor under what repeats and confirmation can promise.

    .venv/bin/python bench/noise.py [JOB [N [PARAM=VALUE ...]]]
    .venv/bin/python bench/noise.py jobs/tracelog.yaml 12 numChunk=2 batchPerReq=9 batchSize=1000

Without PARAM=VALUE the job's default configuration is run. Workload parameters take their
default value unless given.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    import optuna

    from tuner import app
    from tuner.job import load_job
    from tuner.space import Space

    job = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "jobs" / "tracelog.yaml")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    point = dict(arg.split("=", 1) for arg in sys.argv[3:])
    space = Space(load_job(job), job)
    # One workload value each: the given one, else the default.
    workload = {name: [point.pop(name, str(value))] for name, value in space.workload.items()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/noise.db"
        # The study's first trial is the default configuration: a warm-up, not counted.
        options = app.Options(n_trials=1, repeat=1, workload=workload)
        result = app.optimize(job, options=options, storage=url, results=f"{tmp}/results")
        study = optuna.load_study(study_name=result.study, storage=url)
        params = dict(study.trials[0].params)
        params.update({k: _value(v) for k, v in point.items()})
        start = time.perf_counter()
        app.run_points(url, result.study, job, [params] * n, results=f"{tmp}/results",
                       user_attrs={"noise": True})
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name=result.study, storage=url)
        values = [t.value for t in study.get_trials()
                  if t.user_attrs.get("noise") and t.state.name == "COMPLETE"]
        failed = sum(1 for t in study.get_trials()
                     if t.user_attrs.get("noise") and t.state.name != "COMPLETE")
    med = statistics.median(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    # Spread of a median of 3 and of 5, by resampling the runs (what repeat: 3 and five
    # re-runs would see).
    import random

    rng = random.Random(0)

    def spread_of_median(k: int) -> float:
        meds = [statistics.median(rng.choices(values, k=k)) for _ in range(4000)]
        return statistics.stdev(meds) / med

    print(f"{Path(job).name} {params} {workload}: {len(values)} runs, {failed} failed, "
          f"{wall / max(1, n):.1f} s per run")
    print(f"  median {med:.3f}  mean {statistics.fmean(values):.3f}  sd {sd:.3f} "
          f"(cv {100 * sd / med:.1f}%)  min {min(values):.3f}  max {max(values):.3f}")
    print(f"  cv of a median of 3: {100 * spread_of_median(3):.1f}%   "
          f"of 5: {100 * spread_of_median(5):.1f}%")
    print("  runs: " + ", ".join(f"{v:.3f}" for v in values))


if __name__ == "__main__":
    main()
