"""Peak memory and CPU time of a running container, from the engine's stats stream.

The engine sends a sample at once and then about every second; the stream outlives the
container, so the sampler stops reading once the container is gone. A container that ends
before its first sample has no figures (None), which is said rather than guessed.
"""

from __future__ import annotations

import threading
from typing import Any


class StatsSampler:
    def __init__(self, api: Any, cid: str):
        self.peak_memory: int | None = None
        self.cpu_seconds: float | None = None
        self._api, self._cid = api, cid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stats-{cid[:12]}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for sample in self._api.stats(self._cid, stream=True, decode=True):
                if self._stop.is_set():
                    return
                mem = sample.get("memory_stats") or {}
                usage = mem.get("max_usage") or mem.get("usage")  # cgroup v1 keeps a max
                if usage:
                    self.peak_memory = max(self.peak_memory or 0, int(usage))
                cpu = ((sample.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
                if cpu:
                    self.cpu_seconds = max(self.cpu_seconds or 0.0, cpu / 1e9)
                elif self.cpu_seconds is not None:
                    return  # zeros after real figures: the container has ended
        except Exception:  # the container went away mid-stream: keep what was read
            return

    def stop(self) -> None:
        self._stop.set()
