"""A run's metrics: the job's own (read like the score) and the built-in peak memory and CPU
time of each container and of all of them together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TrialFailed
from ..job import Job
from ..job.goals import BUILTINS
from ..runner import TrialRun
from .score import read_value


def read_metrics(job: Job, run: TrialRun, outdir: Path, needed: set[str]) -> dict[str, float]:
    """Every metric the run has. A job metric that cannot be read fails the run (it was asked
    for); a built-in one the engine gave no figure for is left out, unless `needed` (an
    objective or a constraint uses it), which fails the run with the reason."""
    out: dict[str, float] = {}
    for name, m in job.metrics.items():
        out[name] = read_value(m.container, m.regex, m.file, run, outdir, f"no metric {name}")
    for name in BUILTINS:
        attr = "peak_memory" if name == "peak_memory" else "cpu_seconds"
        figures: dict[str, Any] = {c: getattr(r, attr) for c, r in run.containers.items()}
        for c, v in figures.items():
            if v is not None:
                out[f"{name}.{c}"] = float(v)
        missing = [c for c, v in figures.items() if v is None]
        if not missing:
            # The trial's total: what its containers needed together, at most (memory), or
            # used in all (CPU).
            out[name] = float(sum(figures.values()))
        for key in [name] + [f"{name}.{c}" for c in missing]:
            if key in needed and key not in out:
                raise TrialFailed(f"no metric {key}: the engine gave no {name.replace('_', ' ')} "
                                  f"figure for container(s) {', '.join(missing)} (it ended "
                                  f"before the first sample)")
    return out
