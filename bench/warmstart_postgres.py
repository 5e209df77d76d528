"""Warm start on a real system: PostgreSQL 15 under pgbench (jobs/postgres.yaml).

A study tunes the server for 8 clients; then 32 clients are tuned twice, for the same number
of trials: cold, and warm-started from the 8-client study (`--warm-start`). Printed: each
32-client study's best-so-far after every trial (transactions per second, higher is better),
the trial at which each first came within 5% and 2% of the better final best, and, since
best-so-far of single runs favours the lucky, both final best configurations and the default
re-measured side by side in shuffled rounds (`tuner optimize --measure`-style enqueued runs on a
study of their own).

    .venv/bin/python bench/warmstart_postgres.py [--trials 20] [--rounds 4] [--seconds 5]
        [--db bench-warmstart-pg.db] [--out bench-warmstart-pg.json]

Needs the image tuner-demo/postgres:15 (jobs/postgres/build.sh, or scripts/setup.sh). About
10 s a trial with --seconds 5: the defaults take about 15 minutes. A study already in --db is
not run again (the bench resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "jobs" / "postgres.yaml"
TUNER = [sys.executable, "-m", "tuner"]


def tuner(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([*TUNER, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"tuner {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out.stdout


def studies(url: str) -> set[str]:
    import optuna

    try:
        return {s.study_name for s in optuna.get_all_study_summaries(url)}
    except Exception:  # noqa: BLE001 - no database yet
        return set()


def run(url: str, study: str, clients: int, trials: int, seed: int, env: dict[str, str],
        *extra: str) -> None:
    if study in studies(url):
        print(f"{study}: already in the database, not run again", file=sys.stderr)
        return
    print(f"{study}: {trials} trials on {clients} clients {' '.join(extra)}", file=sys.stderr)
    tuner("optimize", str(JOB), "--storage", url, "--study", study, "--n-trials", str(trials),
          "--seed", str(seed), "--workload", f"clients={clients}", "--no-prune", *extra, env=env)


def curve(url: str, study: str) -> list[dict]:
    """Best-so-far after each trial, and which trial it was."""
    import optuna

    best, out = None, []
    for t in optuna.load_study(study_name=study, storage=url).trials:
        if t.value is not None and (best is None or t.value > best[0]):
            best = (t.value, t.number, dict(t.params))
        out.append({"trial": t.number, "value": t.value, "best": best[0] if best else None,
                    "best_trial": best[1] if best else None,
                    "seed": "warm_seed" in t.user_attrs, "params": dict(t.params)})
    return out


def reached(points: list[dict], level: float) -> int | None:
    return next((p["trial"] + 1 for p in points if p["best"] and p["best"] >= level), None)


def remeasure(url: str, configs: dict[str, dict], rounds: int, seed: int,
              env: dict[str, str]) -> dict[str, list[float]]:
    """Every configuration once per round, in a shuffled order, on a study of its own."""
    import optuna

    name = "remeasure"
    if name not in studies(url):
        s = optuna.create_study(study_name=name, storage=url, direction="maximize")
        rng = random.Random(seed)
        for r in range(rounds):
            order = list(configs.items())
            rng.shuffle(order)
            for label, params in order:
                s.enqueue_trial({**params}, user_attrs={"label": label, "round": r})
        run_enqueued(url, name, rounds * len(configs), env)
    got: dict[str, list[float]] = {label: [] for label in configs}
    for t in optuna.load_study(study_name=name, storage=url).trials:
        if t.value is not None:
            got[t.user_attrs["label"]].append(t.value)
    return got


def run_enqueued(url: str, study: str, n: int, env: dict[str, str]) -> None:
    """The waiting trials, run by tuner on 32 clients (the job's trial function)."""
    tuner("optimize", str(JOB), "--storage", url, "--study", study, "--n-trials", str(n),
          "--workload", "clients=32", "--no-prune", env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=5, help="pgbench's run length")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default="bench-warmstart-pg.db")
    ap.add_argument("--out", default="bench-warmstart-pg.json")
    a = ap.parse_args()
    url = f"sqlite:///{Path(a.db).resolve()}"
    env = {**os.environ, "PGBENCH_SECONDS": str(a.seconds), "PYTHONPATH": str(ROOT)}
    run(url, "pg8", 8, a.trials, a.seed, env)
    run(url, "pg32-cold", 32, a.trials, a.seed, env)
    run(url, "pg32-warm", 32, a.trials, a.seed, env, "--warm-start", "pg8")
    curves = {s: curve(url, s) for s in ("pg32-cold", "pg32-warm")}
    top = max(c[-1]["best"] for c in curves.values())
    report = {"trials": a.trials, "seconds": a.seconds, "curves": curves,
              "reached": {s: {"5%": reached(c, 0.95 * top), "2%": reached(c, 0.98 * top)}
                          for s, c in curves.items()}}
    finals = {s: next(p["params"] for p in c if p["trial"] == c[-1]["best_trial"])
              for s, c in curves.items()}
    finals["default"] = curves["pg32-cold"][0]["params"]
    report["remeasured"] = remeasure(url, finals, a.rounds, a.seed, env)
    Path(a.out).write_text(json.dumps(report, indent=1))
    print_report(report)


def print_report(r: dict) -> None:
    cold, warm = r["curves"]["pg32-cold"], r["curves"]["pg32-warm"]
    print(f"best-so-far, tps on 32 clients ({r['trials']} trials each, pgbench "
          f"{r['seconds']} s a run; * = an earlier study's configuration run first)")
    print(f"{'trial':>5} {'cold':>9} {'warm':>9}")
    for c, w in zip(cold, warm):
        mark = "*" if w["seed"] else " "
        print(f"{c['trial'] + 1:>5} {c['best']:>9.1f} {w['best']:>9.1f}{mark}")
    for s, got in r["reached"].items():
        print(f"{s}: within 5% of the better final best at trial {got['5%']}, within 2% at "
              f"{got['2%']}")
    print("re-measured side by side (tps per round, median):")
    import statistics

    for label, values in r["remeasured"].items():
        print(f"  {label:>10}: {', '.join(f'{v:.0f}' for v in values)}  "
              f"(median {statistics.median(values):.0f})")


if __name__ == "__main__":
    main()
