"""Waiting for a local trial's containers: for `until` (or all), and for none to fail first."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from . import faults


def wait_trial(api: Any, job: Any, ids: dict[str, str], deadline: float) -> bool:
    """Wait until `until` (or every container) has exited; True if the timeout came first.
    Any other container that fails meanwhile (non-zero exit, OOM) ends the trial at once,
    unless the job says it `may_fail`: a server that refused its configuration is not waited
    for by its client until the timeout (docker compose's --abort-on-container-exit)."""
    until = job.spec.until
    must = {until} if until else set(ids)
    if len(ids) == 1:
        return _wait_one(api, ids[next(iter(must))], deadline)
    ended: "queue.Queue[tuple[str, Any]]" = queue.Queue()
    for name, cid in ids.items():  # one blocking wait each: no polling
        threading.Thread(target=_waiter, args=(api, name, cid, deadline, ended),
                         name=f"wait-{name}", daemon=True).start()
    while must:
        try:
            name, code = ended.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            return True
        if isinstance(code, BaseException):
            if time.monotonic() >= deadline:
                return True
            raise code  # the runner tells the engine's faults from a removed container
        must.discard(name)
        if code != 0 and not job.spec.containers[name].may_fail:
            return False
    return False


def _wait_one(api: Any, cid: str, deadline: float) -> bool:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return True
    try:
        api.wait(cid, timeout=remaining)
    except DockerException:
        raise  # an answer (the container is gone, say): APIError is a RequestException too
    except RequestException:
        # The SDK reports its read timeout as a ConnectionError too: only an engine that
        # no longer answers is the engine's fault.
        if not faults.alive(api):
            raise
        return True
    return False


def _waiter(api: Any, name: str, cid: str, deadline: float,
            ended: "queue.Queue[tuple[str, Any]]") -> None:
    try:
        # Past the trial's own deadline: the trial times out before this call does.
        status = api.wait(cid, timeout=max(deadline - time.monotonic(), 0) + 5)
        ended.put((name, status.get("StatusCode")))
    except Exception as exc:  # handed to the trial's thread, which decides
        ended.put((name, exc))
