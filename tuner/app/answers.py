"""Use cases that answer questions about a stored study: importance, effect (and its
measured sweep), the report, the dashboard, profiles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import InputError
from ..attrs import JOB, SWEEP
from .reading import _engine_with_tables, _quiet_optuna, existing_url, read_study
from .study import run_points, validate

if TYPE_CHECKING:
    from ..optimize import TrialEvent


def importance(storage: str | None, study: str | None) -> tuple[str, list[Any]]:
    """Which parameters matter: the study's name and one answer per group of trials."""
    from ..reports import primary_view
    from ..reports.importance import study_importance

    _quiet_optuna()
    s = read_study(storage, study)
    return s.study_name, study_importance(primary_view(s))


def effect(storage: str | None, study: str | None, param: str, *, measure: bool = False,
           steps: int = 2, results: str = "results",
           on_event: Callable[[TrialEvent], None] = lambda e: None) -> tuple[str, Any, int]:
    """Would raising PARAM help: (study name, the answer, trials run by --measure)."""
    from ..reports import primary_view
    from ..reports.effect import study_effect

    _quiet_optuna()
    s = read_study(storage, study)
    study_effect(primary_view(s), param)  # an unknown PARAM is refused before any container runs
    ran = 0
    if measure:
        ran = sweep(storage, s.study_name, param, steps=steps, results=results,
                    on_event=on_event)
        s = read_study(storage, s.study_name)
    return s.study_name, study_effect(primary_view(s), param), ran


def sweep(storage: str | None, study: str | None, param: str, *, steps: int = 2,
          results: str = "results",
          on_event: Callable[[TrialEvent], None] = lambda e: None) -> int:
    """`--measure`: run the sweep of `param` around the study's best trial (tuner.sweep
    chooses the points) as trials of the study; return how many ran."""
    from ..sweep import sweep_points
    from ..reports.axes import axis_of_dimension
    from ..storage import load_study, open_storage

    url = existing_url(storage)
    _quiet_optuna()
    s = load_study(open_storage(url), url, study)
    job_path = s.user_attrs.get(JOB)
    if not job_path:
        raise InputError(f"--measure: study '{s.study_name}' does not record its job file",
                         hint="run `tuner optimize JOB` on it once (it records the job's path)")
    if not Path(job_path).exists():
        raise InputError(f"--measure: the study's job file {job_path} is gone",
                         hint="restore it there; --measure runs the job's containers")
    space = validate(job_path).space
    if param not in space.knobs:
        raise InputError(f"--measure: '{param}' is not a knob of {job_path} "
                         f"(knobs: {', '.join(space.knobs)})")
    from ..reports import best_of

    found = best_of(s)
    if found is None:
        raise InputError(f"study '{s.study_name}' has no complete trial yet",
                         hint="see why with `tuner trials`")
    best = next(t for t in s.get_trials(deepcopy=False) if t.number == found["number"])
    defaults = space.defaults()
    base = space.clean({n: best.params.get(n, defaults[n]) for n in space.knobs})
    points = sweep_points(axis_of_dimension(space.knobs[param]), base, steps)
    return run_points(url, s.study_name, job_path, points, results=results,
                      user_attrs={SWEEP: param}, on_event=on_event)


def report(storage: str | None, study: str | None, output: str) -> tuple[Path, int]:
    """The HTML report written to `output`: its path and how many trials it covers."""
    from ..reports.html import write_report

    _quiet_optuna()
    s = read_study(storage, study)
    try:
        return write_report(s, output), len(s.trials)
    except OSError as exc:
        from ..errors import TunerError

        raise TunerError(f"cannot write the report to {output or repr(output)}: "
                         f"{exc.strerror or exc}", hint="pass -o FILE somewhere writable") from None


@dataclass
class Dashboard:
    url: str  # shown, without a password
    artifacts: Path
    uploaded_files: int
    uploaded_trials: int
    storage: Any
    notes: int = 0  # studies whose importance note was (re)written

    def serve(self, host: str, port: int) -> None:
        from ..reports.dashboard import serve

        try:
            serve(self.storage, self.artifacts, host, port)
        except OSError as exc:
            from ..errors import TunerError

            raise TunerError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                             hint="choose another --port") from None


def dashboard(storage: str | None, results: str, artifact_dir: str | None) -> Dashboard:
    """optuna-dashboard on the storage, with the logs not yet uploaded uploaded first (to the
    same folder `tuner optimize` uploads each trial's merged log to)."""
    from .. import storage as store
    from ..reports.dashboard import upload_logs

    url = existing_url(storage)
    _quiet_optuna()
    rdb = store.open_storage(url)
    artifacts = Path(artifact_dir) if artifact_dir else Path(results) / ".artifacts"
    done = upload_logs(rdb, results, artifacts)
    notes = _importance_notes(rdb, url)
    return Dashboard(store.redact(url), artifacts, done.files, done.trials, rdb, notes)


def _importance_notes(rdb: Any, url: str) -> int:
    """Each study's note explains the dashboard's importance chart (PED-ANOVA) beside tuner's
    fANOVA, so the two answers never disagree unexplained. Returns the notes (re)written."""
    import optuna

    from ..attrs import WARM_START
    from ..errors import TunerError
    from ..reports import primary_view
    from ..reports.dashboard import importance_note, save_importance_note
    from ..reports.importance import study_importance

    written = 0
    for summary in rdb.get_all_studies():
        try:
            groups = study_importance(primary_view(read_study(url, summary.study_name)))
        except TunerError:  # no scikit-learn: the dashboard still serves, without the note
            continue
        study = optuna.load_study(study_name=summary.study_name, storage=rdb)
        written += save_importance_note(study, importance_note(
            groups, summary.user_attrs.get(WARM_START)))
    return written


def profile_file_top(path: str, sample_index: str | None, n: int) -> dict[str, Any]:
    """`profile top FILE`: the top functions of a profile file (pprof protobuf or folded)."""
    from ..collect.pprof import read_profile

    index: str | int | None = sample_index
    if sample_index is not None and sample_index.isdigit():
        index = int(sample_index)
    return read_profile(path).top(index, n=n).to_dict()


def profile_answer(kind: str, storage: str | None, study: str | None, **kwargs: Any
                   ) -> dict[str, Any]:
    """`trial_top`, `compare` or `diff` from reports.profiles, on a stored study."""
    from ..reports import profiles

    s = read_study(storage, study)
    return getattr(profiles, kind)(s, _engine_with_tables(s), **kwargs)


