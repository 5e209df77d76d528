"""A new SQLite study database copied from an empty one Optuna made is one Optuna accepts."""

from __future__ import annotations

import optuna

from tuner.storage import open_storage


def test_a_new_database_from_the_template_is_optunas_own(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    open_storage(f"sqlite:///{first}")  # makes the template, then copies it
    (template,) = (tmp_path / "cache").iterdir()
    made = template.stat().st_mtime_ns
    storage = open_storage(f"sqlite:///{second}")
    assert template.stat().st_mtime_ns == made  # the second one is a copy, made once
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_int("x", 0, 3) * 1.0, n_trials=2)
    # Optuna itself, with every check it makes, reads both.
    for path in (first, second):
        optuna.storages.RDBStorage(f"sqlite:///{path}")
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{second}").trials) == 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_existing_file_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))
    db = tmp_path / "s.db"
    storage = open_storage(f"sqlite:///{db}")
    optuna.create_study(storage=storage, study_name="kept")
    open_storage(f"sqlite:///{db}")  # opened again: the study is still there
    assert [s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{db}")] == ["kept"]


def test_no_cache_means_optuna_makes_it(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("TUNER_CACHE", str(blocked))
    open_storage(f"sqlite:///{tmp_path}/c.db")
    optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/c.db")
