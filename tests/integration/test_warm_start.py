"""Warm start with real containers: an earlier study in SQLite starts a new one in MariaDB whose
job renamed a parameter, narrowed a range and removed an enum value; the earlier trials steer
the sampler and run first, and never count as the new study's results. Bad --warm-start values
stop before anything starts."""

from __future__ import annotations

import json

import optuna
import pytest

pytestmark = pytest.mark.docker

# score = (x - 3)^2 + 1 (+1 with y=b, +2 with y=c): the best is x=3, y=a
EARLIER = """
name: earlier
objective: {{container: main, regex: 'total ([-0-9.]+)'}}
parameters:
  x: {{range: {{min: 1, max: 8}}, default: 8}}
  y: {{enum: [a, b, c], default: a}}
  old: {{range: {{min: 1, max: 4}}, default: 1}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'awk -v x=$X -v y=$Y "BEGIN {{ b = (y == \\"b\\") + 2 * (y == \\"c\\"); print \\"total\\", (x-3)*(x-3) + 1 + b }}"']
  timeout: 10s
"""
# The new release: `old` renamed `new`, x narrowed to 2..6, y=c gone; the best moved to x=4.
LATER = """
name: later
objective: {{container: main, regex: 'total ([-0-9.]+)'}}
parameters:
  x: {{range: {{min: 2, max: 6}}, default: 6}}
  y: {{enum: [a, b], default: a}}
  new: {{range: {{min: 1, max: 4}}, default: 1}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'awk -v x=$X -v y=$Y "BEGIN {{ b = (y == \\"b\\"); print \\"total\\", (x-4)*(x-4) + 1 + b }}"']
  timeout: 10s
"""


def _fits(params: dict) -> bool:
    return 2 <= params["x"] <= 6 and params["y"] in ("a", "b")


def test_warm_start_from_sqlite_into_mariadb(busybox, write_job, run_cli, mysql_url, sql,
                                             tmp_path, capsys):
    earlier_url = f"sqlite:///{tmp_path}/earlier.db"
    path = write_job(EARLIER.format(image=busybox), name="earlier.yaml")
    assert run_cli("optimize", str(path), "--n-trials", "12", "--seed", "3",
                   "--storage", earlier_url) == 0
    capsys.readouterr()
    source = optuna.load_study(study_name="earlier", storage=earlier_url).trials
    fitting = [t for t in source if _fits(t.params)]

    path = write_job(LATER.format(image=busybox), name="later.yaml")
    assert run_cli("optimize", str(path), "--n-trials", "6", "--seed", "3", "--storage",
                   mysql_url, "--warm-start", "earlier", "--warm-start-storage", earlier_url,
                   "--json") == 0
    out, err = capsys.readouterr()
    # What was used and what was dropped, and why, said before the first trial.
    assert f"{len(fitting)} of {len(source)} finished trial(s) inform the sampler" in err
    if any(not 2 <= t.params["x"] <= 6 for t in source):
        assert "(x outside 2 .. 6)" in err
    if any(t.params["y"] == "c" and 2 <= t.params["x"] <= 6 for t in source):
        assert "(y=c is not a choice here)" in err
    assert "old (not a parameter of this job)" in err and "new here, no prior: new" in err

    trials = optuna.load_study(study_name="later", storage=mysql_url).trials
    assert len(trials) == 6  # this study's own measurements, nothing copied in
    assert trials[0].user_attrs.get("baseline") and trials[0].params == {"x": 6, "y": "a",
                                                                          "new": 1}
    # The earlier study's best configurations that fit run first, completed with the default.
    ranked = sorted(fitting, key=lambda t: (t.value, t.number))
    expected: list[dict] = []
    for t in ranked:
        point = {"x": t.params["x"], "y": t.params["y"], "new": 1}
        if point != trials[0].params and point not in expected:
            expected.append(point)
    seeds = [t for t in trials if "warm_seed" in t.user_attrs]
    assert [t.params for t in seeds] == expected[:3]
    assert [t.number for t in seeds] == list(range(1, 1 + len(seeds)))

    # The answer is this study's own: its best value is one it measured.
    best = json.loads(out)
    own = {t.number: t.value for t in trials}
    assert best["number"] in own and best["value"] == min(own.values())
    assert best["warm_start"]["study"] == "earlier" and best["warm_start"]["used"] == len(fitting)
    assert run_cli("trials", "--storage", mysql_url, "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 6
    assert len(sql(mysql_url, "select * from results_later")) == 6
    assert run_cli("studies", "--storage", mysql_url, "--json") == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["warm_start"]["trials"] == len(source)
    assert run_cli("report", "--storage", mysql_url, "-o", str(tmp_path / "r.html")) == 0
    html = (tmp_path / "r.html").read_text()
    assert "<h3>Prior</h3>" in html and "the earlier trials only steered the search" in html


def test_a_new_workload_value_starts_from_the_ones_measured(busybox, write_job, run_cli,
                                                            tmp_path, capsys):
    job = EARLIER.replace("old: {{range: {{min: 1, max: 4}}, default: 1}}",
                          "n: {{role: workload, enum: [1, 2], default: 1}}")
    path = write_job(job.format(image=busybox), name="wl.yaml")
    assert run_cli("optimize", str(path), "--n-trials", "6", "--seed", "1",
                   "--workload", "n=1") == 0
    capsys.readouterr()
    assert run_cli("optimize", str(path), "--n-trials", "4", "--seed", "1",
                   "--workload", "n=2", "--warm-start", "earlier") == 0
    err = capsys.readouterr().err
    assert "warm start from this study's trials on other workload values: 6 of 6" in err
    trials = optuna.load_study(study_name="earlier",
                               storage=f"sqlite:///{tmp_path}/tuner.db").trials
    later = trials[6:]
    assert [list(t.user_attrs["workloads"]) for t in later] == [["n=2"]] * 4
    assert later[0].user_attrs.get("baseline") and "warm_seed" in later[1].user_attrs


@pytest.mark.parametrize("args, code, says", [
    (["--warm-start", "nope"], 2, "--warm-start: no study 'nope' in sqlite:///"),
    (["--warm-start", "earlier", "--warm-start-storage", "sqlite:///missing.db"], 2,
     "--warm-start-storage: no study database at missing.db"),
    (["--warm-start", "earlier", "--warm-start-storage", "mysql://tuner@127.0.0.1:1/x"], 1,
     "--warm-start-storage: cannot open the study database"),
    (["--warm-start", "earlier", "--sampler", "grid"], 2, "only with --sampler tpe"),
    (["--warm-start-storage", "sqlite:///earlier.db"], 2, "only with --warm-start STUDY"),
    (["--warm-start", "earlier", "--storage", "sqlite:///nothere.db"], 2,
     "--warm-start: no study database at nothere.db"),
])
def test_bad_warm_start_values_stop_before_anything(write_job, run_cli, tmp_path, capsys,
                                                    args, code, says):
    earlier = tmp_path / "earlier.db"
    study = optuna.create_study(study_name="earlier", storage=f"sqlite:///{earlier}")
    study.add_trial(optuna.trial.create_trial(
        params={"x": 3}, distributions={"x": optuna.distributions.IntDistribution(1, 8)},
        value=1.0))
    path = write_job(LATER.format(image="none:1"), name="later.yaml")
    storage = f"sqlite:///{tmp_path}/new.db"
    if "--warm-start-storage" not in args:
        storage = f"sqlite:///{earlier}"
    if "--storage" in args:  # the job's own storage, not there yet: no database is made
        storage = args[args.index("--storage") + 1]
        args = args[:args.index("--storage")]
    assert run_cli("optimize", str(path), "--n-trials", "2", "--storage", storage,
                   "--study", "fresh", *args) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)] \
        if (tmp_path / storage.rsplit("/", 1)[1]).exists() else []
    assert "fresh" not in names  # nothing started, nothing made
    assert not (tmp_path / "nothere.db").exists()


def test_a_race_starts_from_the_earlier_best(busybox, write_job, run_cli, tmp_path, capsys):
    earlier_url = f"sqlite:///{tmp_path}/earlier.db"
    path = write_job(EARLIER.format(image=busybox), name="earlier.yaml")
    assert run_cli("optimize", str(path), "--n-trials", "8", "--seed", "2",
                   "--storage", earlier_url) == 0
    capsys.readouterr()
    path = write_job(LATER.format(image=busybox), name="later.yaml")
    assert run_cli("optimize", str(path), "--race", "--max-runs", "16", "--confirm-runs", "2",
                   "--seed", "2", "--warm-start", "earlier", "--warm-start-storage",
                   earlier_url, "--json") == 0
    best = json.loads(capsys.readouterr().out)
    trials = optuna.load_study(study_name="later",
                               storage=f"sqlite:///{tmp_path}/tuner.db").trials
    assert len(trials) <= 16 and trials[0].user_attrs.get("baseline")
    seeds = [t.number for t in trials if "warm_seed" in t.user_attrs]
    assert seeds and seeds == list(range(1, 1 + len(seeds)))
    assert best["chosen_on"] == "race" and best["warm_start"]["study"] == "earlier"
