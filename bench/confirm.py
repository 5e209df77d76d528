"""How often is the reported winner the true best? Single-run winner against the winner
chosen after confirmation (--confirm), over many seeded studies.

The selection procedure is what is measured, so the trial function here is synthetic
(a known function plus Gaussian noise) and no containers run: 300 studies in a minute.
The same run_study/confirm_top code runs under `tuner optimize --confirm`.

    .venv/bin/python bench/confirm.py [STUDIES [NOISE_SD [RUNS]]]
"""

from __future__ import annotations

import random
import sys
import textwrap


def main() -> None:
    import optuna

    from tuner.job import parse_job
    from tuner.optimize import confirm_top, run_study
    from tuner.space import Space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    studies = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    job = parse_job(textwrap.dedent("""
        parameters: {x: {range: {min: 1, max: 9}}}
        spec: {containers: {main: {image: none}}}
    """), "bench.yaml", environ={})
    space = Space(job, job.source)
    noise = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1  # neighbours differ by 0.05

    def truth(x: int) -> float:
        return 1 + 0.05 * (x - 3) ** 2

    single = confirmed = single_near = confirmed_near = 0
    single_bias: list[float] = []  # reported value minus the truth of what was reported
    confirmed_bias: list[float] = []
    for seed in range(studies):
        rng = random.Random(seed)

        def trial_fn(params: dict, trial: object) -> float:
            return truth(params["x"]) + rng.gauss(0, noise)

        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        run_study(study, space, trial_fn, n_trials=25, grid=False)
        single += study.best_trial.params["x"] == 3
        single_near += abs(study.best_trial.params["x"] - 3) <= 1
        single_bias.append(study.best_trial.value - truth(study.best_trial.params["x"]))
        confirm_top(study, space, trial_fn, top=3, runs=runs)
        w = study.user_attrs["confirmed"]["winner"]
        winner = w["params"]["x"]
        confirmed_bias.append(w["median"] - truth(winner))
        confirmed += winner == 3
        confirmed_near += abs(winner - 3) <= 1
    print(f"{studies} studies: x in 1..9, true best x=3, noise sd {noise} (neighbours differ "
          f"by 0.05), 25 TPE trials, then --confirm 3 with {runs} runs each")
    print(f"  single-run winner is the true best:  {single / studies:6.1%}")
    print(f"  confirmed winner is the true best:   {confirmed / studies:6.1%}")
    print(f"  within one step of it: single {single_near / studies:.1%}, "
          f"confirmed {confirmed_near / studies:.1%}")
    mean = sum(single_bias) / studies
    print(f"  reported score minus the winner's true score, on average: single {mean:+.3f}, "
          f"confirmed {sum(confirmed_bias) / studies:+.3f}  (the winner's curse)")


if __name__ == "__main__":
    main()
