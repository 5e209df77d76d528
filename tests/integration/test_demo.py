"""The demo system tuned for real: the trace-log pipeline's four containers per trial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import optuna
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def demo_study(tracelog_images, tmp_path_factory):
    """Three TPE trials of jobs/tracelog.yaml, run once for the tests below."""
    from tuner.cli import main

    tmp = tmp_path_factory.mktemp("demo")
    storage = f"sqlite:///{tmp}/tuner.db"
    code = main(["optimize", str(ROOT / "jobs" / "tracelog.yaml"), "--n-trials", "3",
                 "--seed", "3", "--storage", storage, "--results", str(tmp / "results"),
                 "--workload", "dataSize=small", "--json"])
    assert code == 0
    return tmp, storage


def test_demo_trials_complete_with_distinct_plausible_scores(demo_study):
    tmp, storage = demo_study
    trials = optuna.load_study(study_name="tracelog", storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    values = [t.value for t in trials]
    assert all(0.05 < v < 30 for v in values), values
    assert len(set(values)) == 3, values
    assert trials[0].user_attrs.get("baseline") is True  # the job's default configuration
    assert trials[0].params == {"numChunk": 8, "batchPerReq": 10, "batchSize": 4000}
    log = (tmp / "results" / "tracelog" / "0" / "score.log").read_text()
    assert "correct:" in log and "total" in log


def test_demo_trials_store_cpu_and_heap_profiles_of_go_containers(demo_study, sql):
    tmp, storage = demo_study
    got = sql(storage, "SELECT trial_id, container, source, COUNT(*) FROM tuner_profiles "
                       "GROUP BY trial_id, container, source")
    per_trial: dict[int, set] = {}
    for trial_id, container, source, count in got:
        assert count > 0
        per_trial.setdefault(trial_id, set()).add((container, source))
    expected = {(c, s) for c in ("c1", "c2", "b") for s in ("cpu", "heap")}
    assert len(per_trial) == 3 and all(v == expected for v in per_trial.values()), per_trial
    raw = tmp / "results" / "tracelog" / "1"
    assert (raw / "b.heap.pb.gz").exists() and list(raw.glob("c1.cpu*.pb.gz"))


def test_demo_profile_answers(demo_study, capsys):
    from tuner.cli import main

    _, storage = demo_study
    assert main(["profile", "top", "--trial", "1", "--container", "c1", "--sample-index",
                 "alloc_space", "--storage", storage, "--json"]) == 0
    top = json.loads(capsys.readouterr().out)
    assert top["unit"] == "bytes" and top["total"] > 0
    assert any(f["name"].startswith("main.") for f in top["functions"])
    assert main(["profile", "compare", "--param", "numChunk", "--storage", storage,
                 "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert {g["value"] for g in cmp["groups"]} == {8, *[g["value"] for g in cmp["groups"]]}
    assert all(0 <= f["share"] <= 1 for g in cmp["groups"] for f in g["functions"])


def test_wrong_answer_fails_the_trial(tracelog_images, tmp_path, capsys):
    from tuner.cli import main

    job = yaml.safe_load((ROOT / "jobs" / "tracelog.yaml").read_text())
    job["name"] = "corrupt"
    job["spec"]["containers"]["b"]["env"] = {"TRACELOG_CORRUPT": 1}
    for c in job["spec"]["containers"].values():
        c.pop("profile", None)
    path = tmp_path / "corrupt.yaml"
    path.write_text(yaml.safe_dump(job))
    assert main(["optimize", str(path), "--n-trials", "1", "--workload", "dataSize=small",
                 "--storage",
                 f"sqlite:///{tmp_path}/t.db", "--results", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["trials", "--json", "--storage", f"sqlite:///{tmp_path}/t.db"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "FAIL" and row["value"] is None
    assert row["reason"].startswith("container score exited with code 1: ")
    assert "wrong answer: 1 of" in row["reason"]
    shutil.rmtree(tmp_path / "r")
