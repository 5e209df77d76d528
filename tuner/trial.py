"""One trial's work: its runs (every workload value x warm-ups and repeats), their files, rows
and scores, and the numbers that make its value: a statistic over repeats, an aggregate over
workloads. A configuration the sampler proposes again is not re-run from scratch: one more
sample is added to what its earlier trial measured.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .attrs import (BASELINE, CONFIRM, CONSTRAINTS, DUPLICATE_OF, METRIC_SAMPLES, METRICS,
                    NODE, PROGRESS, PRUNED_AT, REASON, SAMPLES, SPREAD, SWEEP, WARNINGS,
                    WORKLOADS)
from .errors import DiskFull, ResultsUnwritable, TrialFailed
from .job import Job
from .space import Space
from .storage import trial_id

# User attributes a trial carries (the dashboard and reports show them).


@dataclass(frozen=True)
class Plan:
    workloads: list[dict[str, Any]]  # [{}] when the job has no workload parameters
    repeat: int = 1
    warmup: int = 0
    statistic: str = "median"
    aggregate: str = "sum"
    prune: bool = False  # follow objective.progress and let the study's pruner stop a trial


def workload_label(workload: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in workload.items()) or "-"


def summarize(samples: list[float], kind: str) -> float:
    return statistics.median(samples) if kind == "median" else statistics.fmean(samples)


def spread(samples: list[float]) -> dict[str, float | int | None]:
    mean = statistics.fmean(samples)
    cv = statistics.stdev(samples) / abs(mean) if len(samples) > 1 and mean else None
    return {"n": len(samples), "min": min(samples), "max": max(samples), "cv": cv}


def combine(values: dict[str, float], kind: str, baseline: dict[str, float] | None) -> float:
    """One number from the per-workload values of a configuration."""
    if kind == "sum":
        return math.fsum(values.values())
    if kind == "mean":
        return statistics.fmean(values.values())
    # geomean-ratio-to-baseline: each workload counts alike, however large its numbers.
    if not baseline:
        raise TrialFailed("no baseline to compare against: aggregate geomean-ratio-to-baseline "
                          "needs the default configuration's trial to have completed")
    ratios = []
    for label, v in values.items():
        base = baseline.get(label)
        if not base or base <= 0 or v <= 0:
            raise TrialFailed(f"cannot take the ratio to the baseline for workload {label} "
                              f"(value {v}, baseline {base})")
        ratios.append(v / base)
    return math.exp(statistics.fmean(math.log(r) for r in ratios))


OUTCOME = "outcome.json"  # in the trial's folder: its value or reason, and its rows


@dataclass
class _Record:
    """What a trial writes to the database, gathered while it runs and written at its end.
    It is saved in the trial's folder first (outcome.json): when the database stays away past
    the wait limit, the next run records it from there, so no finished trial is lost."""

    attrs: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)  # merged logs: artifacts for the dashboard
    # constraint as written -> Optuna's constraint value (zero or less: kept)
    constraints: dict[str, float] = field(default_factory=dict)

    def save(self, trialdir: Path, trial: Any, params: dict[str, Any], value: Any,
             reason: str | None, recorded: bool = False) -> None:
        trialdir.mkdir(parents=True, exist_ok=True)
        data = {"number": trial.number, "trial_id": trial_id(trial), "params": params,
                "host": socket.gethostname(), "pid": os.getpid(),
                "value": value, "reason": reason, "recorded": recorded, "attrs": self.attrs,
                "runs": self.runs, "profiles": self.profiles, "logs": self.logs,
                "constraints": self.constraints}
        tmp = trialdir / (OUTCOME + ".tmp")
        tmp.write_text(json.dumps(data, default=str) + "\n")
        tmp.replace(trialdir / OUTCOME)

    def write(self, trial: Any, engine: Any, results: Path) -> None:
        """Into the database: attributes, per-container rows, profiles, logs as artifacts."""
        from .storage import record_attrs
        from .storage.tables import add_rows

        # Constraint values are what the samplers learn feasibility from.
        record_attrs(trial, self.attrs, self.logs if engine is not None else [],
                     artifact_dir(results) if engine is not None else None,
                     constraints=self.constraints)
        if engine is not None:
            add_rows(engine, self.runs, self.profiles)


class _Progress:
    """A trial's intermediate values as its log prints them: reported to the study (steps
    counted across the trial's runs) and, when the trial may be pruned, checked against the
    pruner after each. Called from the runner's log-following thread."""

    def __init__(self, trial: Any, prunable: bool, report: bool):
        self.trial, self.prunable, self.report = trial, prunable, report
        self.values: list[float] = []
        self.pruned: tuple[int, float] | None = None
        self.errors: list[str] = []

    def __call__(self, value: float) -> bool:
        """Take one value; True asks the runner to stop the trial."""
        step = len(self.values)
        self.values.append(value)
        try:
            if self.report:
                self.trial.report(value, step)
            if self.prunable and self.trial.should_prune():
                self.pruned = (step, value)
                return True
        except Exception as exc:  # a storage hiccup must not end the trial: it runs on
            self.errors.append(f"progress value at step {step} not recorded: {exc}")
        return False


def make_trial_function(job: Job, space: Space, runner: Any, study: str, results: Path,
                        plan: Plan, engine: Any = None, templates: Any = None
                        ) -> Callable[[dict[str, Any], Any], Any]:
    from .collect.logs import write_logs, write_params
    from .collect.metrics import read_metrics
    from .collect.outcome import failure_reason
    from .collect.profiles import collect_profiles
    from .collect.score import extract_score
    from .job.goals import SCORE, goals_of
    from .runner import TrialContext
    from .runner.specs import file_path
    from .templates import Templates

    templates = templates or Templates(job)
    goals = goals_of(job)

    def one_run(params: dict[str, Any], workload: dict[str, Any], trial: Any, outdir: Path,
                label: str | None, warnings: list[str], record: _Record,
                progress: _Progress | None = None) -> tuple[float, dict[str, float]]:
        import optuna

        outdir.mkdir(parents=True)
        outdir.chmod(0o777)  # containers may write as any user
        env = space.env(params, workload)
        write_params(outdir, {**params, **workload}, env)
        rendered = templates.render(space.values(params, workload))
        for cname, r in rendered.items():  # kept: the exact config each run had
            for path, text in r.files.items():
                host = Path(file_path(str(outdir), cname, path))
                host.parent.mkdir(parents=True, exist_ok=True)
                host.write_text(text, encoding="utf-8")
                host.chmod(0o644)
        done = runner.run(TrialContext(study=study, number=trial.number, env=env,
                                       outdir=str(outdir), worker=runner.worker,
                                       rendered=rendered, on_progress=progress))
        write_logs(done, outdir)
        if done.node:
            record.attrs[NODE] = done.node
        summaries, found = collect_profiles(job, done, outdir)
        warnings.extend(done.warnings + found)
        record.runs.extend(_run_rows(trial, done, outdir, label))
        record.profiles.extend({**row, "trial_id": trial_id(trial),
                                "source": row["source"] + (f"@{label}" if label else "")}
                               for row in summaries)
        record.logs.append(str(outdir / "merged.log"))
        if progress is not None and progress.pruned is not None and done.stopped:
            step, value = progress.pruned
            where = f" ({label})" if label else ""
            raise optuna.TrialPruned(f"pruned at step {step}{where}: {value:.6g} was worse than earlier "
                          f"trials at that step ({plan_pruner(trial)} pruner); its containers "
                          f"were stopped")
        reason = failure_reason(job, done)
        if reason:
            raise TrialFailed(f"{label}: {reason}" if label else reason)
        try:
            value = extract_score(job.objective, done, outdir)
        except TrialFailed as exc:
            raise TrialFailed(f"{label}: {exc.reason}" if label else exc.reason) from None
        if job.objective.file != "score.txt":
            (outdir / "score.txt").write_text(f"{value!r}\n")
        try:
            metrics = read_metrics(job, done, outdir, goals.needed)
        except TrialFailed as exc:
            raise TrialFailed(f"{label}: {exc.reason}" if label else exc.reason) from None
        return value, metrics

    def run(params: dict[str, Any], trial: Any) -> Any:
        import optuna

        trialdir = results / study / str(trial.number)
        record = _Record()
        value = reason = None
        try:
            value = measure(params, trial, trialdir, record)
            return value
        except TrialFailed as exc:
            reason = exc.reason
            raise
        except optuna.TrialPruned as exc:
            reason = str(exc)
            raise
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(str(results)) from None
            if exc.filename and str(exc.filename).startswith(str(results)):
                raise ResultsUnwritable(str(results), exc.strerror or str(exc)) from None
            raise
        finally:
            if trialdir.is_dir():
                # On disk first: if the database is away past the limit, the next run
                # records the trial from there.
                saved = _quietly(record.save, trialdir, trial, params, value, reason)
                record.write(trial, engine, results)
                if saved:
                    _quietly(record.save, trialdir, trial, params, value, reason, True)

    def measure(params: dict[str, Any], trial: Any, trialdir: Path, record: _Record) -> float:
        if trialdir.exists():  # left by an earlier study of the same name
            shutil.rmtree(trialdir)
        prior = _earlier_measurement(trial, params)
        warmup, repeat = (0, 1) if prior else (plan.warmup, plan.repeat)
        runs_per_trial = len(plan.workloads) * (warmup + repeat)
        warnings: list[str] = []
        samples: dict[str, list[float]] = {}
        metric_samples: dict[str, list[float]] = {}
        progress = None
        if job.objective.progress is not None:
            # The default configuration and confirmation re-runs are measured whole: they are
            # what the others are judged against.
            enqueued = any(trial.user_attrs.get(k) for k in (BASELINE, CONFIRM, SWEEP))
            progress = _Progress(trial, prunable=plan.prune and not enqueued
                                 and not goals.multi, report=not goals.multi)
        try:
            for workload in plan.workloads:
                wl = workload_label(workload)
                got = samples.setdefault(wl, [])
                for k in range(-warmup, repeat):
                    if runs_per_trial == 1:
                        label, outdir = None, trialdir
                    else:
                        name = f"warmup{k + warmup}" if k < 0 else str(k)
                        label = f"{wl}/{name}" if workload else name
                        outdir = trialdir / (f"{wl}.{name}" if workload else name)
                    value, metrics = one_run(params, workload, trial, outdir, label,
                                             warnings, record, progress if k >= 0 else None)
                    if k >= 0:
                        got.append(value)
                        for name, v in metrics.items():
                            metric_samples.setdefault(name, []).append(v)
        finally:
            if progress is not None:
                warnings.extend(progress.errors)
                if progress.values:
                    record.attrs[PROGRESS] = progress.values
                if progress.pruned is not None:
                    record.attrs[PRUNED_AT] = {"step": progress.pruned[0],
                                               "value": progress.pruned[1],
                                               "pruner": plan_pruner(trial)}
            if warnings:
                record.attrs[WARNINGS] = warnings
        if prior:
            record.attrs[DUPLICATE_OF] = prior.number
            for wl, earlier in (prior.user_attrs.get(SAMPLES) or {}).items():
                samples[wl] = list(earlier) + samples.get(wl, [])
            for name, earlier in (prior.user_attrs.get(METRIC_SAMPLES) or {}).items():
                metric_samples[name] = list(earlier) + metric_samples.get(name, [])
        values = {wl: summarize(s, plan.statistic) for wl, s in samples.items()}
        record.attrs[SAMPLES] = samples
        record.attrs[SPREAD] = {wl: spread(s) for wl, s in samples.items()}
        record.attrs[WORKLOADS] = values
        baseline = None
        if plan.aggregate == "geomean-ratio-to-baseline":
            baseline = values if trial.user_attrs.get(BASELINE) else _baseline_values(trial)
        value = combine(values, plan.aggregate, baseline)
        if runs_per_trial > 1 or prior:
            (trialdir / "score.txt").write_text(f"{value!r}\n")
        # A metric is the statistic of its values over all the trial's measured runs.
        measured = {SCORE: value, **{name: summarize(v, plan.statistic)
                                     for name, v in metric_samples.items()}}
        record.attrs[METRIC_SAMPLES] = metric_samples
        record.attrs[METRICS] = measured
        if goals.constraints:
            record.attrs[CONSTRAINTS] = {c.text: c.holds(measured[c.name])
                                         for c in goals.constraints}
            record.constraints = {c.text: c.violation(measured[c.name])
                                  for c in goals.constraints}
        values = [measured[name] for name in goals.names]
        return values[0] if len(values) == 1 else values

    return run


def plan_pruner(trial: Any) -> str:
    """The name of the study's pruner, as the person chose it."""
    name = type(getattr(trial.study, "pruner", None)).__name__
    return {"MedianPruner": "median", "SuccessiveHalvingPruner": "successive halving"}.get(
        name, name)


def _quietly(fn: Callable[..., Any], *args: Any) -> bool:
    """Writes to the results disk that must not hide the trial's own error (a full disk)."""
    try:
        fn(*args)
        return True
    except OSError:
        return False


def record_outcomes(study: Any, results: Path, engine: Any) -> list[int]:
    """Record the trials a worker finished but could not record (the database stayed away
    past the wait limit): their outcome.json, for trials still RUNNING. Returns their
    numbers."""
    import optuna
    from optuna.trial import TrialState

    from .storage import stale_trial_ids

    folder = results / study.study_name
    stale = stale_trial_ids(study)
    running = {t.number: t for t in study.get_trials(deepcopy=False,
                                                       states=(TrialState.RUNNING,))}
    done = []
    for number, t in sorted(running.items()):
        path = folder / str(number) / OUTCOME
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("trial_id") != trial_id(t):
            continue  # a folder left by an earlier study of the same name
        if not _writer_gone(data, trial_id(t), stale):
            continue  # its worker lives: it records the trial itself
        trial = optuna.Trial(study, trial_id(t))
        if not data.get("recorded"):
            _Record(data["attrs"], data["runs"], data["profiles"], data["logs"],
                    data.get("constraints") or {}).write(trial, engine, results)
        if data.get("value") is not None:
            study.tell(number, data["value"])
        else:
            trial.set_user_attr(REASON, data.get("reason") or "the worker stopped before it "
                                                              "recorded this trial")
            study.tell(number, state=TrialState.FAIL)
        data["recorded"] = True
        path.write_text(json.dumps(data, default=str) + "\n")
        done.append(number)
    return done


def _earlier_measurement(trial: Any, params: dict[str, Any]) -> Any:
    """The complete trial that measured this configuration most (the latest of a chain of
    duplicates holds all its samples), when the sampler proposed it again. Enqueued trials
    (baseline, grid points, sweeps, confirmations) always run afresh."""
    from .storage import enqueued_params, same_configuration

    if enqueued_params(trial) is not None:
        return None
    same = [t for t in same_configuration(trial) if t.params == params and SAMPLES in t.user_attrs]
    if not same:
        return None
    return max(same, key=lambda t: (sum(len(v) for v in t.user_attrs[SAMPLES].values()),
                                    t.number))


def _baseline_values(trial: Any) -> dict[str, float] | None:
    for t in trial.study.get_trials(deepcopy=False, states=_complete()):
        if t.user_attrs.get(BASELINE):
            return t.user_attrs.get(WORKLOADS)
    return None


def _complete() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE,)


def _writer_gone(outcome: dict[str, Any], tid: int, stale: set[int]) -> bool:
    """Whether the worker that wrote an outcome is gone: its process, on this host; its
    heartbeats, on another."""
    if outcome.get("host") == socket.gethostname():
        try:
            os.kill(int(outcome.get("pid") or 0), 0)
        except ProcessLookupError:
            return True
        except (OSError, ValueError):
            return False
        return False
    return tid in stale


def _run_rows(trial: Any, done: Any, outdir: Path, label: str | None) -> list[dict[str, Any]]:
    """Per-container rows for tuner_runs."""
    rows = []
    for name, c in done.containers.items():
        rows.append({
            "trial_id": trial_id(trial), "container": name, "run_label": label,
            "image": c.image, "image_id": c.image_id, "exit_code": c.exit_code,
            "oom_killed": c.oom_killed, "killed": c.killed, "started_at": c.started_at,
            "ended_at": c.finished_at,
            "seconds": max(0.0, c.finished_at - c.started_at)
            if c.started_at is not None and c.finished_at is not None else None,
            "peak_memory_bytes": c.peak_memory, "cpu_seconds": c.cpu_seconds,
            "log_bytes": c.log_bytes, "log_path": str(outdir / f"{name}.log"),
            "log_tail": c.log_shown[-4000:],
        })
    return rows


def artifact_dir(results: Path) -> Path:
    """Where trial logs are stored as Optuna artifacts (a name no study can have)."""
    path = results / ".artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
