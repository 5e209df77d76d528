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

        rdb = store.open_storage(url)
        existing = store.study_names(rdb)
        s = optuna.create_study(storage=rdb, study_name=name, direction=job.objective.direction,
                                sampler=optuna_sampler, load_if_exists=True)
        if name in existing and s.direction.name.lower() != job.objective.direction:
            raise InputError(f"--study: study '{name}' exists and is to "
                             f"{s.direction.name.lower()}, but the job says "
                             f"{job.objective.direction}", hint="pass another --study NAME")
        s.set_user_attr("job", str(Path(job.source).resolve()))
        trial_fn = _trial_function(job, space, runner, name, Path(results).resolve())
        ran = run_study(s, space, trial_fn, n_trials=n_trials, grid=grid, on_event=on_event)
        return Optimized(study=name, storage=store.redact(url), ran=ran, best=best_of(s))


def _trial_function(job: Job, space: Space, runner: Any, study: str, results: Path):
    from .collect.logs import write_logs, write_params
    from .collect.outcome import failure_reason
    from .collect.score import extract_score
    from .runner import TrialContext

    def run(params: dict[str, Any], number: int) -> float:
        outdir = results / study / str(number)
        if outdir.exists():  # left by an earlier study of the same name
            shutil.rmtree(outdir)
        outdir.mkdir(parents=True)
        outdir.chmod(0o777)  # containers may write as any user
        env = space.env(params)
        write_params(outdir, params, env)
        trial = runner.run(TrialContext(study=study, number=number, env=env,
                                        outdir=str(outdir), worker=runner.worker))
        write_logs(trial, outdir)
        reason = failure_reason(job, trial)
        if reason:
            raise TrialFailed(reason)
        value = extract_score(job.objective, trial, outdir)
        if job.objective.file != "score.txt":
            (outdir / "score.txt").write_text(f"{value!r}\n")
        return value

    return run


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
    return s.study_name, trial_rows(s)


def _load(storage: str | None, study: str | None):
    from . import storage as store

    _quiet_optuna()
    url = store.resolve_url(storage)
    local = store.sqlite_path(url)
    if local is not None and not local.exists():  # don't create an empty database to read
        raise InputError(f"no study database at {local}",
                         hint="run `tuner optimize JOB` here first, or pass --storage URL")
    return store.load_study(store.open_storage(url), url, study)


def _quiet_optuna() -> None:
    import optuna

    # The CLI reports trials itself; Optuna's per-trial log lines would repeat them.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
