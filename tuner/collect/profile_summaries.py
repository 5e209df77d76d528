"""A trial's profiles: raw files kept in its folder, top-N summaries for the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..job import Job
from ..runner import TrialRun

TOP_N = 30


def collect_profiles(job: Job, run: TrialRun, outdir: Path,
                     top_n: int = TOP_N) -> tuple[list[dict[str, Any]], list[str]]:
    """Write what the runner read, find what containers wrote; return summary rows, warnings."""
    found: list[tuple[str, str, list[Path]]] = []  # (container, source, files)
    for (container, kind), windows in run.profiles.items():
        paths = []
        for i, data in enumerate(windows):
            suffix = f".{i}" if len(windows) > 1 else ""
            path = outdir / f"{container}.{kind}{suffix}.pb.gz"
            path.write_bytes(data)
            paths.append(path)
        found.append((container, kind, paths))
    for name, c in job.spec.containers.items():
        if c.profile and c.profile.files:
            for path in sorted(outdir.glob(c.profile.files)):
                if path.is_file():
                    found.append((name, path.name, [path]))
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    if found:  # protobuf is loaded only when a trial has profiles
        from .pprof import ProfileError, merge_profiles, read_profile
    for container, source, paths in found:
        try:
            profile = merge_profiles([read_profile(p) for p in paths])
        except ProfileError as exc:
            warnings.append(f"{source} profile of {container} unreadable: {exc.message}")
            continue
        for sample_type, unit in profile.sample_types:
            top = profile.top(sample_type, n=top_n)
            for rank, f in enumerate(top.functions):
                rows.append({"container": container, "source": source,
                             "sample_type": sample_type, "unit": unit, "total": top.total,
                             "position": rank, "name": f.name[:512], "flat": f.flat,
                             "cum": f.cum})
    return rows, warnings

