"""Use cases that run and read studies: validate, optimize (and its racing, budget and
workers), best, trials, runs, studies, cleanup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..attrs import (BASELINE, CONFIRM_ROUND, CONSTRAINTS_MET, DUPLICATE_OF, JOB, MEASURING,
                    METRICS, OBJECTIVES, PROGRESS, PRUNED_AT, RACE, REASON, SAMPLES, SPREAD,
                    STUDY_CONSTRAINTS, UNITS)
from ..choices import PRUNERS, RUNNERS, SAMPLERS
from ..errors import InputError

from .reading import _engine_if_tables, _quiet_optuna, existing_url, read_study

if TYPE_CHECKING:  # the reading commands never import the job, space or optimizer layers
    from ..job import Job
    from ..optimize import TrialEvent
    from ..space import Space
    from ..templates import Templates


@dataclass
class Validated:
    job: Job
    space: Space
    templates: Templates

    @property
    def files(self) -> list[tuple[str, str, str]]:
        """(container, path inside it, where its text comes from) for every rendered file."""
        return [(cname, path, f.template or "content:")
                for cname, c in self.job.spec.containers.items() for path, f in c.files.items()]


    @property
    def dims(self) -> list[dict[str, Any]]:
        """Every parameter as `validate` shows it (values listed up to 1,000)."""
        return [{"name": d.name, "env": d.env, "kind": d.kind, "role": d.role,
                 "values": d.values if d.count is not None and d.count <= 1000 else None,
                 "count": d.count, "unit": d.unit,
                 "range": None if d.kind == "enum" else d.describe(),
                 "default": d.default} for d in self.space.dims.values()]

    @property
    def max_grid(self) -> int:
        """The most points --sampler grid runs."""
        from ..space import MAX_GRID

        return MAX_GRID

    @property
    def grid_too_big(self) -> bool:
        """Whether --sampler grid would refuse this grid (it counts, never lists)."""
        return self.space.grid_size is not None and self.space.grid_size > self.max_grid

    @property
    def runs_per_trial(self) -> tuple[int, int]:
        """(runs of the containers a trial makes, workload values among them)."""
        workloads = len(self.space.workload_points())
        return workloads * (self.job.warmup + self.job.repeat), workloads

    def default_commands(self) -> dict[str, tuple[Any, tuple[str, ...]]]:
        """container -> (its command with the default configuration, the fields that
        {{ omit }} left out), for the containers with a command or an omitted env value."""
        rendered = self.templates.render(self.space.values(self.space.defaults()))
        return {name: (r.command, r.omitted) for name, r in rendered.items()
                if r.command is not None or r.omitted}


def validate(path: str) -> Validated:
    """Load a job, its search space and its templates, rendered once with the default
    configuration: every mistake is found here, before Docker or a database is touched."""
    from ..job import load_job
    from ..space import Space
    from ..templates import Templates

    job = load_job(path)
    space = Space(job, job.source)
    templates = Templates(job, job.line)
    templates.check(space.values(space.defaults()))
    return Validated(job, space, templates)


@dataclass
class Optimized:
    study: str
    storage: str
    ran: int
    best: dict[str, Any] | None




@dataclass
class Options:
    """How a study is run: `tuner optimize`'s options, checked before anything starts."""

    sampler: str = "tpe"
    n_trials: int | None = None
    seed: int | None = None
    repeat: int | None = None  # overrides the job's repeat:
    workload: dict[str, list[str]] | None = None  # only these workload values
    rebaseline: int | None = None  # re-measure the default configuration every N trials
    confirm: int = 0  # re-run the top K configurations at the end
    confirm_runs: int = 3
    target: float | None = None  # stop once a trial reaches this score
    timeout: float | str | None = None  # seconds for the whole study, or 30m, 2h
    prune: bool = True  # stop trials clearly worse than earlier ones (needs objective.progress)
    pruner: str = "median"  # or "halving"
    runner: str = "docker"  # or "swarm": trials as swarm services, one per node at a time
    parallel: int | None = None  # trials at once (swarm; default: every usable node)
    node_labels: dict[str, str] | None = None  # swarm: only nodes with these labels
    race: bool = False  # racing: runs go where they can change the answer (tuner.racing)
    max_runs: int | None = None  # budget in container runs (final rounds included)
    stop_when_done: bool = False  # racing: stop once candidates stop coming near the incumbent
    warm_start: str | None = None  # an earlier study whose trials inform the sampler
    warm_start_storage: str | None = None  # its storage, when not this study's


def optimize(path: str, *, options: Options | None = None, storage: str | None = None,
             study: str | None = None, results: str = "results",
             on_event: Callable[[TrialEvent], None] = lambda e: None) -> Optimized:
    """Run a study: bad input is refused before anything is started."""
    from .. import storage as store
    from ..job.goals import goals_of
    from ..optimize import confirm_top, make_pruner, make_sampler, run_study
    from ..reports import best_of

    o = options or Options()
    v = validate(path)
    job, space = v.job, v.space
    goals = goals_of(job)
    o = _checked(o, goals.multi)
    grid = o.sampler == "grid"
    if grid:
        space.grid()  # a continuous range is a job error, before Docker or the database
    n_trials = o.n_trials if o.n_trials is not None or grid else 20
    # Pruning compares one value per step: single-objective studies only.
    prune = o.prune and job.objective.progress is not None and not goals.multi
    if prune and o.runner == "swarm":
        from ..errors import notify

        # The swarm runner reads a task's log once, at its end: nothing to prune on.
        notify("--runner swarm does not prune yet: every trial runs to its end "
               "(--no-prune says so without this line)")
        prune = False
    plan = _plan(job, space, o, prune=prune)
    n_trials = _check_budget(o, plan, n_trials, goals.multi)
    name = study or job.name
    url = store.resolve_url(storage)
    _quiet_optuna()
    warm = _warm_start(o, url, name, space, plan, goals)
    optuna_sampler = make_sampler(o.sampler, o.seed)
    if warm is not None:
        optuna_sampler = warm.sampler(optuna_sampler, space)
    runner, jobs = _runner(job, name, o)

    with runner:  # first: an engine problem leaves nothing made
        rdb = store.open_storage(url, heartbeat=True)
        s = _open_study(rdb, name, v, o, goals, optuna_sampler,
                        make_pruner(o.pruner if prune else None))
        trial_fn = _worker_trials(v, runner, rdb, s, results, plan)  # makes tuner's tables
        if warm is not None:
            warm.begin(s, space)
        if o.race:
            ran = _race(s, space, trial_fn, o, plan, n_trials, on_event, jobs)
        else:
            ran = run_study(s, space, trial_fn, n_trials=n_trials, grid=grid,
                            on_event=on_event, timeout=o.timeout, target=o.target,
                            rebaseline=o.rebaseline, n_jobs=jobs,
                            on_interrupt=getattr(runner, "cancel", None))
        if o.confirm and not o.race:
            ran += confirm_top(s, space, trial_fn, top=o.confirm, runs=o.confirm_runs,
                               seed=o.seed, on_event=on_event)
        return Optimized(study=name, storage=store.redact(url), ran=ran, best=best_of(s))


def _warm_start(o: Options, url: str, name: str, space: "Space", plan: Any,
                goals: Any) -> Any:
    """The earlier study's trials matched to this job, read before anything starts."""
    from .warmstart import check, read_prior

    check(o)
    if not o.warm_start:
        return None
    if goals.multi:
        raise InputError("--warm-start: a study with several objectives has no one score to "
                         "rank earlier trials by")
    from ..trial import workload_label

    warm = read_prior(o.warm_start, o.warm_start_storage, url, name, space,
                      {workload_label(w) for w in plan.workloads},
                      goals.directions[0] == "maximize")
    if warm.hidden and o.race:
        raise InputError("--warm-start: racing does not start from this study's trials on "
                         "other workload values", hint="warm-start a new --study instead")
    return warm


def _open_study(rdb: Any, name: str, v: Validated, o: Options, goals: Any, sampler: Any,
                pruner: Any) -> Any:
    """The study, made or continued, with what later commands read of the job: its file,
    objectives, constraints, how trials measure, units; and the results view for SQL."""
    import optuna

    from .. import storage as store
    from ..storage.views import create_results_view

    job, space = v.job, v.space
    existing = store.study_names(rdb)
    s = optuna.create_study(storage=rdb, study_name=name, directions=list(goals.directions),
                            sampler=sampler, load_if_exists=True, pruner=pruner)
    have = [d.name.lower() for d in s.directions]
    if name in existing and have != list(goals.directions):
        raise InputError(f"--study: study '{name}' exists and is to {', '.join(have)}, but "
                         f"the job says {', '.join(goals.directions)}",
                         hint="pass another --study NAME")
    s.set_user_attr(JOB, str(Path(job.source).resolve()))
    if job.objectives:
        s.set_user_attr(OBJECTIVES, [{"name": n, "direction": d}
                                     for n, d in zip(goals.names, goals.directions)])
    if job.constraints:
        s.set_user_attr(STUDY_CONSTRAINTS, list(job.constraints))
    # How trials measure (repeats, workload values): later runs of the study (--measure,
    # confirmations) measure the same way, so their numbers compare.
    s.set_user_attr(MEASURING, {"repeat": o.repeat, "workload": o.workload})
    if space.units:
        s.set_user_attr(UNITS, space.units)  # reports show 128m, not 134217728
    create_results_view(s, space.distributions())  # the seed's query, in SQL
    return s


def _checked(o: Options, multi: bool) -> Options:
    """The options, checked before anything starts (a wrong one is exit 2); a --timeout
    written as text (30m, 2h) becomes seconds."""
    from dataclasses import replace

    if isinstance(o.timeout, str):
        from ..job.model import parse_duration

        try:
            o = replace(o, timeout=parse_duration(o.timeout))
        except ValueError as exc:
            raise InputError(f"--timeout: {exc}") from None
    if o.sampler not in SAMPLERS:
        raise InputError(f"--sampler: unknown sampler '{o.sampler}'; "
                         f"choose {', '.join(SAMPLERS)}")
    if o.pruner not in PRUNERS:
        raise InputError(f"--pruner: unknown pruner '{o.pruner}'; choose {', '.join(PRUNERS)}")
    if o.target is not None and multi:
        raise InputError("--target: a study with several objectives has no one score to reach",
                         hint="add a constraint instead, e.g. constraints: ['p99_ms <= 20']")
    if o.runner not in RUNNERS:
        raise InputError(f"--runner: unknown runner '{o.runner}'; choose {', '.join(RUNNERS)}")
    if o.runner != "swarm" and (o.parallel not in (None, 1) or o.node_labels):
        flag = "--parallel" if o.parallel not in (None, 1) else "--node-label"
        raise InputError(f"{flag}: only with --runner swarm (the local engine runs one trial "
                         f"at a time)", hint="several machines on one MySQL/PostgreSQL study: run "
                                             "`tuner optimize` on each (see docs/machines.md)")
    if o.parallel is not None and o.parallel < 1:
        raise InputError("--parallel: must be at least 1")
    for flag, value in (("--n-trials", o.n_trials), ("--repeat", o.repeat),
                        ("--rebaseline", o.rebaseline)):
        if value is not None and value < 1:
            raise InputError(f"{flag}: must be at least 1")
    return o


def _check_budget(o: Options, plan: Any, n_trials: int | None, multi: bool) -> int | None:
    """The trials the search may run, from --n-trials and --max-runs; racing's own checks."""
    per_trial = len(plan.workloads) * (plan.warmup + plan.repeat)
    if o.stop_when_done and not o.race:
        raise InputError("--stop-when-done: only with --race (it stops on the races' verdicts)")
    if o.race:
        bad = [("--sampler grid", o.sampler == "grid"), ("--rebaseline", o.rebaseline),
               ("--confirm", o.confirm), ("--target", o.target is not None),
               ("several objectives", multi)]
        for what, present in bad:
            if present:
                raise InputError(f"--race: not with {what}",
                                 hint="racing compares one score side by side and confirms "
                                      "its incumbent against the default itself "
                                      "(--confirm-runs rounds)")
    if o.max_runs is None:
        return n_trials
    from ..racing import FINALISTS

    final = (FINALISTS + 1 if o.race else o.confirm + 1 if o.confirm else 0) * o.confirm_runs
    if o.max_runs < (final + 1) * per_trial:
        raise InputError(f"--max-runs: {o.max_runs} is fewer than one trial ({per_trial} "
                         f"container run(s)) and the final rounds ({final} trial(s)) need")
    fits = o.max_runs // per_trial - final
    return min(fits, o.n_trials) if o.n_trials is not None else fits


def _race(s: Any, space: "Space", trial_fn: Any, o: Options, plan: Any,
          n_trials: int | None, on_event: Callable[[TrialEvent], None], jobs: int) -> int:
    import time

    from ..errors import notify
    from ..racing import Budget, race_study

    if jobs > 1:
        # A race's pairs run one after the other, so that they see the same machine state.
        notify("--race runs one trial at a time (--parallel is not used)")
    per_trial = len(plan.workloads) * (plan.warmup + plan.repeat)
    budget = Budget(runs_per_trial=per_trial, max_runs=o.max_runs,
                    max_trials=o.n_trials if o.max_runs else n_trials,
                    deadline=time.monotonic() + o.timeout if o.timeout else None,
                    patience=max(10, 3 * len(space.knobs)) if o.stop_when_done else None)
    return race_study(s, space, trial_fn, budget=budget, final_rounds=o.confirm_runs,
                      seed=o.seed, on_event=on_event)


def _runner(job: "Job", study: str, o: Options) -> tuple[Any, int]:
    """The runner of a study and how many trials it runs at once."""
    if o.runner == "swarm":
        from ..runner.swarm_pool import open_pool

        return open_pool(job, study, o.parallel, o.node_labels)
    from ..runner.docker import DockerRunner

    return DockerRunner(job, study), 1


def _plan(job: "Job", space: "Space", o: Options, prune: bool = False) -> Any:
    from ..trial import Plan

    chosen: dict[str, list[Any]] = {}
    for param, values in (o.workload or {}).items():
        d = space.workloads.get(param)
        if d is None:
            raise InputError(f"--workload: '{param}' is not a workload parameter of the job "
                             f"(workload parameters: {', '.join(space.workloads) or 'none'})")
        allowed = {str(v): v for v in (d.values or [])}
        for v in values:
            if allowed and v not in allowed:
                raise InputError(f"--workload: {param} has no value '{v}' "
                                 f"(values: {', '.join(allowed)})")
        chosen[param] = [allowed.get(v, v) for v in values]
    return Plan(workloads=space.workload_points(chosen), repeat=o.repeat or job.repeat,
                warmup=job.warmup, statistic=job.statistic, aggregate=job.objective.aggregate,
                prune=prune, fresh=o.race)


def run_points(url: str, study: str, job_path: str, points: list[dict[str, Any]], *,
               results: str = "results", user_attrs: dict[str, Any] | None = None,
               on_event: Callable[[TrialEvent], None] = lambda e: None) -> int:
    """Run these configurations now as trials of an existing study, the way `optimize` runs
    its trials (heartbeats, per-container rows, logs, profiles; the study's repeats and
    workload values); return how many ran."""
    import optuna

    from .. import storage as store
    from ..optimize import run_study
    from ..runner.docker import DockerRunner

    v = validate(job_path)
    job, space = v.job, v.space
    _quiet_optuna()
    with DockerRunner(job, study) as runner:
        rdb = store.open_storage(url, heartbeat=True)
        s = optuna.load_study(study_name=study, storage=rdb)
        for point in points:
            s.enqueue_trial(point, user_attrs=user_attrs)
        measuring = s.user_attrs.get(MEASURING) or {}
        plan = _plan(job, space, Options(repeat=measuring.get("repeat"),
                                         workload=measuring.get("workload")))
        trial_fn = _worker_trials(v, runner, rdb, s, results, plan)
        return run_study(s, space, trial_fn, n_trials=len(points), grid=False,
                         on_event=on_event)


def _worker_trials(v: Validated, runner: Any, rdb: Any, study: Any, results: str, plan: Any):
    """The trial function of this worker; first, the trials an earlier worker finished but
    could not record (the database was away too long) are recorded from their folders."""
    from ..errors import notify
    from ..storage.tables import ensure_tables
    from ..executor import TrialExecutor
    from ..trial import record_outcomes

    ensure_tables(rdb.engine)
    recorded = record_outcomes(study, Path(results).resolve(), rdb.engine)
    if recorded:
        notify(f"recorded trial(s) {', '.join(map(str, recorded))} from their results folders "
               f"(finished while the database was away)")
    return TrialExecutor(v.job, v.space, runner, study.study_name, Path(results).resolve(),
                         plan, engine=rdb.engine, templates=v.templates)


def best(storage: str | None, study: str | None, per_workload: bool = False
         ) -> dict[str, Any]:
    from ..reports import best_of
    from ..reports import per_workload as workload_bests

    from ..reports import feasibility

    s = read_study(storage, study)
    result = best_of(s)
    if result is None:
        feas = feasibility(s)
        if feas and feas["infeasible"]:
            raise InputError(f"study '{s.study_name}': none of its {feas['infeasible']} "
                             f"complete trial(s) kept the constraints "
                             f"({'; '.join(feas['constraints'])})",
                             hint="see each trial's metrics with `tuner trials`")
        raise InputError(f"study '{s.study_name}' has no complete trial yet",
                         hint="see why with `tuner trials`")
    if per_workload:
        result["per_workload"] = workload_bests(s)["per_workload"]
    return result


# what the trials listing shows
TRIAL_ROW_ATTRS = (REASON, SAMPLES, SPREAD, METRICS, CONSTRAINTS_MET, PROGRESS, PRUNED_AT)


def trials(storage: str | None, study: str | None) -> tuple[str, list[dict[str, Any]]]:
    from ..reports import trial_rows

    from ..reports import study_noise

    s = read_study(storage, study, user_keys=TRIAL_ROW_ATTRS + (DUPLICATE_OF, RACE,
                                                                CONFIRM_ROUND, BASELINE))
    rows = trial_rows(s, _engine_if_tables(s))
    noise = study_noise(s)  # the study's, on every row: the listing stays a list
    for row in rows:
        row["study_noise"] = noise
    return s.study_name, rows


def labels(storage: str | None, study: str | None) -> tuple[list[str], dict[str, str]]:
    """The names of a study's objectives ("score" unless the job named several), and the
    units of its parameters written with units (so tables show 128m, not 134217728)."""
    from ..reports import objectives_of

    s = read_study(storage, study)
    return [o["name"] for o in objectives_of(s)], s.user_attrs.get(UNITS) or {}


def runs(storage: str | None, study: str | None, number: int) -> tuple[str, list[dict[str, Any]]]:
    """The per-container rows of one trial."""
    from ..storage import trial_id
    from ..storage.tables import runs_of

    s = read_study(storage, study)
    found = s.trial(number)
    if found is None:
        raise InputError(f"TRIAL: study '{s.study_name}' has no trial {number} "
                         f"(it has {s.count()})")
    engine = _engine_if_tables(s)
    rows = runs_of(engine, [trial_id(found)]) if engine is not None else []
    for r in rows:
        r.pop("id", None)
        r.pop("trial_id", None)
    return s.study_name, rows


def studies(storage: str | None) -> list[dict[str, Any]]:
    from ..storage.read import connect, study_counts

    return study_counts(connect(existing_url(storage)))


def cleanup(study: str | None, everything: bool) -> tuple[list[str], list[str], list[str]]:
    """What dead tuner processes left: (containers, networks, swarm services/configs/networks
    when the engine is a swarm manager)."""
    from ..runner import swarm_pool as swarm
    from ..runner.docker import connect, remove_leftovers

    api = connect()
    try:
        swarmed = swarm.remove_leftovers(api, study, everything) if swarm.is_manager(api) \
            else []
        containers, networks = remove_leftovers(api, study, everything)
        return containers, networks, swarmed
    finally:
        api.close()


