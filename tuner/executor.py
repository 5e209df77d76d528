"""The trial executor: measures one configuration as one Optuna trial, in named steps.

    prepare   its values into a run folder: environment, params.json, rendered files
    run_once  its containers, once, through the runner
    collect   from one run: failure, score, metrics, profiles, per-container rows
    aggregate the runs' samples (and an earlier trial's, for a configuration proposed again)
              into the trial's value(s), metrics and constraints
    record    what it measured: on disk first (outcome.json), then the database

A trial is every workload value x (warm-ups + repeats) runs; `measure` walks them.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .attrs import (BASELINE, CONFIRM, CONSTRAINTS_MET, DUPLICATE_OF, METRIC_SAMPLES, METRICS,
                    NODE, PROGRESS, PRUNED_AT, RACE, SAMPLES, SPREAD, SWEEP, WARNINGS,
                    WORKLOADS)
from .errors import DiskFull, ResultsUnwritable, TrialFailed
from .job import Job
from .runner.base import TrialRun, TrialRunner
from .space import Space
from .storage import trial_id
from .trial import (Plan, Intermediate, Record, baseline_values, combine, earlier_measurement,
                    plan_pruner, quietly, run_rows, spread, summarize, workload_label)


@dataclass
class Measurement:
    """One trial's measuring so far: what `measure` gathers run by run."""

    trial: Any
    params: dict[str, Any]
    folder: Path
    record: Record = field(default_factory=Record)
    warnings: list[str] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)  # workload -> scores
    metric_samples: dict[str, list[float]] = field(default_factory=dict)
    progress: Intermediate | None = None


class TrialExecutor:
    """Called by the optimizer with a trial's parameters and the Optuna trial; returns its
    value (a list with several objectives) or raises TrialFailed / TrialPruned."""

    def __init__(self, job: Job, space: Space, runner: TrialRunner, study: str,
                 results: Path, plan: Plan, engine: Any = None, templates: Any = None):
        from .job.goals import goals_of
        from .templates import Templates

        self.job, self.space, self.runner, self.study = job, space, runner, study
        self.results, self.plan, self.engine = results, plan, engine
        self.templates = templates or Templates(job)
        self.goals = goals_of(job)

    def __call__(self, params: dict[str, Any], trial: Any) -> Any:
        import optuna

        m = Measurement(trial, params, self.results / self.study / str(trial.number))
        value = reason = None
        try:
            value = self.measure(m)
            return value
        except (TrialFailed, optuna.TrialPruned) as exc:
            reason = exc.reason if isinstance(exc, TrialFailed) else str(exc)
            raise
        except OSError as exc:
            err = self._disk_error(exc)
            if err is exc:
                raise
            raise err from None
        finally:
            self.record(m, value, reason)

    def measure(self, m: Measurement) -> Any:
        """Every run of the trial, then their aggregate."""
        if m.folder.exists():  # left by an earlier study of the same name
            shutil.rmtree(m.folder)
        # Racing keeps each trial one measurement of its own (answers group them by config).
        prior = None if self.plan.fresh else earlier_measurement(m.trial, m.params)
        warmup, repeat = (0, 1) if prior else (self.plan.warmup, self.plan.repeat)
        single = len(self.plan.workloads) * (warmup + repeat) == 1
        m.progress = self._progress(m.trial)
        try:
            for workload in self.plan.workloads:
                for k in range(-warmup, repeat):
                    label, outdir = _run_place(m.folder, workload, k, warmup, single)
                    value, metrics = self.run_once(m, workload, outdir, label,
                                                   m.progress if k >= 0 else None)
                    if k >= 0:
                        m.samples.setdefault(workload_label(workload), []).append(value)
                        for name, v in metrics.items():
                            m.metric_samples.setdefault(name, []).append(v)
        finally:
            self._keep_progress(m)
        return self.aggregate(m, prior, single)

    def prepare(self, m: Measurement, workload: dict[str, Any], outdir: Path
                ) -> tuple[dict[str, str], dict[str, Any]]:
        """A run's folder, its environment and rendered files (kept: the exact config)."""
        from .collect.logs import write_params
        from .runner.specs import file_path

        outdir.mkdir(parents=True)
        outdir.chmod(0o777)  # containers may write as any user
        env = self.space.env(m.params, workload)
        write_params(outdir, {**m.params, **workload}, env)
        rendered = self.templates.render(self.space.values(m.params, workload))
        for cname, r in rendered.items():
            for path, text in r.files.items():
                host = Path(file_path(str(outdir), cname, path))
                host.parent.mkdir(parents=True, exist_ok=True)
                host.write_text(text, encoding="utf-8")
                host.chmod(0o644)
        return env, rendered

    def run_once(self, m: Measurement, workload: dict[str, Any], outdir: Path,
                 label: str | None, progress: Intermediate | None) -> tuple[float, dict[str, float]]:
        """One run of the trial's containers: its score and metrics."""
        from .runner import TrialContext

        env, rendered = self.prepare(m, workload, outdir)
        done = self.runner.run(TrialContext(
            study=self.study, number=m.trial.number, env=env, outdir=str(outdir),
            worker=self.runner.worker, rendered=rendered, on_progress=progress))
        return self.collect(m, done, outdir, label, progress)

    def collect(self, m: Measurement, done: TrialRun, outdir: Path, label: str | None,
                progress: Intermediate | None) -> tuple[float, dict[str, float]]:
        """What one run left: logs and profiles kept, rows gathered; its score and metrics,
        or why it failed or was pruned."""
        from .collect.logs import write_logs
        from .collect.profile_summaries import collect_profiles

        write_logs(done, outdir)
        if done.node:
            m.record.attrs[NODE] = done.node
        summaries, found = collect_profiles(self.job, done, outdir)
        m.warnings.extend(done.warnings + found)
        m.record.runs.extend(run_rows(m.trial, done, outdir, label))
        m.record.profiles.extend({**row, "trial_id": trial_id(m.trial),
                                  "source": row["source"] + (f"@{label}" if label else "")}
                                 for row in summaries)
        m.record.logs.append(str(outdir / "merged.log"))
        if progress is not None and progress.pruned is not None and done.stopped:
            raise self._pruned(m.trial, progress, label)
        try:
            return self._score(done, outdir)
        except TrialFailed as exc:
            raise TrialFailed(f"{label}: {exc.reason}" if label else exc.reason) from None

    def _score(self, done: TrialRun, outdir: Path) -> tuple[float, dict[str, float]]:
        from .collect.metrics import read_metrics
        from .collect.outcome import failure_reason
        from .collect.score import extract_score

        reason = failure_reason(self.job, done)
        if reason:
            raise TrialFailed(reason)
        value = extract_score(self.job.objective, done, outdir)
        if self.job.objective.file != "score.txt":
            (outdir / "score.txt").write_text(f"{value!r}\n")
        return value, read_metrics(self.job, done, outdir, self.goals.needed)

    def aggregate(self, m: Measurement, prior: Any, single: bool) -> Any:
        """The trial's value(s) from its samples: a statistic over repeats, an aggregate over
        workloads; metrics and constraints beside it."""
        from .job.goals import SCORE

        attrs, plan = m.record.attrs, self.plan
        if prior:
            attrs[DUPLICATE_OF] = prior.number
            _prepend(m.samples, prior.user_attrs.get(SAMPLES))
            _prepend(m.metric_samples, prior.user_attrs.get(METRIC_SAMPLES))
        values = {wl: summarize(s, plan.statistic) for wl, s in m.samples.items()}
        attrs[SAMPLES] = m.samples
        attrs[SPREAD] = {wl: spread(s) for wl, s in m.samples.items()}
        attrs[WORKLOADS] = values
        baseline = None
        if plan.aggregate == "geomean-ratio-to-baseline":
            baseline = values if m.trial.user_attrs.get(BASELINE) else baseline_values(m.trial)
        value = combine(values, plan.aggregate, baseline)
        if not single or prior:
            (m.folder / "score.txt").write_text(f"{value!r}\n")
        # A metric is the statistic of its values over all the trial's measured runs.
        measured = {SCORE: value, **{name: summarize(v, plan.statistic)
                                     for name, v in m.metric_samples.items()}}
        attrs[METRIC_SAMPLES] = m.metric_samples
        attrs[METRICS] = measured
        if self.goals.constraints:
            attrs[CONSTRAINTS_MET] = {c.text: c.holds(measured[c.name])
                                  for c in self.goals.constraints}
            m.record.constraints = {c.text: c.violation(measured[c.name])
                                    for c in self.goals.constraints}
        out = [measured[name] for name in self.goals.names]
        return out[0] if len(out) == 1 else out

    def record(self, m: Measurement, value: Any, reason: str | None) -> None:
        """On disk first: if the database is away past the limit, the next run records the
        trial from there."""
        if not m.folder.is_dir():
            return
        saved = quietly(m.record.save, m.folder, m.trial, m.params, value, reason)
        m.record.write(m.trial, self.engine, self.results)
        if saved:
            quietly(m.record.save, m.folder, m.trial, m.params, value, reason, True)

    def _progress(self, trial: Any) -> Intermediate | None:
        if self.job.objective.progress is None:
            return None
        # The default configuration and confirmation re-runs are measured whole: they are
        # what the others are judged against.
        enqueued = any(trial.user_attrs.get(k) for k in (BASELINE, CONFIRM, SWEEP, RACE))
        multi = self.goals.multi
        return Intermediate(trial, prunable=self.plan.prune and not enqueued and not multi,
                        report=not multi)

    @staticmethod
    def _keep_progress(m: Measurement) -> None:
        attrs, progress = m.record.attrs, m.progress
        if progress is not None:
            m.warnings.extend(progress.errors)
            if progress.values:
                attrs[PROGRESS] = progress.values
            if progress.pruned is not None:
                attrs[PRUNED_AT] = {"step": progress.pruned[0], "value": progress.pruned[1],
                                    "pruner": plan_pruner(m.trial)}
        if m.warnings:
            attrs[WARNINGS] = m.warnings

    @staticmethod
    def _pruned(trial: Any, progress: Intermediate, label: str | None) -> Exception:
        import optuna

        step, value = progress.pruned
        where = f" ({label})" if label else ""
        return optuna.TrialPruned(
            f"pruned at step {step}{where}: {value:.6g} was worse than earlier trials at that "
            f"step ({plan_pruner(trial)} pruner); its containers were stopped")

    def _disk_error(self, exc: OSError) -> Exception:
        if exc.errno == errno.ENOSPC:
            return DiskFull(str(self.results))
        if exc.filename and str(exc.filename).startswith(str(self.results)):
            return ResultsUnwritable(str(self.results), exc.strerror or str(exc))
        return exc


def _run_place(folder: Path, workload: dict[str, Any], k: int, warmup: int, single: bool
               ) -> tuple[str | None, Path]:
    """A run's label and folder: the trial's own folder when it is its only run."""
    if single:
        return None, folder
    wl = workload_label(workload)
    name = f"warmup{k + warmup}" if k < 0 else str(k)
    return (f"{wl}/{name}" if workload else name,
            folder / (f"{wl}.{name}" if workload else name))


def _prepend(samples: dict[str, list[float]], earlier: dict[str, list[float]] | None) -> None:
    for key, values in (earlier or {}).items():
        samples[key] = list(values) + samples.get(key, [])
