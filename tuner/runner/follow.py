"""Progress of a running trial: a thread follows one container's log as it is written, hands
each value its `objective.progress` regex matches to the trial's callback, and stops the
trial (kills its containers) when the callback says so: a pruner's decision.

Kept apart from the runner's start/wait/finish so that the runner only starts and finishes a
follower."""

from __future__ import annotations

import math
import re
import threading
from typing import Any, Callable


class ProgressFollower:
    def __init__(self, api: Any, cid: str, regex: str, on_value: Callable[[float], bool],
                 stop_trial: Callable[[], None]):
        self.stopped = False  # the callback asked to stop, and the containers were killed
        self.values: list[float] = []
        self._api, self._cid = api, cid
        self._regex = re.compile(regex)
        self._on_value, self._stop_trial = on_value, stop_trial
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"progress-{cid[:12]}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buf = b""
        try:
            # Ends by itself when the container stops (or is removed).
            for chunk in self._api.logs(self._cid, stream=True, follow=True, stdout=True,
                                        stderr=True):
                if self._done.is_set():
                    return
                buf += chunk
                while b"\n" in buf and not self._done.is_set():
                    line, buf = buf.split(b"\n", 1)
                    self._line(line.decode("utf-8", errors="replace"))
            if buf and not self._done.is_set():
                self._line(buf.decode("utf-8", errors="replace"))
        except Exception:  # the container went away mid-stream: the trial ends anyway
            return

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


def follow_progress(api: Any, ids: dict[str, str], job: Any, ctx: Any
                    ) -> ProgressFollower | None:
    """A follower on the container that prints progress (objective.progress) when the trial
    takes it; None otherwise."""
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
