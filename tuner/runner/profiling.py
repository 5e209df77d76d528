"""Read pprof profiles from a running container's net/http/pprof endpoints.

CPU: back-to-back windows of `cpu_seconds` from when the port answers; every window that
completes is kept (the one the trial's end cuts short is lost). Heap: read every
half second while the container runs, so the last one read is from near its end; one more
read when the trial ends and the container still runs. A profile that cannot be had is a
warning on the trial, never a failure.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request

from ..job.model import Pprof

HEAP_EVERY = 0.5


class PprofCollector:
    def __init__(self, container: str, ip: str, spec: Pprof, deadline: float):
        self.container = container
        self.spec = spec
        self.base = f"http://{ip}:{spec.port}{spec.path.rstrip('/')}"
        self.ip = ip
        self.deadline = deadline  # time.monotonic() of the trial's timeout
        self.cpu: list[bytes] = []
        self.heap: bytes | None = None
        self.warnings: list[str] = []
        self._cpu_error: str | None = None
        self._window_ends: float | None = None  # of the CPU window being read
        self._stop = threading.Event()
        self._threads = []
        if spec.cpu:
            self._threads.append(threading.Thread(target=self._cpu, daemon=True))
        if spec.heap:
            self._threads.append(threading.Thread(target=self._heap, daemon=True))
        for t in self._threads:
            t.start()

    def _port_open(self) -> bool:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            try:
                with socket.create_connection((self.ip, self.spec.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def _get(self, url: str, timeout: float) -> bytes:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our net)
            return response.read()

    def _cpu(self) -> None:
        if not self._port_open():
            self._cpu_error = f"port {self.spec.port} never answered"
            return
        seconds = self.spec.cpu_seconds
        while not self._stop.is_set():
            self._window_ends = time.monotonic() + seconds
            try:
                window = self._get(f"{self.base}/profile?seconds={seconds}", seconds + 10)
            except (OSError, urllib.error.URLError):
                break  # the container ended mid-window
            self.cpu.append(window)
        self._window_ends = None
        if not self.cpu:
            self._cpu_error = f"it ran less than one whole {seconds}s window"

    def _heap(self) -> None:
        if not self._port_open():
            return
        while not self._stop.is_set():
            self._read_heap()
            self._stop.wait(HEAP_EVERY)

    def _read_heap(self) -> None:
        try:
            self.heap = self._get(f"{self.base}/heap", 5)
        except (OSError, urllib.error.URLError):
            pass  # it has ended: the last profile read stands

    def stop(self) -> None:
        """The trial is over: start no new window (the one being read may still finish)."""
        self._stop.set()

    def finish(self, running: bool) -> None:
        """Collect what there is. A container still running gives one last heap profile,
        and the CPU window being read is waited for (the runner kills it only afterwards)."""
        self._stop.set()
        if running and self.spec.heap:
            self._read_heap()
        ends = self._window_ends
        for t in self._threads:
            wait = max(0.0, ends - time.monotonic()) + 1.0 if running and ends else 0.2
            t.join(timeout=wait)
        if self.spec.cpu and not self.cpu:
            why = self._cpu_error or f"the trial ended within the first {self.spec.cpu_seconds}s window"
            self.warnings.append(f"no CPU profile from {self.container}: {why}")
        if self.spec.heap and self.heap is None:
            self.warnings.append(f"no heap profile from {self.container}: its pprof port "
                                 f"{self.spec.port} never answered")
