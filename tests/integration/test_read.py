"""Reading a study in plain SQL gives what Optuna's own load gives, on SQLite and MariaDB:
every state, distribution, attribute and value kind; the best trial; the Pareto front."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from tuner.storage import open_storage
from tuner.storage.read import connect, read_study, study_counts
from tuner.storage.tables import ensure_tables

DISTS = {"n": IntDistribution(1, 64, log=True), "x": FloatDistribution(0.0, 1.0, step=0.1),
         "r": FloatDistribution(1e-3, 1.0, log=True),
         "mode": CategoricalDistribution(["off", "1.10", 3, None, True])}


def params(i: int) -> dict:
    return {"n": 1 + i % 64, "x": round((i % 11) / 10, 1), "r": 10 ** -(1 + i % 3),
            "mode": DISTS["mode"].choices[i % 5]}


def same(a, b) -> None:
    assert (a.number, a.state.name, a.params, a.user_attrs) == \
           (b.number, b.state.name, b.params, b.user_attrs)
    assert {k: v for k, v in a.system_attrs.items() if not k.startswith("artifacts:")} == \
           {k: v for k, v in b.system_attrs.items() if not k.startswith("artifacts:")}
    assert a.intermediate_values == b.intermediate_values
    assert a.datetime_start == b.datetime_start and a.datetime_complete == b.datetime_complete
    assert (a.values is None) == (b.values is None)
    if a.values is not None:
        assert all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a.values, b.values))


def test_plain_sql_reads_what_optuna_reads(storage_url):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(storage_url)
    ensure_tables(storage.engine)  # as `tuner optimize` does (claims of queued trials lock)
    one = optuna.create_study(storage=storage, study_name="one", direction="maximize")
    one.set_user_attr("units", {"n": "bytes"})
    trials = []
    for i in range(12):
        trials.append(create_trial(params=params(i), distributions=DISTS, value=float(i % 7),
                                   user_attrs={"samples": {"w=1": [i, i + 0.5]}, "i": i},
                                   system_attrs={"fixed_params": params(i)} if i == 3 else {},
                                   intermediate_values={0: 1.0, 5: float(i)}))
    trials.append(create_trial(params=params(20), distributions=DISTS, value=math.inf))
    trials.append(create_trial(params=params(21), distributions=DISTS, state=TrialState.FAIL,
                               user_attrs={"fail_reason": "container c1 exited with code 2"}))
    trials.append(create_trial(params=params(22), distributions=DISTS, state=TrialState.PRUNED,
                               intermediate_values={1: 0.5}))
    one.add_trials(trials)
    running = one.ask()
    running.set_user_attr("partial", [1, 2])
    one.enqueue_trial({"n": 8})  # waits

    two = optuna.create_study(storage=storage, study_name="two",
                              directions=["minimize", "maximize"])
    for i in range(30):
        two.add_trial(create_trial(params=params(i), distributions=DISTS,
                                   values=[float((i * 7) % 13), float((i * 5) % 11)]))

    engine = connect(storage_url)
    for name in ("one", "two"):
        ours = read_study(engine, storage_url, name)
        theirs = optuna.load_study(study_name=name, storage=storage)
        assert [d.name for d in ours.directions] == [d.name for d in theirs.directions]
        assert ours.user_attrs == theirs.user_attrs
        a, b = ours.get_trials(), theirs.get_trials(deepcopy=False)
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
        assert [t.number for t in ours.get_trials(states=[TrialState.FAIL])] == \
            [t.number for t in theirs.get_trials(states=(TrialState.FAIL,))]
    # The best trial: one query when nothing is loaded, the same answer as Optuna's.
    fresh = read_study(engine, storage_url, "one")
    assert fresh.best_trial.number == optuna.load_study(study_name="one",
                                                        storage=storage).best_trial.number
    assert fresh.trial(3).params == params(3) and fresh.trial(99) is None
    assert [t.number for t in fresh.trials_where("samples")] == list(range(12))
    front = read_study(engine, storage_url, "two").best_trials
    assert sorted(t.number for t in front) == \
        sorted(t.number for t in optuna.load_study(study_name="two", storage=storage).best_trials)
    counts = {r["study"]: r for r in study_counts(engine)}
    assert (counts["one"]["trials"], counts["one"]["complete"], counts["one"]["fail"],
            counts["one"]["running"], counts["one"]["waiting"]) == (17, 13, 1, 1, 1)
    assert counts["one"]["best"] == math.inf  # stored as NULL beside its kind
    assert counts["two"]["objectives"] == 2 and counts["two"]["best"] is None


def test_a_database_that_is_not_a_study_database_says_so(tmp_path):
    import sqlite3

    from tuner.errors import StorageError

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (a)").connection.commit()
    with pytest.raises(StorageError, match="cannot read the study database"):
        read_study(connect(f"sqlite:///{path}"), f"sqlite:///{path}", None)
