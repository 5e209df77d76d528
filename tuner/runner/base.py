"""What a trial runner returns, and the protocol a runner follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .specs import TrialContext


@dataclass
class LogLine:
    time: tuple[int, int]  # (unix seconds, nanoseconds): orders lines across containers
    text: str  # as printed ('\r' and all), without the '\n' that ended it
    end: str = "\n"  # "" for a last line the program left unterminated


@dataclass
class ContainerRun:
    name: str
    exit_code: int | None = None
    oom_killed: bool = False
    killed: bool = False  # still running when the trial ended, so tuner killed it
    started_at: float | None = None  # epoch seconds, from the engine
    finished_at: float | None = None
    image: str | None = None
    image_id: str | None = None
    peak_memory: int | None = None  # bytes: exact from the cgroup, or sampled about once a second
    cpu_seconds: float | None = None
    log: list[LogLine] = field(default_factory=list)
    log_bytes: int = 0
    stderr_tail: list[str] = field(default_factory=list)  # read only for a failed container

    @property
    def log_text(self) -> str:
        return "".join(line.text + line.end for line in self.log)

    @property
    def log_shown(self) -> str:
        """The log as text to store or show: bytes that were not UTF-8 as U+FFFD."""
        return self.log_text.encode("utf-8", errors="surrogateescape").decode(
            "utf-8", errors="replace")


@dataclass
class TrialRun:
    containers: dict[str, ContainerRun]  # in the job's order
    timed_out: bool = False
    seconds: float = 0.0  # from the first start to the end of the wait
    # (container, "cpu" | "heap") -> raw pprof data: CPU in consecutive windows
    profiles: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what could not be collected
    stopped: bool = False  # ended early because on_progress asked (pruned), not by itself
    node: str | None = None  # the swarm node it ran on (--runner swarm)


class TrialRunner(Protocol):
    worker: str  # names this worker's containers and network

    def open(self) -> None:
        """Connect, check images, create what every trial shares (the network)."""

    def run(self, ctx: TrialContext) -> TrialRun:
        """Run one trial's containers to the end; remove them whatever happens."""

    def close(self) -> None:
        """Remove what open() created."""
