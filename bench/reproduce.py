"""Does the reported best reproduce? The demo with repeats and confirmation, then the confirmed
winner re-run five more times, each time beside the default configuration (in a shuffled
order): how far is the re-runs' median from the reported score, and how far is their
side-by-side gain over the default from the reported gain?

    .venv/bin/python bench/reproduce.py [N_TRIALS [SEED ...]]   (about 8 minutes a seed for 15)
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(n: int, seed: int) -> dict:
    import optuna

    from tuner import app
    from tuner.space import Space
    from tuner.job import load_job

    job = str(ROOT / "jobs" / "tracelog.yaml")
    default = Space(load_job(job), job).defaults()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/reproduce.db"
        options = app.Options(n_trials=n, seed=seed, repeat=3, confirm=3,
                              workload={"dataSize": ["small"]})
        result = app.optimize(job, options=options, storage=url, results=f"{tmp}/results")
        confirmed = result.best["confirmed"]
        winner = confirmed["winner"]
        rng = random.Random(seed)
        for r in range(5):
            pair = [("best", winner["params"]), ("default", default)]
            rng.shuffle(pair)
            for role, params in pair:
                app.run_points(url, result.study, job, [params], results=f"{tmp}/results",
                               user_attrs={"reproduce": r, "role": role})
        study = optuna.load_study(study_name=result.study, storage=url)
        by_round: dict[int, dict[str, float]] = {}
        for t in study.get_trials():
            if "reproduce" in t.user_attrs and t.state.name == "COMPLETE":
                by_round.setdefault(t.user_attrs["reproduce"], {})[t.user_attrs["role"]] = t.value
    again = [v["best"] for v in by_round.values() if "best" in v]
    ratios = [v["best"] / v["default"] for v in by_round.values() if len(v) == 2]
    return {"seed": seed, "best_trial": result.best, "confirmed": confirmed, "again": again,
            "rerun": statistics.median(again),
            "rerun_gain": math.exp(statistics.fmean(math.log(x) for x in ratios)) - 1}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    seeds = [int(s) for s in sys.argv[2:]] or [7]
    print(f"demo (dataSize=small), repeat 3, {n} trials, --confirm 3 (3 rounds), then five "
          f"rounds of the winner beside the default")
    for seed in seeds:
        r = one(n, seed)
        c, w = r["confirmed"], r["confirmed"]["winner"]
        gain_ci = c.get("change_vs_baseline_ci") or [math.nan, math.nan]
        print(f"seed {seed}: best trial {r['best_trial']['value']:.3f} s {r['best_trial']['params']}")
        print(f"  confirmed winner:  {w['median']:.3f} s  {w['params']}; vs default "
              f"{100 * c['change_vs_baseline']:+.1f}% (95% {100 * gain_ci[0]:+.1f}% .. "
              f"{100 * gain_ci[1]:+.1f}%)")
        print(f"  5 re-runs:         median {r['rerun']:.3f} s  "
              f"({', '.join(f'{v:.3f}' for v in r['again'])}); vs default "
              f"{100 * r['rerun_gain']:+.1f}%")
        print(f"  re-run median vs confirmed: {100 * (r['rerun'] - w['median']) / w['median']:+.1f}%"
              f"   vs best trial: "
              f"{100 * (r['rerun'] - r['best_trial']['value']) / r['best_trial']['value']:+.1f}%"
              f"   re-run score relative to the default vs confirmed: "
              f"{100 * ((1 + r['rerun_gain']) / (1 + c['change_vs_baseline']) - 1):+.1f}%",
              flush=True)


if __name__ == "__main__":
    main()
