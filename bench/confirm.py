"""How often is the reported winner the true best, and how right is its gain over the baseline?
The single-run winner, against two ways of confirming the top configurations: grouped (each
re-run K times in a row, the winner chosen on the median of all its results, compared with the
baseline measured at the start: what tuner did before) and interleaved (what
`tuner optimize --confirm` does: K rounds, each running every top configuration and the
baseline once in a shuffled order; the winner is the best side by side with the baseline).

Two machines: a steady one, and one whose speed drifts (a random walk of 3% per trial, like
this 2-core VM, whose speed on a fixed CPU loop wandered by 50% over minutes).

The selection procedure is what is measured, so the trial function is synthetic (a known
function times the machine's speed, plus Gaussian noise) and no containers run.

    .venv/bin/python bench/confirm.py [STUDIES [NOISE_SD [RUNS]]]
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import textwrap


def truth(x: int) -> float:
    return 1 + 0.05 * (x - 3) ** 2  # x in 1..9: the best is x=3; the default x=9 scores 2.8


def grouped_confirm(study, space, trial_fn, top: int, runs: int) -> tuple[int, float]:
    """The previous procedure: each top configuration re-run `runs` times in a row; the
    winner on the median of all its results; its gain against the study's first baseline."""
    from tuner.optimize import CONFIRM, run_study
    from tuner.selection import config_key, top_configurations

    configs = top_configurations(study, top)
    for params in configs:
        for _ in range(runs):
            study.enqueue_trial(params, user_attrs={CONFIRM: True})
    run_study(study, space, trial_fn, n_trials=len(configs) * runs, grid=False)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]

    def pooled(params):
        return statistics.median(t.value for t in done if config_key(t.params) == config_key(params))

    winner = min(configs, key=pooled)
    reruns = [t.value for t in done
              if t.user_attrs.get(CONFIRM) and config_key(t.params) == config_key(winner)]
    return winner["x"], statistics.median(reruns) / done[0].value - 1


def main() -> None:
    import optuna

    from tuner.job import parse_job
    from tuner.optimize import confirm_top, run_study
    from tuner.space import Space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    studies = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    noise = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1  # neighbours differ by 0.05
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    job = parse_job(textwrap.dedent("""
        parameters: {x: {range: {min: 1, max: 9}, default: 9}}
        spec: {containers: {main: {image: none}}}
    """), "bench.yaml", environ={})
    space = Space(job, job.source)
    print(f"{studies} studies per machine: x in 1..9, true best x=3 (neighbours 5% worse), "
          f"noise sd {noise}, 25 TPE trials, then 3 configurations confirmed in {runs} runs")
    print(f"{'machine':<9} {'winner is the true best:':<26}{'single':>8}{'grouped':>9}"
          f"{'interleaved':>12}   {'error of the gain vs baseline:':<31}{'grouped':>8}"
          f"{'interleaved':>12}")
    for machine, drift in (("steady", 0.0), ("drifting", 0.03)):
        hits = {"single": 0, "grouped": 0, "interleaved": 0}
        errors: dict[str, list[float]] = {"grouped": [], "interleaved": []}
        for seed in range(studies):
            for how in ("grouped", "interleaved"):
                # The same search for both (same seeds): only the confirmation differs.
                rng = random.Random(seed)
                speed = [1.0]

                def trial_fn(params: dict, trial: object) -> float:
                    speed[0] *= math.exp(rng.gauss(0, drift))
                    return speed[0] * (truth(params["x"]) + rng.gauss(0, noise))

                study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
                run_study(study, space, trial_fn, n_trials=25, grid=False)
                if how == "grouped":
                    hits["single"] += study.best_trial.params["x"] == 3
                    winner, gain = grouped_confirm(study, space, trial_fn, 3, runs)
                else:
                    confirm_top(study, space, trial_fn, top=3, runs=runs, seed=seed)
                    summary = study.user_attrs["confirmed"]
                    winner = summary["winner"]["params"]["x"]
                    gain = summary["change_vs_baseline"]
                hits[how] += winner == 3
                errors[how].append(abs(gain - (truth(winner) / truth(9) - 1)))
        print(f"{machine:<9} {'':<26}{hits['single'] / studies:>8.1%}"
              f"{hits['grouped'] / studies:>9.1%}{hits['interleaved'] / studies:>12.1%}   "
              f"{'(mean absolute, in points)':<31}"
              f"{100 * statistics.fmean(errors['grouped']):>8.1f}"
              f"{100 * statistics.fmean(errors['interleaved']):>12.1f}")


if __name__ == "__main__":
    main()
