"""The Docker runner: one SDK client per worker, the low-level API, nothing per trial but containers.

Per trial: create each container, start them in the job's order, wait for `until` (or all),
inspect, kill what still runs, read each log once, remove. The network is made once per worker.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import threading
import time
import uuid
from typing import Any, Iterator

from ..errors import DockerUnavailable, JobError, TrialFailed, notify
from ..job import Job
from . import cgroups, faults
from .base import ContainerRun, TrialRun
from .follow import follow_progress
from .logs import parse_log, stamp_key
from .profiling import PprofCollector
from .waits import wait_trial
from .stats import StatsSampler
from .specs import ContainerSpec, TrialContext, container_spec, labels, network_name, use_network



class DockerRunner:
    def __init__(self, job: Job, study: str, worker: str | None = None,
                 sample_stats: bool = True):
        self.job = job
        self.sample_stats = sample_stats
        self.study = study
        self.worker = worker or uuid.uuid4().hex[:8]
        self.network: str | None = None
        self.cgroups = False  # peak memory and CPU time from a cgroup per container (exact)
        self._api: Any = None
        self._removing: "queue.Queue[tuple[str, str] | None] | None" = None
        self._remover: threading.Thread | None = None
        self._made: dict[str, str] = {}  # the current trial's containers: name -> ID
        self._orphans: list[tuple[str, str]] = []  # removals the engine did not answer
        # Who made a container: so a later run on this host can tell a dead worker's leftovers.
        self.owner = {"tuner.host": socket.gethostname(), "tuner.pid": str(os.getpid())}

    # --- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        self._api = connect()
        self.cgroups = self.sample_stats and cgroups.usable(self._api)
        self._check_images()
        remove_leftovers(self._api, self.study)
        if use_network(self.job):
            self.network = network_name(self.study, self.worker)
            self._api.create_network(self.network, driver="bridge",
                                     labels={**labels(self.study, self.worker), **self.owner})

    def close(self) -> None:
        if self._api is None:
            return
        self._drain()  # the network goes only once no container is on it
        if self._orphans:
            self._remove_orphans()
        if self._orphans:  # the engine went away as the study ended: wait for it, once
            with contextlib.suppress(DockerUnavailable):
                self._recover()
        if self._orphans:
            notify(f"could not remove {len(self._orphans)} container(s) of this study: "
                   f"the Docker engine does not answer; `tuner cleanup` removes them")
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
        # The engine may go away mid-trial: its containers died with it; wait for it, clear
        # what is left of this worker's trials, go on.
        return faults.riding_out(lambda: self._attempt(ctx), self._recover,
                                 lambda: bool(self._made), "the Docker engine stopped",
                                 "containers")

    def _attempt(self, ctx: TrialContext) -> TrialRun:
        self._made = {}
        return self._run(ctx)

    def _refused(self, exc: BaseException) -> str:
        """The engine answers but refused a call: a container of the trial removed by
        someone else (`docker rm -f`), or the engine's own error, said as it is."""
        name = faults.removed(self._api, self._made)
        if name is not None:
            return (f"container {name} was removed from outside the trial (docker rm or "
                    f"another tool on the same engine)")
        return f"the Docker engine refused a call: {_short(exc)}"

    def _recover(self) -> None:
        """Wait (up to TUNER_ENGINE_WAIT, default 10 minutes) for the engine to answer again,
        then remove this worker's containers and make sure its network exists."""
        faults.wait_for_engine(self._api)
        for c in self._api.containers(all=True, filters={"label": [
                f"tuner.study={self.study}", f"tuner.worker={self.worker}"]}):
            with _quiet():
                self._api.remove_container(c["Id"], force=True)
            cgroups.remove(c["Names"][0].lstrip("/"))
        self._orphans.clear()
        if self.network and not self._api.networks(names=[self.network]):
            self._api.create_network(self.network, driver="bridge",
                                     labels={**labels(self.study, self.worker), **self.owner})

    def _run(self, ctx: TrialContext) -> TrialRun:
        from docker.errors import DockerException

        api = self._api
        # The last run's removals overlapped tuner's bookkeeping; a run of the same trial
        # (a repeat, a workload) reuses its containers' names, so they must be gone now.
        self._wait_removed()
        specs = [container_spec(self.job, n, ctx, self.network) for n in self.job.spec.containers]
        ids = self._made  # run() reads it when a call fails
        ended = False  # every container ran to its end (or was killed) and was read
        samplers: dict[str, StatsSampler] = {}
        collectors: dict[str, PprofCollector] = {}
        follower = None
        try:
            for s in specs:
                ids[s.name] = self._create(s)
            follower = follow_progress(api, ids, self.job, ctx)  # progress values, pruning
            started = time.monotonic()
            deadline = started + self.job.spec.timeout
            self._start(specs, ids, deadline, samplers, collectors)
            if follower is not None:
                follower.start()
            timed_out = wait_trial(api, self.job, ids, deadline)
            seconds = time.monotonic() - started
            if follower is not None:
                follower.finish()
            trial = TrialRun(containers={}, timed_out=timed_out, seconds=seconds,
                             stopped=bool(follower and follower.stopped))
            self._profiles(collectors, ids, trial)  # before anything is killed
            ended = True
            trial.containers = {s.name: self._finish(s.name, ids[s.name], samplers.get(s.name),
                                                     s.docker_name) for s in specs}
            return trial
        except DockerException as exc:
            if not faults.alive(api):
                raise  # the engine went away: run() waits for it
            # Said now, before this trial's own removals start.
            raise TrialFailed(self._refused(exc)) from None
        finally:
            if follower is not None:
                follower.close()
            for sampler in samplers.values():
                sampler.stop()
            self._clean_up([(ids[s.name], s.docker_name) for s in specs if s.name in ids],
                           ended)

    def _start(self, specs: list[ContainerSpec], ids: dict[str, str], deadline: float,
               samplers: dict[str, StatsSampler], collectors: dict[str, PprofCollector]
               ) -> None:
        """Start the containers in the job's order, each with its samplers and profilers."""
        from docker.errors import APIError

        for s in specs:
            try:
                self._api.start(ids[s.name])
            except APIError as exc:
                raise TrialFailed(f"container {s.name} could not start: {_short(exc)}") from None
            if self.sample_stats and not self.cgroups:
                samplers[s.name] = StatsSampler(self._api, ids[s.name])
            profile = self.job.spec.containers[s.name].profile
            if profile and profile.pprof and self.network:
                collectors[s.name] = PprofCollector(
                    s.name, self._address(ids[s.name]), profile.pprof, deadline)

    def _profiles(self, collectors: dict[str, PprofCollector], ids: dict[str, str],
                  trial: TrialRun) -> None:
        for collector in collectors.values():
            collector.stop()
        for name, collector in collectors.items():
            collector.finish(running=self._running(ids[name]))
            trial.warnings.extend(collector.warnings)
            if collector.cpu:
                trial.profiles[(name, "cpu")] = list(collector.cpu)
            if collector.heap is not None:
                trial.profiles[(name, "heap")] = [collector.heap]

    def _clean_up(self, made: list[tuple[str, str]], ended: bool) -> None:
        with _sigint_deferred():
            if ended:
                self._remove_later(made)
            else:  # a failure or Ctrl-C: gone before anything else happens
                for cid, docker_name in made:
                    self._remove(cid, docker_name)

    # --- removal --------------------------------------------------------------------------

    def _remove(self, cid: str, docker_name: str) -> None:
        from docker.errors import DockerException, NotFound
        from requests.exceptions import RequestException

        try:
            self._api.remove_container(cid, force=True)
        except NotFound:
            pass
        except (DockerException, RequestException):
            # The engine is away (or busy): tried again before the next trial and at close.
            self._orphans.append((cid, docker_name))
            return
        if self.cgroups:
            cgroups.remove(docker_name)  # after the container: its cgroup is inside

    def _remove_orphans(self) -> None:
        orphans, self._orphans = self._orphans, []
        for item in orphans:
            self._remove(*item)

    def _remove_later(self, made: list[tuple[str, str]]) -> None:
        """Remove a finished trial's containers in a thread, while tuner records the trial
        and asks for the next (5 ms of engine time a trial that the bookkeeping hides).
        close() waits for them."""
        if self._removing is None:
            self._removing = queue.Queue()
            self._remover = threading.Thread(target=self._removals, name="remove", daemon=True)
            self._remover.start()
        for item in made:
            self._removing.put(item)

    def _removals(self) -> None:
        assert self._removing is not None
        while True:
            item = self._removing.get()
            try:
                if item is None:
                    return
                self._remove(*item)
            except Exception:  # never let the thread die with containers queued
                pass
            finally:
                self._removing.task_done()

    def _wait_removed(self) -> None:
        if self._removing is not None:
            self._removing.join()
        if self._orphans:
            self._remove_orphans()

    def _drain(self) -> None:
        """Wait until every container handed to the removal thread is gone; end the thread."""
        if self._removing is not None:
            self._removing.put(None)
            self._removing.join()
            self._removing = self._remover = None

    def _address(self, cid: str) -> str:
        networks = self._api.inspect_container(cid)["NetworkSettings"]["Networks"]
        return networks[self.network]["IPAddress"]

    def _running(self, cid: str) -> bool:
        return bool(self._api.inspect_container(cid)["State"].get("Running"))

    def _create(self, s: ContainerSpec) -> str:
        from docker.errors import APIError

        api = self._api
        kwargs = dict(s.create)
        kwargs["labels"] = {**kwargs["labels"], **self.owner}
        host = dict(s.host_config)
        if self.cgroups:
            host["cgroup_parent"] = cgroups.parent(s.docker_name)
        kwargs["host_config"] = api.create_host_config(**host)
        if s.aliases and self.network:
            kwargs["networking_config"] = api.create_networking_config(
                {self.network: api.create_endpoint_config(aliases=list(s.aliases))})
        try:
            return api.create_container(name=s.docker_name, **kwargs)["Id"]
        except APIError as exc:
            raise TrialFailed(f"container {s.name} could not be created: {_short(exc)}") from None

    def _finish(self, name: str, cid: str, sampler: StatsSampler | None,
                docker_name: str = "") -> ContainerRun:
        api = self._api
        info = api.inspect_container(cid)
        state = info["State"]
        run = ContainerRun(name=name, exit_code=state.get("ExitCode"),
                           oom_killed=bool(state.get("OOMKilled")),
                           image=info["Config"].get("Image"), image_id=info.get("Image"))
        if state.get("Running"):
            with _quiet():
                api.kill(cid)
            run.killed = True
            state = api.inspect_container(cid)["State"]  # for the time it was killed
            run.exit_code = None
        run.started_at, run.finished_at = _epoch(state.get("StartedAt")), \
            _epoch(state.get("FinishedAt"))
        if sampler is not None:
            run.peak_memory, run.cpu_seconds = sampler.peak_memory, sampler.cpu_seconds
        elif self.cgroups:  # it has ended (or was killed): the figures are final
            run.peak_memory, run.cpu_seconds = cgroups.read(docker_name)
        raw = api.logs(cid, stdout=True, stderr=True, timestamps=True)
        run.log = parse_log(raw)
        run.log_bytes = len(raw)
        if run.exit_code not in (0, None):
            # The error message is usually the last line on stderr; stdout may race past it.
            tail = api.logs(cid, stdout=False, stderr=True, tail=5)
            run.stderr_tail = tail.decode("utf-8", errors="replace").splitlines()
        return run


def remove_leftovers(api: Any, study: str | None = None, everything: bool = False
                     ) -> tuple[list[str], list[str]]:
    """Remove containers and networks that dead tuner processes on this host left behind.

    `everything` also removes those of live processes (a hung run). Returns what went.
    """
    host = socket.gethostname()
    filters = ["tuner=1"] + ([f"tuner.study={study}"] if study else [])

    def dead(labels: dict[str, str]) -> bool:
        if everything:
            return True
        if labels.get("tuner.host") != host:
            return False  # another machine's worker: only it can tell
        try:
            os.kill(int(labels.get("tuner.pid", "0")), 0)
        except ProcessLookupError:
            return True
        except (ValueError, PermissionError):
            return False
        return False

    gone_containers, gone_networks = [], []
    for c in api.containers(all=True, filters={"label": filters}):
        if dead(c.get("Labels") or {}):
            with _quiet():
                api.remove_container(c["Id"], force=True)
                gone_containers.append(c["Names"][0].lstrip("/"))
            cgroups.remove(c["Names"][0].lstrip("/"))
    for n in api.networks(filters={"label": filters}):
        if dead(n.get("Labels") or {}):
            with _quiet():
                api.remove_network(n["Id"])
                gone_networks.append(n["Name"])
    return gone_containers, gone_networks


def connect() -> Any:
    """A low-level API client to the engine, or DockerUnavailable with the fix."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailable(_engine_problem(exc)) from None
    return client.api


def _epoch(stamp: str | None) -> float | None:
    if not stamp or stamp.startswith("0001-"):  # the engine's zero time: never happened
        return None
    secs, nanos = stamp_key(stamp)
    return secs + nanos / 1e9 if secs else None


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
