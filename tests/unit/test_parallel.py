"""Several trials at once on one study (`--runner swarm --parallel N`): the optimizer loop in
threads, on a real SQLite storage, with a trial function that only sleeps (no Docker)."""

from __future__ import annotations

import _thread
import threading
import time

import optuna
import pytest

from tuner.attrs import REASON
from tuner.job import parse_job
from tuner.optimize import make_sampler, run_study
from tuner.space import Space
from tuner.storage import open_storage
from tuner.storage.tables import ensure_tables

JOB = """
objective: {regex: 'score ([0-9.]+)'}
parameters:
  x: {range: {min: 1, max: 6}}
spec: {containers: {main: {image: x}}}
"""


class Sleeper:
    """A trial function that sleeps and counts how many trials run at once. With `together`,
    the first trials wait (up to a minute) until that many are inside at once: threads that
    really run side by side get there whatever the machine's load, one at a time never does."""

    def __init__(self, seconds: float, together: int = 0):
        self.seconds, self.together = seconds, together
        self.lock = threading.Condition()
        self.now = self.most = 0
        self.stop = threading.Event()

    def __call__(self, params, trial) -> float:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.lock.notify_all()
            self.lock.wait_for(lambda: self.most >= self.together, timeout=60)
        try:
            if self.stop.wait(self.seconds):
                raise KeyboardInterrupt  # what a runner does when told to stop
            return float(params["x"])
        finally:
            with self.lock:
                self.now -= 1


def study_of(tmp_path, sampler: str):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = Space(parse_job(JOB, "job.yaml", environ={}))
    storage = open_storage(f"sqlite:///{tmp_path}/t.db", heartbeat=True)
    ensure_tables(storage.engine)  # the lock that makes grid claims atomic
    study = optuna.create_study(storage=storage, study_name="p",
                                sampler=make_sampler(sampler, 1))
    return space, study


def test_grid_in_threads_runs_each_point_once(tmp_path):
    space, study = study_of(tmp_path, "grid")
    fn = Sleeper(0.3, together=3)
    ran = run_study(study, space, fn, n_trials=None, grid=True, n_jobs=3)
    trials = study.get_trials()
    assert ran == 6 and sorted(t.params["x"] for t in trials) == [1, 2, 3, 4, 5, 6]
    assert all(t.state.name == "COMPLETE" and t.value == t.params["x"] for t in trials)
    # Three at once, counted inside the trials (not by the clock, which a busy machine slows).
    assert fn.most == 3


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_samplers_in_threads(tmp_path, sampler):
    space, study = study_of(tmp_path, sampler)
    fn = Sleeper(0.1, together=2)
    assert run_study(study, space, fn, n_trials=6, grid=False, n_jobs=2) == 6
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE"] * 6
    assert fn.most == 2


def test_ctrl_c_stops_every_running_trial(tmp_path):
    """Ctrl-C reaches the main thread; each running trial is told to stop, is recorded as
    interrupted, and then KeyboardInterrupt goes on to the caller: nothing stays RUNNING."""
    space, study = study_of(tmp_path, "grid")
    fn = Sleeper(30)
    ctrl_c = threading.Timer(1.0, _thread.interrupt_main)
    ctrl_c.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_study(study, space, fn, n_trials=None, grid=True, n_jobs=2,
                      on_interrupt=fn.stop.set)
    finally:
        ctrl_c.cancel()
    assert time.monotonic() - started < 10
    states = [(t.state.name, t.user_attrs.get(REASON)) for t in study.get_trials()]
    assert states.count(("FAIL", "interrupted (Ctrl-C)")) == 2
    assert all(s == "WAITING" for s, _ in states if s != "FAIL")
    assert fn.now == 0


class FakeNodeRunner:
    def __init__(self, name: str, down: bool = False):
        self.node, self.worker, self.down, self.ran = name, f"w-{name}", down, []

    def unusable(self):
        return "is down" if self.down else None

    def run(self, ctx):
        self.ran.append(ctx.worker)
        return ctx.worker


def pool_of(*runners):
    import queue

    from tuner.job import parse_job
    from tuner.runner.swarm_pool import SwarmPool

    pool = SwarmPool(parse_job(JOB, "job.yaml", environ={}), "s", [])
    pool.runners = list(runners)
    pool._free = queue.LifoQueue()
    for r in reversed(runners):
        pool._free.put(r)
    return pool


def test_pool_keeps_to_one_node_and_skips_lost_ones(capsys):
    from tuner.errors import TunerError
    from tuner.runner.specs import TrialContext

    ctx = TrialContext(study="s", number=0, env={}, outdir="/r", worker="swarm")
    a, b = FakeNodeRunner("a"), FakeNodeRunner("b")
    pool = pool_of(a, b)
    assert [pool.run(ctx) for _ in range(3)] == ["w-a"] * 3  # one at a time: one machine
    a.down = True
    assert pool.run(ctx) == "w-b" and pool.run(ctx) == "w-b"
    assert "tuner: node a is down: no more trials there" in capsys.readouterr().err
    b.down = True
    with pytest.raises(TunerError, match="every node this study used is gone"):
        pool.run(ctx)
