"""Does the reported best reproduce? The demo with repeats and confirmation, then the winner
re-run five more times: how far is their median from what the study reported?

    .venv/bin/python bench/reproduce.py [N_TRIALS [SEED]]      (about 10 minutes for 15)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from tuner import app

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    job = str(ROOT / "jobs" / "tracelog.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/reproduce.db"
        options = app.Options(n_trials=n, seed=seed, repeat=3, confirm=3,
                              workload={"dataSize": ["small"]})
        result = app.optimize(job, options=options, storage=url, results=f"{tmp}/results")
        best = result.best
        confirmed = best["confirmed"]["winner"]
        app.run_points(url, result.study, job, [confirmed["params"]] * 5,
                       results=f"{tmp}/results", user_attrs={"reproduce": True})
        import optuna

        study = optuna.load_study(study_name=result.study, storage=url)
        again = [t.value for t in study.get_trials()
                 if t.user_attrs.get("reproduce") and t.state.name == "COMPLETE"]
    rerun = statistics.median(again)
    print(f"demo, repeat 3, {n} trials (seed {seed}), confirm 3 x 3")
    print(f"  best trial:        {best['value']:.3f} s  {best['params']}")
    print(f"  confirmed winner:  {confirmed['median']:.3f} s  {confirmed['params']}")
    print(f"  5 re-runs:         median {rerun:.3f} s  ({', '.join(f'{v:.3f}' for v in again)})")
    print(f"  re-run vs confirmed: {100 * (rerun - confirmed['median']) / confirmed['median']:+.1f}%"
          f"   re-run vs best trial: {100 * (rerun - best['value']) / best['value']:+.1f}%")


if __name__ == "__main__":
    main()
