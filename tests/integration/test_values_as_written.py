"""#20: answers show values as the job wrote them, and both importances, on a PostgreSQL-like
study in SQLite (no Docker): sizes in bytes with units, a duration, an enum that matters
overall (synchronousCommit: off wins) and a size that decides among the best (workMem)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import optuna
import pytest
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


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row a line: numbers are not wrapped


def test_best_effect_and_trials_show_sizes_as_the_job_wrote_them(tmp_path, run_cli, capsys,
                                                                  wide):
    study = make_pg_study(tmp_path)
    raws = raw_sizes(study)
    assert run_cli("best") == 0
    out = capsys.readouterr().out
    assert_as_written(out, raws)
    assert re.search(r"sharedBuffers\s+│\s+128m\s+│\s+\d+m\s+│", out), out
    assert re.search(r"workMem\s+│\s+4m\s+│\s+[\d.]+m\s+│", out), out
    assert re.search(r"checkpointTimeout\s+│\s+5m\s+│", out), out  # 300 s as written
    assert "after confirmation: sharedBuffers=" in out
    for param in ("workMem", "sharedBuffers"):
        assert run_cli("effect", param) == 0
        out = capsys.readouterr().out
        assert_as_written(out, raws)
        assert "2. around the best" in out and re.search(rf"{param}=[\d.]+m", out)
    assert run_cli("trials", "--all") == 0
    assert_as_written(capsys.readouterr().out, raws)

    # --json keeps the exact values.
    assert run_cli("best", "--json") == 0
    best = json.loads(capsys.readouterr().out)
    assert best["baseline"]["params"]["sharedBuffers"] == 128 * M
    assert str(best["params"]["workMem"]) in raws
    assert run_cli("effect", "workMem", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert all(isinstance(lv["low"], int) for lv in data["marginal"])
    assert data["units"]["workMem"] == "bytes"


def test_report_shows_sizes_as_the_job_wrote_them(tmp_path):
    from tuner.reports.html import render

    study = make_pg_study(tmp_path)
    page = render(study)
    # Chart data carries exact values (plotly draws from them): the words and tables must not.
    words = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert_as_written(words, raw_sizes(study))
    uncertainty = words[words.index("<h3>Uncertainty</h3>"):]
    assert re.search(r"sharedBuffers=\d+m workMem=[\d.]+m checkpointTimeout=", uncertainty)
    assert "<td>128m</td>" in words
    # Charts: size axes tick at round sizes (slices, contour); parallel coordinates' labels.
    assert re.search(r'"ticktext":\["\d+m","\d+m"', page)
    assert re.search(r'"text":"1008m","x":\d', page)


def test_many_re_measured_defaults_are_summarised_and_all_in_json(tmp_path, run_cli, capsys,
                                                                  wide):
    make_pg_study(tmp_path, rebaselines=50)
    assert run_cli("best") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "re-measured" in x)
    # 1 at the start, 50 re-baselines, 3 confirmation rounds
    assert re.search(r"re-measured: 54 values, median [\d.]+, [\d.]+ \.\. [\d.]+ \(drift", line)
    assert len(re.findall(r"\d+\.\d+", line)) <= 4, line
    assert run_cli("best", "--json") == 0
    drift = json.loads(capsys.readouterr().out)["baseline_drift"]
    assert len(drift) == 54 and all(isinstance(d["value"], float) for d in drift)


def test_values_text_lists_a_few_and_summarises_many():
    from tuner.format import values_text

    assert values_text([3.0, 1.5, 2.0]) == "3, 1.5, 2"
    assert values_text(list(range(1, 51))) == "50 values, median 25.5, 1 .. 50"


def test_sizes_read_as_written_and_templates_stay_exact():
    from tuner.format import fmt
    from tuner.templates import size

    assert fmt(134217728, "bytes") == "128m" and fmt(1536 * M, "bytes") == "1536m"
    assert fmt(2310881, "bytes") == "2.2m" and fmt(1000, "bytes") == "1000"
    assert fmt(300, "seconds") == "5m" and fmt(0.25, "seconds") == "0.25s"
    assert size(2310881) == "2310881"  # into a program's config: never rounded


def test_importance_answers_both_questions(tmp_path, run_cli, capsys, wide):
    study = make_pg_study(tmp_path)
    assert run_cli("importance", "--json") == 0
    overall = json.loads(capsys.readouterr().out)
    assert list(overall)[0] == "synchronousCommit" and sum(overall.values()) == \
        pytest.approx(1.0)
    assert run_cli("importance", "--json", "--among-best") == 0
    best = json.loads(capsys.readouterr().out)
    # Every good trial has synchronousCommit=off: among them, workMem decides.
    assert max(best, key=best.get) == "workMem" and best["synchronousCommit"] < 0.1
    assert sum(best.values()) == pytest.approx(1.0)
    assert run_cli("importance") == 0
    out = capsys.readouterr().out
    assert "overall (fANOVA over 70 complete trial(s)): each parameter's share" in out
    assert "among the best (PED-ANOVA, the chart optuna-dashboard draws): what still sets " \
        "the best 10% of trials (7 of 70) apart from the rest" in out
    row = next(x for x in out.splitlines() if x.startswith("│ synchronousCommit"))
    assert f"{overall['synchronousCommit']:.1%}" in row and f"{best['synchronousCommit']:.1%}" in row

    from tuner.reports.html import render

    page = render(study)
    assert "among the best (PED-ANOVA)" in page and "overall (fANOVA)" in page
    assert f"<td>{best['workMem']:.1%}</td>" in page
