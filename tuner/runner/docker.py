"""The Docker runner: one SDK client per worker, the low-level API, nothing per trial but containers.

Per trial: create each container, start them in the job's order, wait for `until` (or all),
inspect, kill what still runs, read each log once, remove. The network is made once per worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from typing import Any, Iterator

from ..errors import DockerUnavailable, JobError, TrialFailed
from ..job import Job
from .base import ContainerRun, LogLine, TrialRun
from .specs import ContainerSpec, TrialContext, container_spec, labels, network_name, use_network


class DockerRunner:
    def __init__(self, job: Job, study: str, worker: str | None = None):
        self.job = job
        self.study = study
        self.worker = worker or uuid.uuid4().hex[:8]
        self.network: str | None = None
        self._api: Any = None

    # --- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        import docker
        from docker.errors import DockerException

        try:
            client = docker.from_env(timeout=120)
            client.ping()
        except DockerException as exc:
            raise DockerUnavailable(_engine_problem(exc)) from None
        self._api = client.api
        self._check_images()
        if use_network(self.job):
            self.network = network_name(self.study, self.worker)
            self._api.create_network(self.network, driver="bridge",
                                     labels=labels(self.study, self.worker))

    def close(self) -> None:
        if self._api is None:
            return
        if self.network:
            with _quiet():
                self._api.remove_network(self.network)
            self.network = None
        self._api.close()
        self._api = None

    def __enter__(self) -> "DockerRunner":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        with _sigint_deferred():
            self.close()

    def _check_images(self) -> None:
        from docker.errors import ImageNotFound

        for name, c in self.job.spec.containers.items():
            try:
                self._api.inspect_image(c.image)
            except ImageNotFound:
                raise JobError(self.job.source, f"spec.containers.{name}.image",
                               f"image '{c.image}' is not in the local Docker engine; build or "
                               f"pull it first (tuner never pulls images)") from None

    # --- one trial ----------------------------------------------------------------------

    def run(self, ctx: TrialContext) -> TrialRun:
        from docker.errors import APIError
        from requests.exceptions import RequestException

        api = self._api
        specs = [container_spec(self.job, n, ctx, self.network) for n in self.job.spec.containers]
        ids: dict[str, str] = {}
        try:
            for s in specs:
                ids[s.name] = self._create(s)
            started = time.monotonic()
            deadline = started + self.job.spec.timeout
            for s in specs:
                try:
                    api.start(ids[s.name])
                except APIError as exc:
                    raise TrialFailed(f"container {s.name} could not start: {_short(exc)}") from None
            until = self.job.spec.until
            timed_out = False
            for name in ([until] if until else list(ids)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                try:
                    api.wait(ids[name], timeout=remaining)
                except RequestException:
                    timed_out = True
                    break
            seconds = time.monotonic() - started
            runs = {s.name: self._finish(s.name, ids[s.name]) for s in specs}
            return TrialRun(containers=runs, timed_out=timed_out, seconds=seconds)
        finally:
            with _sigint_deferred():
                for cid in ids.values():
                    with _quiet():
                        api.remove_container(cid, force=True)

    def _create(self, s: ContainerSpec) -> str:
        from docker.errors import APIError

        api = self._api
        kwargs = dict(s.create)
        kwargs["host_config"] = api.create_host_config(**s.host_config)
        if s.aliases and self.network:
            kwargs["networking_config"] = api.create_networking_config(
                {self.network: api.create_endpoint_config(aliases=list(s.aliases))})
        try:
            return api.create_container(name=s.docker_name, **kwargs)["Id"]
        except APIError as exc:
            raise TrialFailed(f"container {s.name} could not be created: {_short(exc)}") from None

    def _finish(self, name: str, cid: str) -> ContainerRun:
        api = self._api
        state = api.inspect_container(cid)["State"]
        run = ContainerRun(name=name, exit_code=state.get("ExitCode"),
                           oom_killed=bool(state.get("OOMKilled")),
                           started_at=state.get("StartedAt"), finished_at=state.get("FinishedAt"))
        if state.get("Running"):
            with _quiet():
                api.kill(cid)
            run.killed, run.exit_code, run.finished_at = True, None, None
        raw = api.logs(cid, stdout=True, stderr=True, timestamps=True)
        run.log = parse_log(raw)
        if run.exit_code not in (0, None):
            # The error message is usually the last line on stderr; stdout may race past it.
            tail = api.logs(cid, stdout=False, stderr=True, tail=5)
            run.stderr_tail = tail.decode("utf-8", errors="replace").splitlines()
        return run


def parse_log(raw: bytes) -> list[LogLine]:
    """Docker's `timestamps=True` log: 'RFC3339Nano text' per line."""
    out = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        stamp, _, text = line.partition(" ")
        out.append(LogLine(_stamp_key(stamp), text))
    return out


def _stamp_key(stamp: str) -> tuple[int, int]:
    # Docker trims trailing zeros of the nanoseconds, so compare numbers, not strings.
    import calendar

    try:
        main, _, frac = stamp.rstrip("Z").partition(".")
        secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
        return secs, int((frac + "000000000")[:9]) if frac else 0
    except ValueError:
        return 0, 0


def _engine_problem(exc: BaseException) -> str:
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    text = str(exc)
    for needle, said in (("FileNotFoundError", "no socket there"),
                         ("ConnectionRefused", "connection refused"),
                         ("PermissionError", "permission denied; are you in the docker group?"),
                         ("Permission denied", "permission denied; are you in the docker group?")):
        if needle in text:
            return f"{where}: {said}"
    return f"{where}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = explanation if explanation else str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " ".join(str(text).split())[:300]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        yield
    except (DockerException, RequestException):
        pass


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Let clean-up finish even if Ctrl-C is pressed again; re-raise it afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


__all__ = ["DockerRunner", "parse_log"]
