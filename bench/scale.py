"""Questions on a big study: builds a 10,000-trial study and times every question on it.

The study is made through Optuna's own API (so it is what `tuner optimize` and Optuna's tools
read), three parameters, with the attributes a demo trial carries (its samples, spread and
workload values; a reason on the failed ones; the default configuration as trial 0) and a row
per container in tuner_runs. Each question is a whole `tuner` process, timed once, beside the
anchor: Optuna's own load of all trials (also a whole process).

    .venv/bin/python bench/scale.py [--trials 10000] [--sqlite-only] [--keep DIR]
                                    [--postgres postgresql://user@host:port]

MariaDB is used as scripts/setup.sh makes it (TUNER_TEST_MYSQL, default
mysql+pymysql://tuner:tuner@127.0.0.1); `--keep DIR` keeps the SQLite file (and reuses it);
`--postgres SERVER` adds a column for a PostgreSQL server whose user may create databases.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = os.environ.get("TUNER_TEST_MYSQL", "mysql+pymysql://tuner:tuner@127.0.0.1")
STUDY = "scale"
GOALS = {"best": 0.5, "trials --json": 1.0, "importance": 5.0, "report": 5.0, "studies": 0.5}


def build(url: str, n: int, seed: int = 1) -> float:
    """A study of n trials; returns the seconds it took."""
    import optuna
    from optuna.distributions import CategoricalDistribution, IntDistribution

    from tuner.attrs import BASELINE, JOB, REASON, SAMPLES, SPREAD, UNITS, WORKLOADS
    from tuner.storage import engine_of, open_storage
    from tuner.storage.tables import add_rows, ensure_tables

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = random.Random(seed)
    started = time.perf_counter()
    storage = open_storage(url)
    study = optuna.create_study(study_name=STUDY, storage=storage, direction="minimize")
    study.set_user_attr(JOB, "/nowhere/scale.yaml")
    study.set_user_attr(UNITS, {"batchSize": "bytes"})
    dists = {"numChunk": IntDistribution(1, 64),
             "batchSize": IntDistribution(1024, 1 << 30, step=1024),
             "mode": CategoricalDistribution(["fast", "safe", "off"])}
    trials = []
    for i in range(n):
        params = {"numChunk": rng.randint(1, 64), "batchSize": rng.randrange(1024, 1 << 30, 1024),
                  "mode": rng.choice(["fast", "safe", "off"])}
        if i == 0:
            params = {"numChunk": 8, "batchSize": 1 << 20, "mode": "safe"}
        # A score with an interior optimum, noise, and a weak third parameter.
        value = (abs(params["numChunk"] - 12) / 8 + abs(params["batchSize"] / 2**30 - 0.3)
                 + (0.2 if params["mode"] == "safe" else 0) + rng.gauss(1.0, 0.05))
        samples = {"dataSize=300m": [value * rng.uniform(0.97, 1.03) for _ in range(3)],
                   "dataSize=4g": [value * 8 * rng.uniform(0.97, 1.03) for _ in range(3)]}
        attrs = {SAMPLES: samples,
                 SPREAD: {k: {"n": 3, "min": min(v), "max": max(v), "cv": 0.02}
                          for k, v in samples.items()},
                 WORKLOADS: {k: sorted(v)[1] for k, v in samples.items()}}
        if i == 0:
            attrs[BASELINE] = True
        state = optuna.trial.TrialState.COMPLETE
        if rng.random() < 0.02 and i:
            state, value = optuna.trial.TrialState.FAIL, None
            attrs = {REASON: "container c1 exited with code 2 (see c1.log)"}
        trials.append(optuna.trial.create_trial(
            params=params, distributions=dists, value=value, state=state, user_attrs=attrs,
            system_attrs={"artifacts:x": '{"filename": "merged.log"}'}))
    study.add_trials(trials)
    engine = engine_of(study)
    ensure_tables(engine)
    ids = [t._trial_id for t in study.get_trials(deepcopy=False)]
    now = time.time()
    rows = []
    for k, tid in enumerate(ids):
        for c in ("c1", "b", "score"):
            rows.append({"trial_id": tid, "container": c, "run_label": None,
                         "image": f"tracelog/{c}:1", "exit_code": 0, "oom_killed": False,
                         "killed": False, "started_at": now + k, "ended_at": now + k + 1.2,
                         "seconds": 1.2, "peak_memory_bytes": 50 << 20, "cpu_seconds": 0.8,
                         "log_bytes": 120, "log_path": f"results/{STUDY}/{k}/{c}.log",
                         "log_tail": "total 1.2s\n"})
    for i in range(0, len(rows), 3000):
        add_rows(engine, rows[i:i + 3000], [])
    return time.perf_counter() - started


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return seconds, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    return seconds, ""


def questions(url: str, out: Path) -> list[tuple[str, float, str]]:
    env = {**os.environ, "TUNER_STORAGE": url}
    tuner = [sys.executable, "-m", "tuner"]
    rows = []
    from tuner.storage import _with_password

    anchor = ("import optuna; optuna.logging.set_verbosity(40); "
              f"s = optuna.load_study(study_name={STUDY!r}, storage={_with_password(url)!r}); "
              "print(len(s.get_trials(deepcopy=False)))")
    rows.append(("optuna load_study + get_trials (anchor)",
                 *timed([sys.executable, "-c", anchor], env)))
    for name, args in (("best", ["best"]), ("trials --json", ["trials", "--json"]),
                       ("importance", ["importance"]),
                       ("report", ["report", "-o", str(out / "report.html")]),
                       ("studies", ["studies"])):
        rows.append((name, *timed(tuner + args, env)))
    return rows


def on_server(label: str, server: str, trials: int) -> str:
    """The study's database on a server, built once (and reused)."""
    import sqlalchemy

    from tuner.storage import _with_password

    name = f"tuner_scale_{trials}"
    admin = sqlalchemy.create_engine(_with_password(server + "/postgres" if label ==
                                                    "PostgreSQL" else server + "/"),
                                     isolation_level="AUTOCOMMIT")
    find = ("SELECT 1 FROM pg_database WHERE datname = :n" if label == "PostgreSQL"
            else "SHOW DATABASES LIKE :n")
    with admin.connect() as conn:
        have = conn.execute(sqlalchemy.text(find), {"n": name}).first()
        if have is None:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = f"{server}/{name}"
    if have is None:
        print(f"building {trials:,} trials in {label} {name} ...", flush=True)
        print(f"  built in {build(url, trials):.1f} s", flush=True)
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--sqlite-only", action="store_true", help="no MariaDB")
    ap.add_argument("--keep", help="keep (and reuse) the SQLite study in this folder")
    ap.add_argument("--postgres", help="a PostgreSQL server URL, without a database")
    a = ap.parse_args()
    tmp = Path(a.keep or tempfile.mkdtemp(prefix="tuner-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    urls = []
    db = tmp / f"scale-{a.trials}.db"
    sqlite_url = f"sqlite:///{db}"
    if not db.exists():
        print(f"building {a.trials:,} trials in {db} ...", flush=True)
        print(f"  built in {build(sqlite_url, a.trials):.1f} s", flush=True)
    urls.append(("SQLite", sqlite_url))
    if not a.sqlite_only:
        urls.append(("MariaDB", on_server("MariaDB", SERVER, a.trials)))
    if a.postgres:
        urls.append(("PostgreSQL", on_server("PostgreSQL", a.postgres, a.trials)))
    failed = False
    for label, url in urls:
        print(f"\n{label}, {a.trials:,} trials: whole process, seconds")
        for name, seconds, error in questions(url, tmp):
            goal = GOALS.get(name)
            verdict = "" if goal is None else ("ok" if seconds <= goal and not error
                                               else "OVER")
            failed |= verdict == "OVER"
            print(f"  {name:42s} {seconds:7.2f}  {('goal <= %g' % goal) if goal else '':12s} "
                  f"{verdict} {error}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
