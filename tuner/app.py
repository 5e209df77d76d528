"""Use cases: each wires the layers for one command. No click, no printing here."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import InputError, TrialFailed
from .job import Job, load_job
from .optimize import SAMPLERS, TrialEvent
from .space import Space


@dataclass
class Validated:
    job: Job
    space: Space


def validate(path: str) -> Validated:
    job = load_job(path)
    return Validated(job, Space(job, job.source))


@dataclass
class Optimized:
    study: str
    storage: str
    ran: int
    best: dict[str, Any] | None


def optimize(path: str, *, sampler: str = "tpe", n_trials: int | None = None,
             seed: int | None = None, storage: str | None = None, study: str | None = None,
             results: str = "results",
             on_event: Callable[[TrialEvent], None] = lambda e: None) -> Optimized:
    """Run a study: bad input is refused before anything is started."""
    from . import storage as store
    from .optimize import make_sampler, run_study
    from .reports import best_of
    from .runner.docker import DockerRunner

    job = load_job(path)
    space = Space(job, job.source)
    if sampler not in SAMPLERS:
        raise InputError(f"--sampler: unknown sampler '{sampler}'; choose {', '.join(SAMPLERS)}")
    if n_trials is not None and n_trials < 1:
        raise InputError("--n-trials: must be at least 1")
    grid = sampler == "grid"
    if grid:
        space.grid()  # a continuous range is a job error, before Docker or the database
    elif n_trials is None:
        n_trials = 20
    name = study or job.name
    url = store.resolve_url(storage)
    _quiet_optuna()
    optuna_sampler = make_sampler(sampler, seed)

    with DockerRunner(job, name) as runner:
        import optuna

        rdb = store.open_storage(url, heartbeat=True)
        existing = store.study_names(rdb)
        s = optuna.create_study(storage=rdb, study_name=name, direction=job.objective.direction,
                                sampler=optuna_sampler, load_if_exists=True)
        if name in existing and s.direction.name.lower() != job.objective.direction:
            raise InputError(f"--study: study '{name}' exists and is to "
                             f"{s.direction.name.lower()}, but the job says "
                             f"{job.objective.direction}", hint="pass another --study NAME")
        s.set_user_attr("job", str(Path(job.source).resolve()))
        trial_fn = _worker_trials(job, space, runner, rdb, name, results)
        ran = run_study(s, space, trial_fn, n_trials=n_trials, grid=grid, on_event=on_event)
        return Optimized(study=name, storage=store.redact(url), ran=ran, best=best_of(s))


def run_points(url: str, study: str, job_path: str, points: list[dict[str, Any]], *,
               results: str = "results", user_attrs: dict[str, Any] | None = None,
               on_event: Callable[[TrialEvent], None] = lambda e: None) -> int:
    """Run these configurations now as trials of an existing study, the way `optimize` runs
    its trials (heartbeats, per-container rows, logs, profiles); return how many ran."""
    import optuna

    from . import storage as store
    from .optimize import run_study
    from .runner.docker import DockerRunner

    job = load_job(job_path)
    space = Space(job, job.source)
    _quiet_optuna()
    with DockerRunner(job, study) as runner:
        rdb = store.open_storage(url, heartbeat=True)
        s = optuna.load_study(study_name=study, storage=rdb)
        for point in points:
            s.enqueue_trial(point, user_attrs=user_attrs)
        trial_fn = _worker_trials(job, space, runner, rdb, study, results)
        return run_study(s, space, trial_fn, n_trials=len(points), grid=False,
                         on_event=on_event)


def _worker_trials(job: Job, space: Space, runner: Any, rdb: Any, study: str, results: str):
    from .storage.tables import ensure_tables

    ensure_tables(rdb.engine)
    return _trial_function(job, space, runner, study, Path(results).resolve(),
                           engine=rdb.engine)


def _trial_function(job: Job, space: Space, runner: Any, study: str, results: Path,
                    engine: Any = None):
    """The work of one trial: run it, keep its files and runs, judge it, read its score."""
    from .collect.logs import write_logs, write_params
    from .collect.outcome import failure_reason
    from .collect.profiles import collect_profiles
    from .collect.score import extract_score
    from .optimize import WARNINGS
    from .runner import TrialContext
    from .storage.tables import add_profiles

    def run(params: dict[str, Any], trial: Any) -> float:
        outdir = results / study / str(trial.number)
        if outdir.exists():  # left by an earlier study of the same name
            shutil.rmtree(outdir)
        outdir.mkdir(parents=True)
        outdir.chmod(0o777)  # containers may write as any user
        env = space.env(params)
        write_params(outdir, params, env)
        done = runner.run(TrialContext(study=study, number=trial.number, env=env,
                                       outdir=str(outdir), worker=runner.worker))
        write_logs(done, outdir)
        summaries, warnings = collect_profiles(job, done, outdir)
        warnings = done.warnings + warnings
        if warnings:
            trial.set_user_attr(WARNINGS, warnings)
        if engine is not None:
            _record(engine, trial, done, outdir, results)
            add_profiles(engine, [{**row, "trial_id": trial._trial_id} for row in summaries])
        reason = failure_reason(job, done)
        if reason:
            raise TrialFailed(reason)
        value = extract_score(job.objective, done, outdir)
        if job.objective.file != "score.txt":
            (outdir / "score.txt").write_text(f"{value!r}\n")
        return value

    return run


def _record(engine: Any, trial: Any, done: Any, outdir: Path, results: Path) -> None:
    """Per-container rows in tuner_runs, and the merged log as an artifact for the dashboard."""
    import optuna

    from .storage.tables import add_runs

    rows = []
    for name, c in done.containers.items():
        tail = c.log_text[-4000:]
        rows.append({
            "trial_id": trial._trial_id, "container": name, "image": c.image,
            "image_id": c.image_id, "exit_code": c.exit_code, "oom_killed": c.oom_killed,
            "killed": c.killed, "started_at": c.started_at, "ended_at": c.finished_at,
            "seconds": max(0.0, c.finished_at - c.started_at)
            if c.started_at is not None and c.finished_at is not None else None,
            "peak_memory_bytes": c.peak_memory, "cpu_seconds": c.cpu_seconds,
            "log_bytes": c.log_bytes, "log_path": str(outdir / f"{name}.log"), "log_tail": tail,
        })
    add_runs(engine, rows)
    store = optuna.artifacts.FileSystemArtifactStore(str(artifact_dir(results)))
    optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(outdir / "merged.log"),
                                     study_or_trial=trial, mimetype="text/plain",
                                     encoding="utf-8")


def artifact_dir(results: Path) -> Path:
    """Where trial logs are stored as Optuna artifacts (a name no study can have)."""
    path = results / ".artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def best(storage: str | None, study: str | None) -> dict[str, Any]:
    from .reports import best_of

    s = _load(storage, study)
    result = best_of(s)
    if result is None:
        raise InputError(f"study '{s.study_name}' has no complete trial yet",
                         hint="see why with `tuner trials`")
    return result


def trials(storage: str | None, study: str | None) -> tuple[str, list[dict[str, Any]]]:
    from .reports import trial_rows

    s = _load(storage, study)
    return s.study_name, trial_rows(s, _engine(s))


def runs(storage: str | None, study: str | None, number: int) -> tuple[str, list[dict[str, Any]]]:
    """The per-container rows of one trial."""
    from .storage.tables import runs_of

    s = _load(storage, study)
    matching = [t for t in s.get_trials(deepcopy=False) if t.number == number]
    if not matching:
        raise InputError(f"TRIAL: study '{s.study_name}' has no trial {number} "
                         f"(it has {len(s.get_trials(deepcopy=False))})")
    rows = runs_of(_engine(s), [matching[0]._trial_id])
    for r in rows:
        r.pop("id", None)
        r.pop("trial_id", None)
    return s.study_name, rows


def studies(storage: str | None) -> list[dict[str, Any]]:
    from .reports import study_rows

    from . import storage as store
    from .storage.tables import ensure_tables

    rdb = store.open_storage(_existing_url(storage))
    ensure_tables(rdb.engine)
    return study_rows(rdb)


def cleanup(study: str | None, everything: bool) -> tuple[list[str], list[str]]:
    from .runner.docker import connect, remove_leftovers

    api = connect()
    try:
        return remove_leftovers(api, study, everything)
    finally:
        api.close()


def profile_answer(kind: str, storage: str | None, study: str | None, **kwargs: Any
                   ) -> dict[str, Any]:
    """`trial_top`, `compare` or `diff` from reports.profiles, on a stored study."""
    from .reports import profiles

    s = _load(storage, study)
    return getattr(profiles, kind)(s, _engine(s), **kwargs)


def _engine(study: Any) -> Any:
    from .storage.tables import ensure_tables

    backend = getattr(study._storage, "_backend", study._storage)
    ensure_tables(backend.engine)
    return backend.engine


def _existing_url(storage: str | None) -> str:
    from . import storage as store

    _quiet_optuna()
    url = store.resolve_url(storage)
    local = store.sqlite_path(url)
    if local is not None and not local.exists():  # don't create an empty database to read
        raise InputError(f"no study database at {local}",
                         hint="run `tuner optimize JOB` here first, or pass --storage URL")
    return url


def _load(storage: str | None, study: str | None):
    from . import storage as store

    url = _existing_url(storage)
    return store.load_study(store.open_storage(url), url, study)


def _quiet_optuna() -> None:
    import warnings

    import optuna

    # The CLI reports trials itself; Optuna's per-trial log lines would repeat them.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # Heartbeats and artifacts are marked experimental; the warning is noise to a user.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
