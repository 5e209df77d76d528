"""#20: answers show values as the job wrote them, and both importances, on a PostgreSQL-like
study in SQLite (no Docker): sizes in bytes with units, a duration, an enum that matters
overall (synchronousCommit: off wins) and a size that decides among the best (workMem)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import create_trial

from tuner.attrs import BASELINE, CONFIRM, CONFIRM_ROUND, CONFIRMED, UNITS
from tuner.selection import confirmed_summary

M = 2**20
DISTS = {"sharedBuffers": IntDistribution(16 * M, 1024 * M, step=16 * M),
         "workMem": IntDistribution(1 * M, 64 * M),  # no step: sampled sizes are not round
         "checkpointTimeout": IntDistribution(30, 3600),
         "synchronousCommit": CategoricalDistribution(["on", "off", "local"])}
DEFAULT = {"sharedBuffers": 128 * M, "workMem": 4 * M, "checkpointTimeout": 300,
           "synchronousCommit": "on"}
UNIT_OF = {"sharedBuffers": "bytes", "workMem": "bytes", "checkpointTimeout": "seconds"}


def tps(p: dict, rng: random.Random) -> float:
    off = p["synchronousCommit"] == "off"
    return 3000 + (3000 + 60 * p["workMem"] / M if off else 0) + rng.gauss(0, 20)


def make_pg_study(path: Path, n: int = 60, rebaselines: int = 0, seed: int = 0) -> optuna.Study:
    """The default first, `n` sampled trials (most with synchronousCommit=off, as TPE would
    run them), `rebaselines` re-measurements of the default, and 3 confirmation rounds."""
    rng = random.Random(seed)
    s = optuna.create_study(study_name="pg", direction="maximize",
                            storage=f"sqlite:///{path}/tuner.db")
    s.set_user_attr(UNITS, UNIT_OF)
    trials = [create_trial(params=DEFAULT, distributions=DISTS, value=tps(DEFAULT, rng),
                           user_attrs={BASELINE: True})]
    for _ in range(n):
        p = {"sharedBuffers": rng.randrange(16, 1025, 16) * M,
             "workMem": rng.randint(1 * M, 64 * M), "checkpointTimeout": rng.randint(30, 3600),
             "synchronousCommit": rng.choices(["on", "off", "local"], [1, 6, 1])[0]}
        trials.append(create_trial(params=p, distributions=DISTS, value=tps(p, rng)))
    for _ in range(rebaselines):
        trials.append(create_trial(params=DEFAULT, distributions=DISTS, value=tps(DEFAULT, rng),
                                   user_attrs={BASELINE: True}))
    s.add_trials(trials)
    top = sorted((t for t in trials[1:n + 1]), key=lambda t: -t.value)[:2]
    configs = [dict(t.params) for t in top]
    for r in (1, 2, 3):
        for params in configs + [DEFAULT]:
            attrs = {CONFIRM: True, CONFIRM_ROUND: r, **({BASELINE: True} if params == DEFAULT
                                                          else {})}
            s.add_trial(create_trial(params=params, distributions=DISTS, user_attrs=attrs,
                                     value=tps(params, rng)))
    s.set_user_attr(CONFIRMED, confirmed_summary(s, configs))
    return s


def raw_sizes(study: optuna.Study) -> set[str]:
    """Every size any trial ran, as raw digits: none of them may show outside --json."""
    return {str(t.params[p]) for t in study.trials for p in ("sharedBuffers", "workMem")}


def assert_as_written(text: str, raws: set[str]) -> None:
    shown = set(re.findall(r"\d+", text)) & raws
    assert not shown, f"raw byte counts shown: {sorted(shown)[:5]}"
