"""Racing with real containers: a job whose score is noisy by design (busybox, 10% noise per
run from the shell's $RANDOM), a budget in container runs, and the answer led by the raced
configuration, its side-by-side gain and the study's measured noise."""

from __future__ import annotations

import json
import math

import optuna
import pytest

pytestmark = pytest.mark.docker

# score = ((x-3)^2 + 1) * (1 + u), u uniform in [-0.17, 0.17): about 10% noise (sd) per run
JOB = """
name: race
objective: {{container: main, regex: 'total ([-0-9.]+)'}}
parameters:
  x: {{range: {{min: 1, max: 6}}, default: 6}}
  y: {{enum: [a, b], default: a}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'n=$((RANDOM % 2000 - 1000)); b=0; [ "$Y" = b ] && b=1; awk -v x=$X -v n=$n -v b=$b "BEGIN {{ print \\"total\\", ((x-3)*(x-3) + 1 + b) * (1 + 0.17 * n / 1000) }}"']
  timeout: 10s
"""


def test_racing_study_on_a_noisy_job(busybox, write_job, run_cli, tmp_path, capsys):
    path = write_job(JOB.format(image=busybox), name="race.yaml")
    assert run_cli("optimize", str(path), "--race", "--max-runs", "26", "--confirm-runs", "3",
                   "--seed", "2", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    trials = optuna.load_study(study_name="race",
                               storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert len(trials) <= 26  # one container run per trial
    assert trials[0].user_attrs.get("baseline") and trials[0].params == {"x": 6, "y": "a"}
    # Race runs come in pairs, the incumbent and the candidate, each a trial of its own.
    pairs: dict[tuple, set[str]] = {}
    for t in trials:
        race = t.user_attrs.get("race")
        if race:
            pairs.setdefault((race["id"], race["pair"]), set()).add(race["role"])
    assert all(roles == {"incumbent", "candidate"} for roles in pairs.values())
    # The answer: the raced configuration, its gain measured side by side with an interval.
    assert best["chosen_on"] == "race"
    assert best["confirmed"]["method"] == "race"
    chosen = best["params"]
    true_gain = ((chosen["x"] - 3) ** 2 + 1 + (chosen["y"] == "b")) / 10 - 1
    lo, hi = best["change_vs_baseline_ci"]
    assert lo < best["change_vs_baseline"] < hi
    assert true_gain > -0.95 and chosen["x"] in (2, 3, 4)
    # Three rounds of 10% noise cannot give a narrow interval, however well they agree: the
    # interval (of the log ratio) is at least as wide as the study's measured noise allows.
    noise = best["noise"]
    assert noise["cv"] is not None and noise["pair_sd"] is not None
    assert 0.04 < noise["cv"] < 0.3
    assert math.log((1 + hi) / (1 + lo)) >= 2 * 1.95 * noise["pair_sd"] / math.sqrt(3)
    assert best["best_single_run"]["note"].startswith("one run")
    # `best` leads with it; the single luckiest trial comes after, as one run.
    assert run_cli("best") == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("best (raced, side by side with the default)") and "x=" in first
    assert "against the default, 95% interval" in out and "one run: trial" in out
    assert "noise: " in out and "per run" in out
    assert "stopped: the run budget (--max-runs 26) was spent" in " ".join(out.split())
    # trials --json carries the study's noise on every row.
    assert run_cli("trials", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["study_noise"] == best["noise"] for r in rows)
    # The report's first section leads with the same answer.
    assert run_cli("report", "-o", str(tmp_path / "r.html")) == 0
    html = (tmp_path / "r.html").read_text()
    section = html.split('<section id="best">')[1]
    assert section.index("The configuration to deploy") < section.index("<table")
    assert "Measured noise:" in html


def test_race_refuses_what_it_cannot_honour(busybox, write_job, run_cli, capsys):
    path = write_job(JOB.format(image=busybox), name="race.yaml")
    for extra in (["--sampler", "grid"], ["--confirm", "2"], ["--rebaseline", "3"]):
        assert run_cli("optimize", str(path), "--race", *extra) == 2
        assert "--race: not with" in capsys.readouterr().err
    assert run_cli("optimize", str(path), "--max-runs", "3", "--confirm", "2") == 2
    assert "--max-runs" in capsys.readouterr().err
    assert run_cli("optimize", str(path), "--stop-when-done") == 2
    assert "only with --race" in capsys.readouterr().err


def test_stop_when_done_with_containers(busybox, write_job, run_cli, tmp_path, capsys):
    path = write_job(JOB.format(image=busybox), name="race.yaml")
    assert run_cli("optimize", str(path), "--race", "--stop-when-done", "--max-runs", "80",
                   "--confirm-runs", "2", "--seed", "4", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    stopped = best["confirmed"]["race"]["stopped"]
    n = len(optuna.load_study(study_name="race",
                              storage=f"sqlite:///{tmp_path}/tuner.db").get_trials())
    # Either done early (the reason says so) or the budget ran out first: never silent.
    assert stopped.startswith("done: none of the last 10 candidates") and n < 80 \
        or stopped.startswith("the run budget")
