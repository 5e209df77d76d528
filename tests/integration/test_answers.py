"""importance, effect, report and dashboard on real studies in SQLite (no Docker): a known
function where only x matters, score = (x - 3)^2 + noise; y and z are irrelevant."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from conftest import need
from tuner.reports.effect import Obs, effect, study_axes
from tuner.reports.html import SECTIONS

DISTS = {"x": IntDistribution(0, 6), "y": FloatDistribution(0.0, 1.0),
         "z": CategoricalDistribution(["a", "b", "c"])}


def make_study(path: Path, name: str = "known", n: int = 80, high: int = 6,
               seed: int = 0) -> optuna.Study:
    """Random configurations (the default one first), one failed trial, logs on disk."""
    rng = random.Random(seed)
    dists = {**DISTS, "x": IntDistribution(0, high)}
    s = optuna.create_study(study_name=name, storage=f"sqlite:///{path}/tuner.db")
    trials = []
    for i in range(n):
        p = {"x": rng.randint(0, high), "y": round(rng.random(), 3), "z": rng.choice("abc")}
        attrs = {}
        if i == 0:
            p, attrs = {"x": 0, "y": 0.5, "z": "a"}, {"baseline": True}
        trials.append(create_trial(params=p, distributions=dists, user_attrs=attrs,
                                   value=(p["x"] - 3) ** 2 + rng.gauss(0, 0.1)))
    trials.append(create_trial(params={"x": min(5, high), "y": 0.2, "z": "b"}, distributions=dists,
                               state=TrialState.FAIL,
                               user_attrs={"fail_reason": "container b exited with code 2"}))
    s.add_trials(trials)
    for t in s.get_trials():
        d = path / "results" / name / str(t.number)
        d.mkdir(parents=True)
        (d / "main.log").write_text(f"trial {t.number} says hello\n")
    return s


@pytest.fixture
def study(tmp_path) -> optuna.Study:
    return make_study(tmp_path)


def test_importance_ranks_x_first(study, run_cli, capsys):
    assert run_cli("importance", "--json") == 0
    shares = json.loads(capsys.readouterr().out)
    assert list(shares)[0] == "x" and shares["x"] > 0.8
    assert sum(shares.values()) == pytest.approx(1.0)
    assert run_cli("importance") == 0
    out = capsys.readouterr().out
    assert "fANOVA over 80 complete trial(s)" in out and "x" in out


def test_importance_says_when_there_are_too_few_trials(tmp_path, run_cli, capsys):
    make_study(tmp_path, n=3)
    assert run_cli("importance", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {}
    assert "too few complete trials to tell: 3" in captured.err
    assert run_cli("importance") == 0
    assert "too few complete trials" in capsys.readouterr().out


def test_effect_verdicts_on_each_side_of_the_optimum(study, run_cli, capsys):
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    axes = study_axes(trials)
    obs = [Obs(t.number, t.params, t.value) for t in trials]
    for x, answer in ((1, "helps"), (2, "helps"), (4, "hurts"), (5, "hurts")):
        # From the best trial at that x: its neighbours share z and have a close y.
        base = min((o for o in obs if o.params["x"] == x), key=lambda o: o.value)
        v = effect(obs, axes, "x", "minimize", base).verdict
        if x in (2, 4):  # next to the optimum: the evidence is there in this study
            assert v.answer == answer, (x, v)
        else:  # never wrong; "unclear" where no near trial ran the next value
            assert v.answer == answer or (v.answer == "unclear" and v.leaning in (answer, None)), \
                (x, v)

    assert run_cli("effect", "x", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["base"]["params"]["x"] == 3 and data["verdict"]["answer"] == "hurts"
    assert data["edge"] is None and len(data["marginal"]) == 7
    assert run_cli("effect", "x") == 0
    out = capsys.readouterr().out
    assert "raising x from 3: HURTS" in out and "scores per value of x" in out


def test_effect_flags_a_best_at_the_edge(tmp_path, run_cli, capsys):
    make_study(tmp_path, high=3)  # the optimum x=3 is the top of the range
    assert run_cli("effect", "x") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "x=3 is the top of its range" in out and "widen parameters.x.range" in out


def test_effect_unknown_param_names_the_valid_ones(study, run_cli, capsys):
    assert run_cli("effect", "w") == 2
    assert "no parameter 'w' in study 'known' (parameters: x, y, z)" in capsys.readouterr().err


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        need("chromium", "apt-get install chromium")
    return exe  # type: ignore[return-value]


def test_report_renders_in_headless_chromium(study, run_cli, tmp_path, capsys):
    exe = chromium()
    assert run_cli("report", "-o", "report.html") == 0
    page = tmp_path / "report.html"
    text = page.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=", text)  # nothing to fetch
    assert "container b exited with code 2" in text and "no profiles collected" in text
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        r = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=10000", "--window-size=1400,5000", "--dump-dom",
             page.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom, log = r.stdout, r.stderr
    assert r.returncode == 0, log[-2000:]
    # Every console message (this Chromium logs console.error and uncaught errors as
    # INFO:CONSOLE): a clean page logs none.
    errors = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not errors, errors
    for key, heading in SECTIONS:
        assert re.search(rf'<section id="{key}"><h2>{re.escape(heading)}</h2>', dom), key
    # Charts drawn: history, importance, slices, contour, parallel coordinates.
    assert dom.count('class="plot-container') >= 5
    assert dom.count("main-svg") >= 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def test_dashboard_lists_study_and_trial_logs(study, tmp_path):
    port = free_port()
    env = {**os.environ, "TUNER_STORAGE": f"sqlite:///{tmp_path}/tuner.db"}
    proc = subprocess.Popen([sys.executable, "-m", "tuner", "dashboard", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        studies = None
        while time.time() < deadline and studies is None:
            try:
                studies = get_json(f"{base}/api/studies")["study_summaries"]
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                time.sleep(0.2)
        assert studies is not None, "dashboard did not answer"
        (only,) = studies
        assert only["study_name"] == "known"
        detail = get_json(f"{base}/api/studies/{only['study_id']}")
        first = next(t for t in detail["trials"] if t["number"] == 0)
        (log,) = first["artifacts"]
        assert log["filename"] == "main.log"
        url = f"{base}/artifacts/{only['study_id']}/{first['trial_id']}/{log['artifact_id']}"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.read() == b"trial 0 says hello\n"
        # The study note explains the dashboard's own importance chart (PED-ANOVA) beside
        # tuner's fANOVA, and its PED-ANOVA shares are the chart's.
        note = detail["note"]["body"]
        chart = get_json(f"{base}/api/studies/{only['study_id']}/param_importances")
        (shares,) = chart["param_importances"]
        for p in shares:
            row = re.search(rf"^\| {p['name']} \| ([\d.]+)% \| ([\d.]+)% \|$", note, re.M)
            assert row, note
            assert float(row[2]) == pytest.approx(100 * p["importance"], abs=0.051)
        assert "chart is **PED-ANOVA**" in note and "overall (fANOVA)" in note
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "81 trial(s) uploaded" in " ".join(err.split())
    assert "importance: 1 study note(s) written" in " ".join(err.split())
    from optuna_dashboard import get_note

    from tuner.reports.importance import study_importance

    written = optuna.load_study(study_name="known", storage=f"sqlite:///{tmp_path}/tuner.db")
    (g,) = study_importance(written)
    assert get_note(written) == note  # read back through optuna-dashboard's own API
    assert f"| x | {g.shares['x']:.1%} | {g.among_best['x']:.1%} |" in note

    # A second run uploads nothing again, and restores a stored copy that went missing.
    from tuner.reports.dashboard import upload_logs

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/tuner.db")
    assert upload_logs(storage, tmp_path / "results", tmp_path / "results" / ".artifacts").files == 0
    (tmp_path / "results" / ".artifacts" / log["artifact_id"]).unlink()
    again = upload_logs(storage, tmp_path / "results", tmp_path / "results" / ".artifacts")
    assert again.files == 1 and (tmp_path / "results" / ".artifacts" / log["artifact_id"]).exists()


def test_report_profiles_section_shows_stored_profiles(study, tmp_path):
    from tuner.reports.html import profile_summaries, render
    from tuner.storage import open_storage
    from tuner.storage.tables import add_profiles, ensure_tables

    rdb = open_storage(f"sqlite:///{tmp_path}/tuner.db")
    s = optuna.load_study(study_name="known", storage=rdb)
    assert profile_summaries(s) == []  # no profile tables yet
    ensure_tables(rdb.engine)
    best = s.best_trial
    add_profiles(rdb.engine, [
        {"trial_id": best._trial_id, "container": "main", "source": "cpu", "sample_type": "cpu",
         "unit": "nanoseconds", "total": 100.0, "position": i, "name": name, "flat": flat,
         "cum": flat} for i, (name, flat) in enumerate((("main.hash", 70.0), ("main.io", 30.0)))])
    rows = profile_summaries(s)
    assert [(r["trial"], r["function"], r["flat %"]) for r in rows] == [
        (f"best #{best.number}", "main.hash", "70.0%"), (f"best #{best.number}", "main.io", "30.0%")]
    assert "main.hash" in render(s)


def test_importance_note_keeps_what_a_person_wrote(study):
    from optuna_dashboard import get_note, save_note

    from tuner.reports.dashboard import importance_note, save_importance_note
    from tuner.reports.importance import study_importance

    save_note(study, "# my notes\nwe run this on the big box")
    text = importance_note(study_importance(study))
    assert save_importance_note(study, text)
    first = get_note(study)
    assert first.startswith("# my notes\nwe run this on the big box\n\n## tuner:")
    assert not save_importance_note(study, text)  # unchanged: no new note version
    newer = text.replace("tuner answers both", "tuner answers both (again)")
    assert save_importance_note(study, newer)
    assert get_note(study) == first.replace(text, newer)  # replaced in place, once


def test_importance_note_says_where_a_prior_came_from(study):
    from tuner.reports.dashboard import NOTE_END, importance_note
    from tuner.reports.importance import study_importance

    prior = {"study": "v1", "storage": "sqlite:///old.db", "trials": 40, "used": 31,
             "dropped": {"x outside 2 .. 6": 9}, "parameters_dropped": {},
             "new_parameters": [], "seeds": 3, "workloads": False}
    text = importance_note(study_importance(study), prior)
    assert ("**Prior.** warm start from study 'v1' (sqlite:///old.db): 31 of 40 finished "
            "trial(s) inform the sampler") in text
    assert "dropped: 9 trial(s) (x outside 2 .. 6)" in text
    assert text.endswith(NOTE_END)
    assert "Prior" not in importance_note(study_importance(study))
