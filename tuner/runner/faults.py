"""What went wrong when the engine refused or dropped a call mid-trial: is it there at all,
waiting for it to come back, and which of a trial's containers someone else removed."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, TypeVar

from ..errors import DockerUnavailable, TrialFailed, notify

T = TypeVar("T")

# How long a worker waits for an engine that stopped mid-trial before the study stops.
ENGINE_WAIT_SECONDS = 600
ENGINE_WAIT_ENV = "TUNER_ENGINE_WAIT"


def alive(api: Any) -> bool:
    """Does the engine answer a new connection? A pooled one may lie: an engine shutting
    down (SIGTERM) has closed its socket but still serves the connections it had."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        api.close()  # drops the pooled connections; the next call makes a new one
        return bool(api.ping())
    except (DockerException, RequestException):
        return False


def wait_for_engine(api: Any, what: str = "the Docker engine") -> None:
    """Return once the engine answers; DockerUnavailable past TUNER_ENGINE_WAIT."""
    limit = float(os.environ.get(ENGINE_WAIT_ENV, ENGINE_WAIT_SECONDS))
    started = time.monotonic()
    if alive(api):
        return
    notify(f"{what} stopped answering; waiting up to {limit:g}s for it ({ENGINE_WAIT_ENV})")
    while not alive(api):
        if time.monotonic() - started >= limit:
            raise DockerUnavailable(f"{what} stopped during a trial and did not come "
                                    f"back in {limit:g}s")
        time.sleep(0.5)
    notify(f"{what} answers again, after {time.monotonic() - started:.1f}s")


def removed(api: Any, made: dict[str, str]) -> str | None:
    """The first of a trial's containers (name -> ID) that is gone or being removed."""
    from docker.errors import DockerException, NotFound
    from requests.exceptions import RequestException

    for name, cid in made.items():
        try:
            state = api.inspect_container(cid)["State"]
        except NotFound:
            return name
        except (DockerException, RequestException):
            continue
        if state.get("Status") in ("removing", "dead"):
            return name
    return None


def service_removed(api: Any, services: dict[str, str]) -> str | None:
    """The first of a swarm trial's services (name -> ID) that no longer exists."""
    from docker.errors import NotFound

    for name, sid in services.items():
        try:
            api.inspect_service(sid)
        except NotFound:
            return name
    return None


def describe(exc: BaseException) -> str:
    """A dropped call in a few words: what the person can check."""
    text = f"{type(exc).__name__} {exc}"
    for needle, said in (("FileNotFoundError", "its socket is gone"),
                         ("ConnectionRefused", "connection refused"),
                         ("Connection broken", "it closed the connection mid-answer"),
                         ("ChunkedEncodingError", "it closed the connection mid-answer"),
                         ("Connection aborted", "it closed the connection"),
                         ("Read timed out", "it stopped answering")):
        if needle in text:
            return said
    explanation = getattr(exc, "explanation", None) or str(exc)
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return " ".join(str(explanation).split())[:200]


def riding_out(run: Callable[[], T], recover: Callable[[], None], started: Callable[[], bool],
               stopped: str, cleared: str) -> T:
    """Run a trial through an engine that may go away (stopped, restarted, crashed): wait
    for it, clear what is left (`recover`), and run the trial again once if none of it had
    started; else the trial fails, saying `stopped` and what was `cleared`."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    for attempt in (1, 2):
        try:
            return run()
        except DockerException as exc:  # run() said why if the engine answered
            cause: BaseException = exc  # (APIError is a RequestException too)
        except RequestException as exc:  # no answer at all: the engine's fault
            cause = exc
        recover()
        if started() or attempt == 2:
            raise TrialFailed(f"{stopped} during the trial ({describe(cause)}); tuner waited "
                              f"for it, removed the trial's {cleared} and went on") from None
        notify("the trial had not started when the engine went away: running it now")
    raise AssertionError("unreachable")
