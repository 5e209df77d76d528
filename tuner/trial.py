"""What a trial is made of, for the trial executor (executor.py): its plan of runs, the
statistics that make its value (a statistic over repeats, an aggregate over workloads), its
record (outcome.json, then the database) and its intermediate values. A configuration the
sampler proposes again is not re-run from scratch: one more sample is added to what its
earlier trial measured (`earlier_measurement`).
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .attrs import (BASELINE, REASON, SAMPLES, WORKLOADS)
from .errors import TrialFailed
from .storage import trial_id

@dataclass(frozen=True)
class Plan:
    workloads: list[dict[str, Any]]  # [{}] when the job has no workload parameters
    repeat: int = 1
    warmup: int = 0
    statistic: str = "median"
    aggregate: str = "sum"
    prune: bool = False  # follow objective.progress and let the study's pruner stop a trial
    fresh: bool = False  # racing: a configuration proposed again is measured anew, not merged


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
class Record:
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


class Intermediate:
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


def plan_pruner(trial: Any) -> str:
    """The name of the study's pruner, as the person chose it."""
    name = type(getattr(trial.study, "pruner", None)).__name__
    return {"MedianPruner": "median", "SuccessiveHalvingPruner": "successive halving"}.get(
        name, name)


def quietly(fn: Callable[..., Any], *args: Any) -> bool:
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
            Record(data["attrs"], data["runs"], data["profiles"], data["logs"],
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


def earlier_measurement(trial: Any, params: dict[str, Any]) -> Any:
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


def baseline_values(trial: Any) -> dict[str, float] | None:
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


def run_rows(trial: Any, done: Any, outdir: Path, label: str | None) -> list[dict[str, Any]]:
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
