"""Why a trial failed, in words a person understands, from the containers' end states."""

from __future__ import annotations

from ..job import Job
from ..job.model import format_duration, format_size
from ..runner import TrialRun
from .score import printable


def failure_reason(job: Job, run: TrialRun) -> str | None:
    """None when every container that had to finish finished well."""
    causes = []
    for name, c in run.containers.items():
        spec = job.spec.containers[name]
        if spec.may_fail:
            continue
        if c.oom_killed:
            ram = f" (ram {format_size(spec.ram)})" if spec.ram else ""
            causes.append(f"container {name}: out of memory{ram}")
        elif not c.killed and c.exit_code not in (0, None):
            last = _last_line(c)
            tail = f": {last}" if last else ""
            causes.append(f"container {name} exited with code {c.exit_code}{tail}")
    if run.timed_out:
        running = [n for n, c in run.containers.items() if c.killed]
        reason = f"killed after the {format_duration(job.spec.timeout)} timeout"
        if running:
            reason += f" (still running: {', '.join(running)})"
        if causes:
            reason += "; before that, " + "; ".join(causes)
        return reason
    return "; ".join(causes) or None


def _last_line(c) -> str:
    lines = c.stderr_tail or [line.text for line in c.log]
    for line in reversed(lines):
        # What a terminal shows last: the text after a line's last '\r' redraw.
        text = next((t.strip() for t in reversed(line.split("\r")) if t.strip()), "")
        text = printable(text)
        if text:
            return text if len(text) <= 160 else text[:157] + "..."
    return ""
