"""Racing against today's method on real PostgreSQL: are racing's stated gains true, and are
its chosen configurations at least as good? (issue #22)

For seeds 1..S and two methods, one study each of jobs/postgres.yaml (pgbench, 8 clients,
real containers), driven through the `tuner` CLI at the same budget of N container runs:

    confirm   today: single-run trials, then --confirm 3 --confirm-runs R   (--max-runs N)
    race      --race --max-runs N --confirm-runs R

Each study's answer is read from `tuner best --json`: the chosen configuration (`params`),
its stated gain over the default (`change_vs_baseline`) and the 95% interval
(`change_vs_baseline_ci`). Then every chosen configuration (identical ones once) and
PostgreSQL's default are re-measured on a fresh study in --rounds shuffled rounds (each
round runs every configuration once, in a random order): a configuration's re-measured gain
is the median of its per-round ratios to the default, with a distribution-free 95% interval
(order statistics of the ratios). Printed: per study, whether the re-measured gain falls
inside the stated interval; per method, the mean re-measured gain and how many stated
intervals held. Written as JSON to --out.

Each study keeps its own SQLite file and answer in --dir: run again, it skips studies that
have their answer and re-measure rounds already done. PGBENCH_SECONDS (default here 5) and
PGBENCH_SCALE shorten or lengthen each pgbench run. About 8 s a run on 2 cores: the defaults
(3 seeds, 50 runs, 4 final rounds, 10 re-measure rounds) took 48 minutes.

    .venv/bin/python bench/racing_postgres.py [--seeds 3] [--runs 50] [--confirm-runs 4]
        [--rounds 10] [--dir racing-postgres] [--out racing-postgres.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "jobs" / "postgres.yaml"
TUNER = str(Path(sys.executable).parent / "tuner")
METHODS = ("confirm", "race")
ROUND = "remeasure_round"


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """The median of values and a distribution-free interval for it: the k-th smallest and
    k-th largest values, k the largest for which the binomial tails stay within 1 - level
    (10 values: the 2nd and 9th, 97.9%). Too few values for any: (median, min, max)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    tail, k = 0.0, 0
    for i in range(n):  # P(Binomial(n, 1/2) <= i), one tail
        tail += math.comb(n, i) / 2 ** n
        if 2 * tail > 1 - level:
            break
        k = i + 1
    lo, hi = (xs[k - 1], xs[n - k]) if k else (xs[0], xs[-1])
    return statistics.median(xs), lo, hi


def round_ratios(rounds: list[dict[str, float]], label: str, base: str = "default"
                 ) -> list[float]:
    """Per round, label's score over the default's (rounds where either failed are left out)."""
    return [r[label] / r[base] for r in rounds if label in r and base in r and r[base] > 0]


def _run(cmd: list[str], log: Path) -> str:
    with log.open("a") as err:
        err.write(f"$ {' '.join(cmd)}\n")
        err.flush()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}; see {log}")
    return done.stdout


def study(out: Path, method: str, seed: int, runs: int, confirm_runs: int) -> dict[str, Any]:
    """One study of the job by the tuner CLI, or its saved answer."""
    name = f"{method}-s{seed}"
    answer = out / f"{name}.json"
    if answer.exists():
        return json.loads(answer.read_text())
    db = out / f"{name}.db"
    db.unlink(missing_ok=True)  # a half-run study starts again: its budget would be off
    storage = ["--storage", f"sqlite:///{db}", "--study", name]
    extra = ["--confirm", "3"] if method == "confirm" else ["--race"]
    start = time.monotonic()
    _run([TUNER, "optimize", str(JOB), *storage, "--results", str(out / "results"),
          "--seed", str(seed), "--workload", "clients=8", "--n-trials", "100000",
          "--max-runs", str(runs), "--confirm-runs", str(confirm_runs), *extra],
         out / f"{name}.log")
    best = json.loads(_run([TUNER, "best", "--json", *storage], out / f"{name}.log"))
    trials = json.loads(_run([TUNER, "trials", "--json", *storage], out / f"{name}.log"))
    result = {"method": method, "seed": seed, "best": best, "trials": len(trials),
              "minutes": (time.monotonic() - start) / 60}
    answer.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def remeasure(out: Path, configs: dict[str, dict[str, Any]], rounds: int, seed: int
              ) -> list[dict[str, float]]:
    """Every configuration once per round, in a shuffled order, on one fresh study; the
    scores by label, per round. Rounds already in the study are kept."""
    import optuna

    from tuner import app

    url, name = f"sqlite:///{out / 'remeasure.db'}", "remeasure"
    if not (out / "remeasure.db").exists():  # its first trial, the default, is a warm-up
        _run([TUNER, "optimize", str(JOB), "--storage", url, "--study", name, "--results",
              str(out / "results"), "--workload", "clients=8", "--n-trials", "1"],
             out / "remeasure.log")
    rng = random.Random(seed)
    by_key = {_key(p): label for label, p in configs.items()}
    for r in range(rounds):
        order = list(configs)
        rng.shuffle(order)  # drawn every round, done or not, so a resumed run keeps its orders
        if len(_scores(url, name, by_key).get(r, {})) < len(configs):
            print(f"re-measure round {r + 1}/{rounds}: {', '.join(order)}", flush=True)
            app.run_points(url, name, str(JOB), [configs[label] for label in order],
                           results=str(out / "results"), user_attrs={ROUND: r})
    scores = _scores(url, name, by_key)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return [scores.get(r, {}) for r in range(rounds)]


def _scores(url: str, name: str, by_key: dict[str, str]) -> dict[int, dict[str, float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    per: dict[int, dict[str, float]] = {}
    for t in optuna.load_study(study_name=name, storage=url).get_trials():
        r = t.user_attrs.get(ROUND)
        if r is None or t.state.name != "COMPLETE" or _key(t.params) not in by_key:
            continue
        per.setdefault(r, {})[by_key[_key(t.params)]] = t.value  # the round's last run
    return per


def rows(studies: list[dict[str, Any]], labels: dict[str, str],
         rounds: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Per study: its answer beside the re-measured gain of its chosen configuration."""
    out = []
    for s in studies:
        best = s["best"]
        ratios = round_ratios(rounds, labels[_key(best["params"])])
        med, lo, hi = median_interval(ratios) if ratios else (math.nan,) * 3
        ci = best.get("change_vs_baseline_ci") or [math.nan, math.nan]
        gain = med - 1
        out.append({"method": s["method"], "seed": s["seed"], "params": best["params"],
                    "label": labels[_key(best["params"])], "trials": s["trials"],
                    "minutes": round(s["minutes"], 1), "chosen_on": best.get("chosen_on"),
                    "stated": best.get("change_vs_baseline"), "stated_ci": ci,
                    "remeasured": gain, "remeasured_ci": [lo - 1, hi - 1],
                    "rounds": len(ratios), "held": ci[0] <= gain <= ci[1]})
    return out


def paired(result: list[dict[str, Any]], rounds: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Per seed, racing's chosen configuration against today's, side by side in the rounds."""
    out = []
    for r in result:
        other = next((o for o in result if o["method"] == "confirm" and o["seed"] == r["seed"]),
                     None)
        if r["method"] != "race" or other is None:
            continue
        ratios = round_ratios(rounds, r["label"], other["label"])
        med, lo, hi = median_interval(ratios) if ratios else (math.nan,) * 3
        out.append({"seed": r["seed"], "race_vs_confirm": med - 1, "ci": [lo - 1, hi - 1]})
    return out


def _pct(x: float | None) -> str:
    return "   -  " if x is None or math.isnan(x) else f"{100 * x:+.1f}%"


def table(result: list[dict[str, Any]], configs: dict[str, dict[str, Any]],
          paired_rows: list[dict[str, Any]]) -> str:
    lines = [f"{'method':8} {'seed':>4}  {'stated':>7}  {'stated 95%':>17}  {'re-measured':>11}"
             f"  {'its 95%':>17}  held  trials  chosen"]
    for r in result:
        lines.append(f"{r['method']:8} {r['seed']:>4}  {_pct(r['stated']):>7}  "
                     f"{_pct(r['stated_ci'][0]):>7} .. {_pct(r['stated_ci'][1]):>7}  "
                     f"{_pct(r['remeasured']):>11}  {_pct(r['remeasured_ci'][0]):>7} .. "
                     f"{_pct(r['remeasured_ci'][1]):>7}  {'yes' if r['held'] else 'NO':>4}  "
                     f"{r['trials']:>6}  {r['label']}")
    for m in METHODS:
        mine = [r for r in result if r["method"] == m]
        if mine:
            lines.append(f"{m}: mean re-measured gain {_pct(statistics.fmean(r['remeasured'] for r in mine))}"
                         f" (stated {_pct(statistics.fmean(r['stated'] or 0 for r in mine))}); "
                         f"{sum(r['held'] for r in mine)} of {len(mine)} stated intervals held")
    for p in paired_rows:
        lines.append(f"seed {p['seed']}: racing's choice against today's, side by side: "
                     f"{_pct(p['race_vs_confirm'])} ({_pct(p['ci'][0])} .. {_pct(p['ci'][1])})")
    lines.append("configurations:")
    lines += [f"  {label}: {_short(p)}" for label, p in configs.items()]
    return "\n".join(lines)


def _short(params: dict[str, Any]) -> str:
    def size(v: Any) -> Any:
        return f"{v // 2 ** 20}m" if isinstance(v, int) and v >= 2 ** 20 else v
    return " ".join(f"{k}={size(v)}" for k, v in params.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds 1..S per method")
    ap.add_argument("--runs", type=int, default=50, help="container runs per study")
    ap.add_argument("--confirm-runs", type=int, default=4, help="final rounds in a study")
    ap.add_argument("--rounds", type=int, default=10, help="re-measure rounds")
    ap.add_argument("--dir", default="racing-postgres", help="studies, answers, logs")
    ap.add_argument("--out", default="racing-postgres.json", help="the figures, as JSON")
    a = ap.parse_args()
    os.environ.setdefault("PGBENCH_SECONDS", "5")
    out = Path(a.dir).resolve()
    (out / "results").mkdir(parents=True, exist_ok=True)
    studies = []
    for seed in range(1, a.seeds + 1):
        for method in METHODS:
            print(f"study {method} seed {seed} ({a.runs} runs)", flush=True)
            studies.append(study(out, method, seed, a.runs, a.confirm_runs))
            print(f"  done: {json.dumps(studies[-1]['best'].get('change_vs_baseline_ci'))}"
                  f" in {studies[-1]['minutes']:.1f} min", flush=True)
    default = studies[0]["best"]["baseline"]["params"]
    configs, labels = {"default": default}, {_key(default): "default"}
    for s in studies:
        k = _key(s["best"]["params"])
        if k not in labels:
            labels[k] = f"{s['method']}-s{s['seed']}"
            configs[labels[k]] = s["best"]["params"]
    rounds = remeasure(out, configs, a.rounds, seed=2026)
    result = rows(studies, labels, rounds)
    pairs = paired(result, rounds)
    print(table(result, configs, pairs))
    Path(a.out).write_text(json.dumps({"runs": a.runs, "confirm_runs": a.confirm_runs,
                                       "pgbench_seconds": os.environ["PGBENCH_SECONDS"],
                                       "configs": configs, "rounds": rounds,
                                       "studies": result, "paired": pairs}, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
