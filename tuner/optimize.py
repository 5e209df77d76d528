"""The optimizer loop: samplers, the Optuna study, and the trial objective around a trial function.

It knows nothing of Docker: `trial_fn(params, trial) -> value` does the work, and raises
TrialFailed with a reason when the trial failed. The reason is stored on the trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .attrs import BASELINE, CONFIRM, CONFIRM_ROUND, CONFIRMED, REASON, WARNINGS  # noqa: F401
from .errors import InputError, TrialFailed, TunerError
from .space import Space

if TYPE_CHECKING:
    import optuna

from .choices import PRUNERS, SAMPLERS  # noqa: F401 - the optimizer's own choices
INTERRUPTED = "interrupted"

TrialFn = Callable[[dict[str, Any], "optuna.Trial"], Any]  # a value, or one per objective


@dataclass
class TrialEvent:
    """What the CLI shows as the study runs."""

    kind: str  # "start" | "end"
    number: int
    params: dict[str, Any]
    state: str | None = None
    value: float | None = None
    values: list[float] | None = None  # every objective's, when there are several
    reason: str | None = None
    best_value: float | None = None
    best_number: int | None = None
    done: int = 0  # trials this run has finished
    total: int | None = None  # trials this run will run, when known
    units: dict[str, str] | None = None  # parameters written with units: name -> unit
    on_front: bool = False  # several objectives: the trial is on the Pareto front now
    feasible: bool | None = None  # with constraints: whether the trial kept them all


def make_sampler(name: str, seed: int | None) -> "optuna.samplers.BaseSampler":
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name in ("random", "grid"):
        # Grid points are enqueued as waiting trials; the random sampler only fills in the
        # rare trial a second worker asks for after the queue ran dry.
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        # Feasibility comes from the trials' own constraint values (trial.set_constraint).
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
    raise InputError(f"unknown sampler '{name}'; choose one of {', '.join(SAMPLERS)}")


def make_pruner(name: str | None) -> "optuna.pruners.BasePruner":
    """`median` (Katib's median stop): a trial whose latest value is worse than the median
    of earlier trials at the same step, once 5 trials have completed, after its first 2
    steps; `halving`: successive halving (Hyperband's inner loop); None: never."""
    import optuna

    if name is None:
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)
    raise InputError(f"unknown pruner '{name}'; choose one of {', '.join(PRUNERS)}")


def enqueue_grid(study: "optuna.Study", space: Space) -> int:
    """Enqueue every grid point no trial has covered yet; return how many are waiting.

    A point counts as covered by a finished, running or waiting trial, except one that was
    interrupted: resuming a grid re-runs what Ctrl-C cut short.
    """
    from optuna.trial import TrialState

    from .storage import enqueued_params

    points = space.grid_points()
    names = list(space.knobs)
    covered = set()
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.FAIL and t.user_attrs.get(REASON, "").startswith(INTERRUPTED):
            continue
        # A waiting trial, or one just claimed by a worker, has no params yet: its point is
        # in the fixed params it was enqueued with.
        params = t.params if all(n in t.params for n in names) \
            else enqueued_params(t) or {}
        if all(n in params for n in names):
            covered.add(_key(space.clean(params), names))
    default = space.defaults()
    points.sort(key=lambda p: p != default)  # the baseline first, the rest in grid order
    for point in points:
        if _key(point, names) not in covered:
            study.enqueue_trial(point, user_attrs={BASELINE: True} if point == default else None)
    return sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def _key(params: dict[str, Any], names: list[str]) -> tuple[str, ...]:
    return tuple(repr(params[n]) for n in names)


def start_from(study: "optuna.Study", space: Space, seeds: list[dict[str, Any]],
               source: str) -> None:
    """A warm-started study's first trials: the default configuration, then the earlier
    study's best configurations (`seeds`), measured on this machine before the search."""
    from .attrs import WARM_SEED

    study.enqueue_trial(space.defaults(), user_attrs={BASELINE: True})
    for i, point in enumerate(seeds):
        study.enqueue_trial(point, user_attrs={WARM_SEED: {"study": source, "rank": i + 1}})


def suggest(trial: "optuna.Trial", space: Space) -> dict[str, Any]:
    params = {}
    for d in space:
        if d.kind == "enum":
            params[d.name] = trial.suggest_categorical(d.name, list(d.choices or ()))
        elif d.kind == "int":
            params[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high),
                                               step=int(d.step or 1), log=d.log)
        else:
            params[d.name] = trial.suggest_float(d.name, d.low, d.high, step=d.step, log=d.log)
    return space.clean(params)


def run_study(study: "optuna.Study", space: Space, trial_fn: TrialFn, *, n_trials: int | None,
              grid: bool, timeout: float | None = None, target: float | None = None,
              rebaseline: int | None = None,
              on_event: Callable[[TrialEvent], None] = lambda e: None, n_jobs: int = 1,
              on_interrupt: Callable[[], None] | None = None) -> int:
    """Run trials until the budget, the grid, the time or the target is reached; return how
    many ran. `rebaseline` re-measures the default configuration every N trials (drift).
    `n_jobs` trials run at once, in threads (each trial_fn call must be thread-safe);
    `on_interrupt` is called on Ctrl-C so that they stop too."""
    from .storage import QueueEmpty
    from .storage import backend as storage_backend
    from .storage.tables import lock

    backend = storage_backend(study)
    total = n_trials
    if not grid and not study.get_trials(deepcopy=False):
        # A new study measures the configuration a person starts from first.
        study.enqueue_trial(space.defaults(), user_attrs={BASELINE: True})
    if grid:
        # One worker at a time decides which points are missing; then all claim from the queue.
        with lock(backend.engine, f"grid:{study.study_name}"):
            waiting = enqueue_grid(study, space)
        total = waiting if n_trials is None else min(n_trials, waiting)
        if total == 0:
            return 0
    run = _Run(space, trial_fn, on_event, total, grid, target, rebaseline,
               multi=len(study.directions) > 1)
    backend.queue_only = grid
    try:
        if n_jobs > 1:
            _optimize_in_threads(study, run.objective, total, timeout, run.after, n_jobs,
                                 on_interrupt)
        else:
            study.optimize(run.objective, n_trials=total, timeout=timeout,
                           callbacks=[run.after], catch=(TrialFailed,), gc_after_trial=False)
    except QueueEmpty:
        pass  # another worker took the last grid point
    finally:
        backend.queue_only = False
    return run.finished


class _Run:
    """One run of a study: the objective Optuna calls for each trial, and what happens after
    each (events, grid end, target, re-measured baselines). Trials may finish in threads."""

    def __init__(self, space: Space, trial_fn: TrialFn, on_event: Callable[[TrialEvent], None],
                 total: int | None, grid: bool, target: float | None,
                 rebaseline: int | None, multi: bool):
        import threading

        self.space, self.trial_fn, self.on_event = space, trial_fn, on_event
        self.total, self.grid, self.target, self.rebaseline = total, grid, target, rebaseline
        self.multi = multi
        self.finished = 0
        self.counting = threading.Lock()

    def objective(self, trial: "optuna.Trial") -> Any:
        import optuna

        params = suggest(trial, self.space)
        self.on_event(TrialEvent("start", trial.number, params, done=self.finished,
                                 total=self.total, units=self.space.units))
        try:
            return self.trial_fn(params, trial)
        except optuna.TrialPruned as exc:  # recorded as PRUNED with the values it reached
            trial.set_user_attr(REASON, str(exc))
            raise
        except TrialFailed as exc:
            trial.set_user_attr(REASON, exc.reason)
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(REASON, f"{INTERRUPTED} (Ctrl-C)")
            raise
        except TunerError as exc:  # the trial fails for a reason that stops the study
            trial.set_user_attr(REASON, exc.message)
            raise
        except Exception as exc:  # the trial fails, and the error goes on to the caller
            trial.set_user_attr(REASON, f"tuner error: {exc}")
            raise

    def after(self, study: "optuna.Study", frozen: "optuna.trial.FrozenTrial") -> None:
        from optuna.trial import TrialState

        with self.counting:
            self.finished += 1
        feasible = None
        if frozen.constraints and frozen.state == TrialState.COMPLETE:
            feasible = all(v <= 0 for v in frozen.constraints.values())
        self.on_event(self._end_event(study, frozen, feasible))
        if self.grid and not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            study.stop()
        if self.target is not None and not self.multi and frozen.state == TrialState.COMPLETE \
                and feasible is not False and _reached(study, frozen.value, self.target):
            study.stop()  # the seed's `for myPerf < topPerf`: good enough is done
        if self.rebaseline and self.finished % self.rebaseline == 0 \
                and (self.total is None or self.finished < self.total):
            study.enqueue_trial(self.space.defaults(), user_attrs={BASELINE: True})

    def _end_event(self, study: "optuna.Study", frozen: "optuna.trial.FrozenTrial",
                   feasible: bool | None) -> TrialEvent:
        from optuna.trial import TrialState

        multi = self.multi
        best = None if multi else _best(study)
        values = list(frozen.values) if frozen.values else None
        on_front = multi and frozen.state == TrialState.COMPLETE and any(
            t.number == frozen.number for t in study.best_trials)
        return TrialEvent(
            "end", frozen.number, self.space.clean(frozen.params), state=frozen.state.name,
            value=None if multi or not values else values[0],
            values=values if multi else None, reason=frozen.user_attrs.get(REASON),
            best_value=best.value if best else None, best_number=best.number if best else None,
            done=self.finished, total=self.total, units=self.space.units, on_front=on_front,
            feasible=feasible)


def _optimize_in_threads(study: "optuna.Study", objective: Any, total: int | None,
                         timeout: float | None, after: Any, n_jobs: int,
                         on_interrupt: Callable[[], None] | None) -> None:
    """Optuna's n_jobs threads, driven from a thread of their own: Ctrl-C reaches the main
    thread here, which tells the trials to stop (`on_interrupt`) instead of waiting for them
    to finish, and re-raises once they have cleaned up and been recorded."""
    import threading

    from .storage import stop_soon

    failure: list[BaseException] = []
    # Not Thread.join: on Python 3.11 a join interrupted by Ctrl-C marks a live thread as
    # stopped (the bpo-45274 fix); an Event's wait is safe to interrupt.
    done = threading.Event()

    def drive() -> None:
        try:
            study.optimize(objective, n_trials=total, timeout=timeout, callbacks=[after],
                           catch=(TrialFailed,), gc_after_trial=False, n_jobs=n_jobs)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)
        finally:
            done.set()

    driver = threading.Thread(target=drive, name="tuner-trials", daemon=True)
    driver.start()
    interrupted = False
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            interrupted = True
            stop_soon(study)
            if on_interrupt is not None:
                on_interrupt()
    if interrupted:
        raise KeyboardInterrupt
    if failure:
        raise failure[0]


def _reached(study: "optuna.Study", value: float, target: float) -> bool:
    from optuna.study import StudyDirection

    if study.direction == StudyDirection.MINIMIZE:
        return value <= target
    return value >= target


def confirm_top(study: "optuna.Study", space: Space, trial_fn: TrialFn, *, top: int, runs: int,
                seed: int | None = None,
                on_event: Callable[[TrialEvent], None] = lambda e: None,
                configs: list[dict[str, Any]] | None = None) -> int:
    """Re-run the `top` best distinct configurations and the baseline in `runs` rounds, then
    choose the winner on all their measurements (the study's "confirmed" user attribute).

    Each round runs every configuration once, in a shuffled order: a machine whose speed
    drifts (load, heat, a noisy neighbour) then weighs on all of them alike, and each round
    gives a side-by-side ratio to the baseline (randomized multiple interleaved trials,
    Abedi & Brecht, ICPE 2017). `configs` replaces the top K (racing passes its incumbent).
    """
    import random

    from .selection import config_key, confirmed_summary, top_configurations

    configs = configs if configs is not None else top_configurations(study, top)
    if not configs:
        return 0
    default = space.defaults()
    members = list(configs)
    if all(config_key(c) != config_key(default) for c in configs):
        members.append(default)
    first = 1 + max((t.user_attrs.get(CONFIRM_ROUND, 0) for t in study.get_trials(deepcopy=False)),
                    default=0)
    rng = random.Random(seed)
    for r in range(first, first + runs):
        order = list(members)
        rng.shuffle(order)
        for params in order:
            attrs: dict[str, Any] = {CONFIRM: True, CONFIRM_ROUND: r}
            if config_key(params) == config_key(default):
                attrs[BASELINE] = True
            study.enqueue_trial(params, user_attrs=attrs)
    ran = run_study(study, space, trial_fn, n_trials=len(members) * runs, grid=False,
                    on_event=on_event)
    summary = confirmed_summary(study, configs)
    if summary is not None:
        study.set_user_attr(CONFIRMED, summary)
    return ran


def _best(study: "optuna.Study") -> "optuna.trial.FrozenTrial | None":
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None
