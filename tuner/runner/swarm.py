"""The swarm runner (`tuner optimize --runner swarm`): each trial's containers run as one-task
swarm services, all on one node, on an attachable overlay network made for the trial; rendered
files go as swarm configs. Run from a manager; one trial per node at a time.

Per trial: network, configs, one service per container (replicated, 1 replica, restart policy
none: removing a running swarm *job* leaves its container running on Engine 20.10, moby#44312),
poll the tasks until `until` (or all) ended or the timeout, read each service's log once,
remove everything. Images are referenced by ID: a tag makes every task ask a registry first.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Any

from ..errors import DockerUnavailable, JobError, TrialFailed, TunerError, notify
from ..job import Job
from ..job.model import format_duration, format_size
from . import faults
from .base import ContainerRun, TrialRun
from .docker import _epoch, _quiet, _short, _sigint_deferred, connect, parse_log
from .stats import StatsSampler
from .swarm_nodes import Node, manager
from .specs import (TrialContext, config_name, labels, service_spec, swarm_unsupported,
                    trial_network_name, use_network)

ENDED = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
POLL_SECONDS = 0.25
NODE_CHECK_SECONDS = 2.0  # how often a running trial asks whether its node is still there
CONFIG_MAX = 500 * 1024  # swarm's limit for one config
REMOVE_WAIT = 15.0  # seconds a network or config may stay "in use" after its services went


def check_job(job: Job) -> None:
    problems = swarm_unsupported(job)
    if problems:
        field, why = problems[0]
        raise JobError(job.source, field, why)


def resolve_images(api: Any, job: Job) -> dict[str, str]:
    """container -> image ID on the manager (other nodes must hold the same image)."""
    from docker.errors import ImageNotFound

    out = {}
    for name, c in job.spec.containers.items():
        try:
            out[name] = api.inspect_image(c.image)["Id"]
        except ImageNotFound:
            raise JobError(job.source, f"spec.containers.{name}.image",
                           f"image '{c.image}' is not in the swarm manager's engine; build or "
                           f"load it on every node first (tuner never pulls images)") from None
    return out


class SwarmRunner:
    """Runs trials on one node of the swarm: its services are pinned there by node ID."""

    def __init__(self, job: Job, study: str, node: Node, worker: str | None = None,
                 constraints: tuple[str, ...] = (),
                 cancelled: threading.Event | None = None, sample_stats: bool = True):
        self.job = job
        self.sample_stats = sample_stats
        self.study = study
        self.node = node
        self.worker = worker or uuid.uuid4().hex[:8]
        self.constraints = constraints
        self.cancelled = cancelled or threading.Event()
        self.owner = {"tuner.host": socket.gethostname(), "tuner.pid": str(os.getpid())}
        self._api: Any = None
        self._me = ""
        self._images: dict[str, str] = {}
        self._made: dict[str, str] = {}  # the current trial's services: container -> ID
        self._unremoved: list[TrialContext] = []  # trials the manager went away removing

    def open(self) -> None:
        check_job(self.job)
        self._api = connect()  # one client per runner: runners run in threads
        self._me = manager(self._api)
        self._images = resolve_images(self._api, self.job)

    def close(self) -> None:
        if self._api is None:
            return
        if self._unremoved:
            try:
                self._recover()
            except DockerUnavailable:
                notify(f"could not remove what {len(self._unremoved)} trial(s) left in the "
                       f"swarm: the manager does not answer; `tuner cleanup` removes it")
        self._api.close()
        self._api = None

    def unusable(self) -> str | None:
        """Why this runner's node can take no trial now (down, drained), or None."""
        from docker.errors import DockerException, NotFound
        from requests.exceptions import RequestException

        try:
            node = self._api.inspect_node(self.node.id)
        except NotFound:
            return "left the swarm"
        except (DockerException, RequestException):
            return None  # the manager's problem, not the node's: the trial will say so
        state = (node.get("Status") or {}).get("State")
        availability = (node.get("Spec") or {}).get("Availability")
        if state != "ready":
            return f"is {state}"
        if availability != "active":
            return f"is {availability}"
        return None

    def __enter__(self) -> "SwarmRunner":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one trial ----------------------------------------------------------------------

    def run(self, ctx: TrialContext) -> TrialRun:
        if self._unremoved:  # the manager went away as an earlier trial was removed
            self._recover()
        # The manager's engine may go away mid-trial: wait for it and for its swarm, remove
        # what is left of this trial, go on.
        return faults.riding_out(lambda: self._attempt(ctx), lambda: self._recover(ctx),
                                 lambda: bool(self._made),
                                 "the swarm manager's Docker engine stopped", "services")

    def _attempt(self, ctx: TrialContext) -> TrialRun:
        self._made = {}
        return self._run(ctx)

    def _refused(self, exc: BaseException) -> str:
        name = faults.service_removed(self._api, self._made)
        if name is not None:
            return (f"container {name} was removed from outside the trial (its swarm "
                    f"service is gone: docker service rm or another tool)")
        return f"the swarm refused a call: {_short(exc)}"

    def _recover(self, ctx: TrialContext | None = None) -> None:
        """Wait for the manager and its swarm (up to TUNER_ENGINE_WAIT), then remove what
        is left of this trial and of earlier ones whose removal the manager did not answer."""
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        faults.wait_for_engine(self._api, "the swarm manager's Docker engine")
        limit = float(os.environ.get(faults.ENGINE_WAIT_ENV, faults.ENGINE_WAIT_SECONDS))
        started = time.monotonic()
        while True:  # a restarted manager answers before its swarm does
            try:
                manager(self._api)
                self._api.services()
                break
            except (DockerException, RequestException, TunerError):
                if time.monotonic() - started >= limit:
                    raise DockerUnavailable(f"the swarm manager came back without its swarm "
                                            f"for {limit:g}s") from None
                time.sleep(0.5)
        for c in ([ctx] if ctx else []) + self._unremoved:
            own = [f"tuner.study={c.study}", f"tuner.worker={self.worker}",
                   f"tuner.trial={c.number}"]
            services = {s["ID"]: s["ID"] for s in self._api.services(filters={"label": own})}
            configs = [x["ID"] for x in self._api.configs(filters={"label": own})]
            network = trial_network_name(c.study, c.number, self.worker) \
                if use_network(self.job) else None
            self._remove(services, network, configs)
        self._unremoved = []

    def _run(self, ctx: TrialContext) -> TrialRun:
        from docker.errors import APIError, DockerException

        api, job = self._api, self.job
        names = list(job.spec.containers)
        services = self._made  # run() reads it when a call fails
        configs: list[str] = []
        samplers: dict[str, StatsSampler] = {}
        network = None
        own = {**labels(ctx.study, ctx.worker, ctx.number), **self.owner}
        try:
            if use_network(job):
                network = trial_network_name(ctx.study, ctx.number, ctx.worker)
                api.create_network(network, driver="overlay", attachable=True, labels=own)
            refs = self._configs(ctx, own, configs)
            started = time.monotonic()
            deadline = started + job.spec.timeout
            running_since: dict[str, float | None] = {}
            timed_out = False
            for k, cname in enumerate(names):
                kwargs = service_spec(job, cname, ctx, image=self._images[cname],
                                      network=network, node=self.node.id,
                                      constraints=self.constraints, configs=refs.get(cname),
                                      owner=self.owner)
                try:
                    services[cname] = api.create_service(**kwargs)["ID"]
                except APIError as exc:
                    raise TrialFailed(f"container {cname}: its swarm service could not be "
                                      f"created: {_short(exc)}") from None
                if k < len(names) - 1:
                    # Started in the job's order, as the local runner does: the next one
                    # is created once this one runs (a client then finds its server's name).
                    _, timed_out = self._wait(services, deadline, samplers, running_since,
                                              started=[cname])
                    if timed_out:
                        break
            if not timed_out:
                tasks, timed_out = self._wait(services, deadline, samplers, running_since)
            else:
                tasks = self._tasks(services)
            trial = TrialRun(containers={}, timed_out=timed_out,
                             seconds=time.monotonic() - started, node=str(self.node))
            if any(c.profile and c.profile.pprof for c in job.spec.containers.values()):
                trial.warnings.append("profiles not collected: with --runner swarm the "
                                      "containers are on an overlay network tuner cannot reach")
            self._read_containers(trial, services, tasks, samplers, running_since)
            if timed_out:
                self._never_started(trial, tasks, running_since)
            return trial
        except DockerException as exc:
            if not faults.alive(api):
                raise  # the manager went away: run() waits for it
            # Said now, before this trial's own removals start.
            raise TrialFailed(self._refused(exc)) from None
        finally:
            for sampler in samplers.values():
                sampler.stop()
            with _sigint_deferred():
                if not self._remove(services, network, configs):
                    self._unremoved.append(ctx)

    def _configs(self, ctx: TrialContext, own: dict[str, str], configs: list[str]
                 ) -> dict[str, dict[str, tuple[str, str]]]:
        """The trial's rendered files as swarm configs: container -> path -> (id, name)."""
        refs: dict[str, dict[str, tuple[str, str]]] = {}
        for cname in self.job.spec.containers:
            rendered = ctx.rendered.get(cname)
            for path, text in (rendered.files if rendered else {}).items():
                data = text.encode("utf-8")
                if len(data) > CONFIG_MAX:
                    raise TrialFailed(f"container {cname}: file {path} is {len(data)} "
                                      f"bytes; a swarm config holds at most 500 KiB")
                cfg = config_name(ctx.study, ctx.number, ctx.worker, cname, path)
                cid = self._api.create_config(cfg, data, labels=own)["ID"]
                configs.append(cid)
                refs.setdefault(cname, {})[path] = (cid, cfg)
        return refs

    def _read_containers(self, trial: TrialRun, services: dict[str, str],
                         tasks: dict[str, dict[str, Any]], samplers: dict[str, StatsSampler],
                         running_since: dict[str, float | None]) -> None:
        """Each container's run: exit, times, log, and the sampled peak memory and CPU."""
        for cname, c in self.job.spec.containers.items():
            if cname not in services:  # the timeout came before its turn to start
                trial.containers[cname] = ContainerRun(
                    name=cname, image=c.image, image_id=self._images[cname], killed=True)
                continue
            trial.containers[cname] = self._finish(cname, services[cname], tasks.get(cname),
                                                   running_since.get(cname), trial.warnings)
            sampler = samplers.get(cname)
            if sampler is not None:
                run = trial.containers[cname]
                run.peak_memory, run.cpu_seconds = sampler.peak_memory, sampler.cpu_seconds

    def _never_started(self, trial: TrialRun, tasks: dict[str, dict[str, Any]],
                       running_since: dict[str, float | None]) -> None:
        """A timeout that came before a container ever ran says why it did not."""
        never = [c for c in self.job.spec.containers if c not in running_since
                 and trial.containers[c].killed]
        if never:
            st = (tasks.get(never[0]) or {}).get("Status") or {}
            why = st.get("Err") or st.get("Message") or "no task yet"
            raise TrialFailed(f"killed after the {format_duration(self.job.spec.timeout)} "
                              f"timeout: container {never[0]} never started on node "
                              f"{self.node} (task {st.get('State', 'new')}: {why})")

    def _tasks(self, services: dict[str, str]) -> dict[str, dict[str, Any]]:
        by_service = {sid: name for name, sid in services.items()}
        out: dict[str, dict[str, Any]] = {}
        for t in self._api.tasks(filters={"service": list(services.values())}):
            name = by_service.get(t.get("ServiceID"))
            if name is None:
                continue
            if name not in out or t["Version"]["Index"] > out[name]["Version"]["Index"]:
                out[name] = t
        return out

    def _wait(self, services: dict[str, str], deadline: float,
              samplers: dict[str, StatsSampler], running_since: dict[str, float | None],
              started: list[str] | None = None) -> tuple[dict[str, dict[str, Any]], bool]:
        """Poll the tasks until `until` (or all) ended, or those `started` run (or ran), or
        the deadline: (the tasks, timed out). A task that could not start (no image on the
        node, a bad mount) fails the trial at once. `running_since` gets when each was seen
        running; a task running on the manager's own node gets a stats sampler (peak memory,
        CPU): only that engine is within reach."""
        until = self.job.spec.until
        must = [until] if until else list(services)
        checked = time.monotonic()
        while True:
            tasks = self._tasks(services)
            for cname, t in tasks.items():
                st = t["Status"]
                if st["State"] == "running" and cname not in running_since:
                    running_since[cname] = _epoch(st.get("Timestamp"))
                    cid = (st.get("ContainerStatus") or {}).get("ContainerID")
                    if self.sample_stats and cid and t.get("NodeID") == self._me:
                        samplers[cname] = StatsSampler(self._api, cid)
                if st["State"] in ENDED and cname not in running_since:
                    code = (st.get("ContainerStatus") or {}).get("ExitCode")
                    if st["State"] == "rejected" or (not (st.get("ContainerStatus") or {})
                                                     .get("ContainerID") and code is None):
                        raise TrialFailed(self._start_failure(cname, st))
                    running_since[cname] = None  # it ran, too briefly to be seen running
            if started is not None:
                if all(c in running_since for c in started):
                    return tasks, False
            elif all(tasks.get(c) and tasks[c]["Status"]["State"] in ENDED for c in must):
                return tasks, False
            elif self._failed(tasks):
                return tasks, False  # a container failed: the trial ends at once
            if time.monotonic() >= deadline:
                return tasks, True
            if self.cancelled.is_set():
                raise KeyboardInterrupt  # another thread was interrupted: this trial stops too
            if time.monotonic() - checked > NODE_CHECK_SECONDS:
                checked = time.monotonic()
                gone = faults.service_removed(self._api, services)
                if gone is not None:
                    raise TrialFailed(f"container {gone} was removed from outside the trial "
                                      f"(its swarm service is gone: docker service rm or "
                                      f"another tool)")
                why = self.unusable()
                if why is not None:
                    raise TrialFailed(f"node {self.node} {why}: the manager lost it during the "
                                      f"trial, with its containers")
            time.sleep(POLL_SECONDS if started is None else POLL_SECONDS / 2.5)

    def _failed(self, tasks: dict[str, dict[str, Any]]) -> bool:
        """A container that may not fail ended with a failure (non-zero exit, OOM)."""
        for cname, t in tasks.items():
            st = t["Status"]
            code = (st.get("ContainerStatus") or {}).get("ExitCode")
            if st["State"] in ENDED and code not in (0, None) \
                    and not self.job.spec.containers[cname].may_fail:
                return True
        return False

    def _start_failure(self, cname: str, status: dict[str, Any]) -> str:
        err = status.get("Err") or status.get("Message") or status.get("State")
        if "No such image" in str(err):
            image = self.job.spec.containers[cname].image
            return (f"container {cname} could not start on node {self.node}: it has no image "
                    f"'{image}' ({self._images[cname][:19]}); load it there, e.g. `docker save "
                    f"{image} | docker -H NODE load` (tuner never pulls images)")
        if "bind source path does not exist" in str(err):
            return (f"container {cname} could not start on node {self.node}: {err}; its "
                    f"output: folder is the results folder, which another node must have at "
                    f"the same path (a shared filesystem such as NFS)")
        return f"container {cname} could not start on node {self.node}: {err}"

    def _finish(self, cname: str, sid: str, task: dict[str, Any] | None,
                running_since: float | None, warnings: list[str]) -> ContainerRun:
        api = self._api
        c = self.job.spec.containers[cname]
        run = ContainerRun(name=cname, image=c.image, image_id=self._images[cname])
        status = (task or {}).get("Status") or {}
        cstatus = status.get("ContainerStatus") or {}
        if status.get("State") in ENDED:
            run.exit_code = cstatus.get("ExitCode")
            run.finished_at = _epoch(status.get("Timestamp"))
        else:
            run.killed = True  # removing its service kills it below
        run.started_at = running_since
        cid = cstatus.get("ContainerID")
        if cid and (task or {}).get("NodeID") == self._me:
            # On the manager's own node the engine can say more: OOM, precise times.
            with _quiet():
                state = api.inspect_container(cid)["State"]
                run.oom_killed = bool(state.get("OOMKilled"))
                run.started_at = _epoch(state.get("StartedAt")) or run.started_at
                if not run.killed:
                    run.finished_at = _epoch(state.get("FinishedAt")) or run.finished_at
        elif run.exit_code == 137 and c.ram is not None:
            warnings.append(f"container {cname} was killed (exit code 137) on node "
                            f"{self.node}, whose engine tuner cannot ask: out of memory "
                            f"(ram {format_size(c.ram)}) is likely")
        raw = b"".join(api.service_logs(sid, stdout=True, stderr=True, timestamps=True,
                                        is_tty=False))
        run.log = parse_log(raw)
        run.log_bytes = len(raw)
        if run.exit_code not in (0, None):
            tail = b"".join(api.service_logs(sid, stdout=False, stderr=True, tail=5,
                                             is_tty=False))
            run.stderr_tail = tail.decode("utf-8", errors="replace").splitlines()
        return run

    def _remove(self, services: dict[str, str], network: str | None,
                configs: list[str]) -> bool:
        """Services first (that kills their containers), then what they used, which the
        manager may call "in use" for a moment after. A removed overlay network stays listed
        until the tasks on it have stopped (their engines wait 2 s for gossip first): the
        trial ends when it is gone, so the node's next trial does not overlap this one.
        False if the manager did not answer: removed again before the next trial."""
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        api = self._api
        for sid in services.values():
            try:
                api.remove_service(sid)
            except DockerException:  # an answer (gone already, say); APIError comes first
                pass
            except RequestException:
                return False
        pending = [("config", c) for c in configs] + ([("network", network)] if network else [])
        deadline = time.monotonic() + REMOVE_WAIT
        while pending and time.monotonic() < deadline:
            left = []
            for kind, ident in pending:
                if not _removed(api, kind, ident):
                    left.append((kind, ident))
            pending = left
            if pending:
                time.sleep(0.1)
        while network and time.monotonic() < deadline:
            with _quiet():
                if not any(n.get("Name") == network
                           for n in api.networks(filters={"name": [network]})):
                    break
            time.sleep(0.1)
        return True


def _removed(api: Any, kind: str, ident: str) -> bool:
    from docker.errors import APIError, NotFound
    from requests.exceptions import RequestException

    try:
        if kind == "config":
            api.remove_config(ident)
        else:
            api.remove_network(ident)
        return True
    except NotFound:
        return True
    except (APIError, RequestException):
        return False
