"""The trial's score: the last regex match in a container's log, or a file in its output.
Metrics are read the same way."""

from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import TrialFailed
from ..job import Objective
from ..runner import TrialRun


def extract_score(objective: Objective, run: TrialRun, outdir: Path) -> float:
    return read_value(objective.container, objective.regex, objective.file, run, outdir,
                      "no score")


def read_value(name: str | None, regex: str | None, file: str | None, run: TrialRun,
               outdir: Path, what: str) -> float:
    """The value a container printed (the last match of `regex`) or wrote (`file`); a
    TrialFailed starting with `what` when there is none."""
    if file is not None:
        path = outdir / file
        if not path.is_file():
            raise TrialFailed(f"{what}: {file} was not written by container {name}")
        text = path.read_text(errors="replace").strip()
        where = file
    else:
        matches = list(re.finditer(regex, matchable(run.containers[name].log_text),
                                   re.MULTILINE))
        if not matches:
            raise TrialFailed(f"{what}: regex {regex!r} matched nothing in {name}.log")
        m = matches[-1]
        text = (m.group(1) if m.re.groups else m.group(0)).strip()
        where = f"{name}.log"
    try:
        value = float(text)
    except ValueError:
        text = printable(text)
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise TrialFailed(f"{what}: {shown!r} in {where} is not a number") from None
    if not math.isfinite(value):
        raise TrialFailed(f"{what}: {text!r} in {where} is not a finite number")
    return value


def matchable(log: str) -> str:
    """The log as a regex sees it: a '\r' ends a line like '\n' does (for ^ and $, and so
    that the last match is the last value a redrawn progress line showed). Same length, so a
    match's text is the log's text."""
    return log.replace("\r", "\n")


def printable(text: str) -> str:
    """Text for a reason or a message: undecodable bytes shown as U+FFFD."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
