"""Progress of a running trial: a thread follows one container's output as it is printed,
hands each value its `objective.progress` regex matches to the trial's callback, and stops the
trial (kills its containers) when the callback says so: a pruner's decision.

The follower attaches to the container before it starts: the engine's log holds back a line
until its '\n' (a progress line redrawn with '\r' would reach it only at the program's end),
while an attached stream has every byte as it is written. A line ends at '\n' or '\r'.

Kept apart from the runner's start/wait/finish so that the runner only starts and finishes a
follower."""

from __future__ import annotations

import math
import re
import threading
from typing import Any, Callable

_LINE_END = re.compile(rb"[\r\n]")  # a progress line redrawn with '\r' ends there too


class ProgressFollower:
    def __init__(self, api: Any, cid: str, regex: str, on_value: Callable[[float], bool],
                 stop_trial: Callable[[], None]):
        self.stopped = False  # the callback asked to stop, and the containers were killed
        self.values: list[float] = []
        self._api, self._cid = api, cid
        self._regex = re.compile(regex)
        self._on_value, self._stop_trial = on_value, stop_trial
        self._done = threading.Event()
        self._stream = self._attach()
        self._thread = threading.Thread(target=self._run, name=f"progress-{cid[:12]}",
                                        daemon=True)
        if self._stream is not None:  # an attached stream waits for the start by itself
            self._thread.start()

    def _attach(self) -> Any:
        try:
            return self._api.attach(self._cid, stdout=True, stderr=True, stream=True)
        except Exception:  # the log (below) will do, without unterminated lines' values
            return None

    def start(self) -> None:
        """Once the container started: follow its log, if it could not be attached to."""
        if self._thread.ident is None:
            self._thread.start()

    def _run(self) -> None:
        buf = b""
        try:
            # Ends by itself when the container stops (or is removed).
            stream = self._stream or self._api.logs(self._cid, stream=True, follow=True,
                                                    stdout=True, stderr=True)
            for chunk in stream:
                if self._done.is_set():
                    return
                *lines, buf = _LINE_END.split(buf + chunk)
                for line in lines:
                    if self._done.is_set():
                        return
                    self._line(line.decode("utf-8", errors="replace"))
            if buf and not self._done.is_set():
                self._line(buf.decode("utf-8", errors="replace"))
        except Exception:  # the container went away mid-stream: the trial ends anyway
            return
        finally:
            self._stream = None

    def _line(self, text: str) -> None:
        for m in self._regex.finditer(text):
            raw = (m.group(1) if m.re.groups else m.group(0)).strip()
            try:
                value = float(raw)
            except ValueError:
                continue
            if not math.isfinite(value):
                continue
            self.values.append(value)
            if self._on_value(value):
                self.stopped = True
                self._done.set()
                self._stop_trial()
                return

    def finish(self, timeout: float = 2.0) -> None:
        """Take the lines still in flight, then stop. The stream ends soon after the container
        does; one that still runs (it lingers past the trial's end) is not waited for."""
        if not self._thread.is_alive():
            self._done.set()
            return
        self._thread.join(0.2)
        if self._thread.is_alive() and not self._running():
            self._thread.join(timeout)
        self._done.set()

    def _running(self) -> bool:
        try:
            return bool(self._api.inspect_container(self._cid)["State"].get("Running"))
        except Exception:
            return False

    def close(self) -> None:
        self._done.set()
        if not self._thread.is_alive():
            self._stream = None  # never started (a container did not): let the attach go


def follow_progress(api: Any, ids: dict[str, str], job: Any, ctx: Any
                    ) -> ProgressFollower | None:
    """A follower on the container that prints progress (objective.progress) when the trial
    takes it, attached before the containers start (`start()` it once they did); None
    otherwise."""
    progress = job.objective.progress
    if progress is None or ctx.on_progress is None or progress.container not in ids:
        return None

    def stop_trial() -> None:
        for cid in ids.values():
            try:
                api.kill(cid)
            except Exception:  # already ended
                pass

    return ProgressFollower(api, ids[progress.container], progress.regex, ctx.on_progress,
                            stop_trial)
