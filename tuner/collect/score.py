"""The trial's score: the last regex match in a container's log, or a file in its output."""

from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import TrialFailed
from ..job import Objective
from ..runner import TrialRun


def extract_score(objective: Objective, run: TrialRun, outdir: Path) -> float:
    name = objective.container
    if objective.file is not None:
        path = outdir / objective.file
        if not path.is_file():
            raise TrialFailed(f"no score: {objective.file} was not written by container {name}")
        text = path.read_text(errors="replace").strip()
        where = objective.file
    else:
        log = run.containers[name].log_text
        matches = list(re.finditer(objective.regex, log, re.MULTILINE))
        if not matches:
            raise TrialFailed(f"no score: regex {objective.regex!r} matched nothing in {name}.log")
        m = matches[-1]
        text = (m.group(1) if m.re.groups else m.group(0)).strip()
        where = f"{name}.log"
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise TrialFailed(f"no score: {shown!r} in {where} is not a number") from None
    if not math.isfinite(value):
        raise TrialFailed(f"no score: {text!r} in {where} is not a finite number")
    return value
