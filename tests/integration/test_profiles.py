"""Profiles written by containers (folded stacks) and how a parameter moves them."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker

# The container's "work" grows with X and its "idle" shrinks: a share that really moves.
JOB = """
name: folded
objective: {{container: app, regex: 'total ([0-9]+)'}}
parameters:
  x: {{enum: [1, 5, 9]}}
spec:
  containers:
    app:
      image: {image}
      command: [sh, -c, 'printf "main;work %d\\nmain;idle %d\\nmain;work;helper 5\\n" $((X * 10)) $((100 - X * 10)) > /out/app.folded; echo total $X']
      output: /out
      profile: {{files: '*.folded'}}
  timeout: 10s
"""


def test_files_profiles_and_compare(busybox, write_job, run_cli, tmp_path, capsys, storage_url,
                                    monkeypatch):
    monkeypatch.setenv("TUNER_STORAGE", storage_url)  # summaries on SQLite and MariaDB alike
    job = write_job(JOB.format(image=busybox))
    assert run_cli("optimize", str(job), "--sampler", "grid", "--json") == 0
    capsys.readouterr()
    assert run_cli("profile", "top", "--trial", "2", "--sample-index", "samples",
                   "--json") == 0
    top = json.loads(capsys.readouterr().out)
    assert top["total"] == 105
    assert [(f["name"], f["flat"], f["cum"]) for f in top["functions"]] == [
        ("work", 90, 95), ("idle", 10, 10), ("helper", 5, 5), ("main", 0, 105)]

    assert run_cli("profile", "compare", "--param", "x", "--sample-index", "samples",
                   "--json") == 0
    cmp = json.loads(capsys.readouterr().out)
    assert [g["value"] for g in cmp["groups"]] == [1, 5, 9]
    mover = cmp["movers"][0]
    assert mover["name"] in ("work", "idle")
    work = next(m for m in cmp["movers"] if m["name"] == "work")
    assert work["shares"] == pytest.approx([10 / 105, 50 / 105, 90 / 105])

    assert run_cli("profile", "diff", "0", "2", "--sample-index", "samples", "--json") == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["functions"][0]["name"] in ("work", "idle")
    assert abs(diff["functions"][0]["delta"]) == 80


def test_unreadable_profile_is_a_warning_not_a_failure(busybox, write_job, run_cli, tmp_path,
                                                      capsys):
    job = write_job(JOB.format(image=busybox).replace(
        "> /out/app.folded", "> /out/app.folded; echo no stacks here > /out/bad.folded"))
    assert run_cli("optimize", str(job), "--n-trials", "1", "--json") == 0
    import optuna

    (trial,) = optuna.load_study(study_name="folded",
                                 storage=f"sqlite:///{tmp_path}/tuner.db").get_trials()
    assert trial.state.name == "COMPLETE"
    assert any("bad.folded" in w for w in trial.user_attrs["warnings"])
