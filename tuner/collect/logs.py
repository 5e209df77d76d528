"""A trial's files: one log per container, a merged log interleaved by time, params.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..runner import TrialRun


def write_logs(run: TrialRun, outdir: Path) -> None:
    """<name>.log holds the container's output byte for byte; merged.log ends each row."""
    for name, c in run.containers.items():
        _write(outdir / f"{name}.log", c.log_text)
    _write(outdir / "merged.log", merge_logs(run))


def _write(path: Path, text: str) -> None:
    # Bytes that were not UTF-8 went in as surrogate escapes (runner/logs.py): they go back.
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def merge_logs(run: TrialRun) -> str:
    """'name | line' for every container's lines, in time order (job order breaks ties)."""
    width = max((len(n) for n in run.containers), default=0)
    rows = []
    for order, (name, c) in enumerate(run.containers.items()):
        for seq, line in enumerate(c.log):
            rows.append((line.time, order, seq, f"{name:<{width}} | {line.text}\n"))
    rows.sort(key=lambda r: r[:3])
    return "".join(r[3] for r in rows)


def write_params(outdir: Path, params: dict[str, Any], env: dict[str, str]) -> None:
    (outdir / "params.json").write_text(
        json.dumps({"params": params, "env": env}, indent=2, sort_keys=True) + "\n")
