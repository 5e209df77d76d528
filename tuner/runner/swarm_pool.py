"""The nodes of a swarm as a pool of trial runners (`--parallel N`: one trial per node at a
time, lost nodes skipped), and what killed tuner processes left on a manager."""

from __future__ import annotations

import dataclasses
import os
import queue
import socket
import threading
import time
from typing import Any

from ..errors import InputError, TunerError, notify
from ..job import Job
from .base import TrialRun
from .docker import _quiet, _sigint_deferred, connect
from .specs import TrialContext
from .swarm import REMOVE_WAIT, SwarmRunner, _removed, check_job
from .swarm_nodes import Node, label_constraints, nodes


class SwarmPool:
    """What `tuner optimize --runner swarm` runs trials with: a SwarmRunner per usable node.
    A trial takes a free node and gives it back, so trials running at once are on different
    nodes; one at a time, they keep to one node (a LIFO), so confirmations compare on one
    machine."""

    worker = "swarm"  # each trial runs under the worker name of the node's runner

    def __init__(self, job: Job, study: str, nodes: list[Node],
                 node_labels: dict[str, str] | None = None):
        self.job = job
        self.study = study
        self.cancelled = threading.Event()
        self.runners = [SwarmRunner(job, study, n, constraints=label_constraints(node_labels),
                                    cancelled=self.cancelled) for n in nodes]
        self._free: queue.LifoQueue[SwarmRunner] = queue.LifoQueue()
        self._opened = False
        self._lost = 0  # runners whose node went away: taken out of the queue
        self._lock = threading.Lock()

    def open(self) -> None:
        if self._opened:
            return  # opened already (app opens it beside the database)
        self._opened = True
        check_job(self.job)
        api = connect()
        try:
            remove_leftovers(api, self.study)
        finally:
            api.close()
        for r in reversed(self.runners):  # the first node on top
            r.open()
            self._free.put(r)

    def close(self) -> None:
        for r in self.runners:
            r.close()
        self._opened = False
        self._free = queue.LifoQueue()

    def __enter__(self) -> "SwarmPool":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        with _sigint_deferred():
            self.close()

    def cancel(self) -> None:
        """Stop every running trial (Ctrl-C): their threads raise KeyboardInterrupt."""
        self.cancelled.set()

    def run(self, ctx: TrialContext) -> TrialRun:
        while True:
            if self.cancelled.is_set():
                raise KeyboardInterrupt
            if not self._lost < len(self.runners):
                raise TunerError(f"--runner swarm: every node this study used is gone "
                                 f"({', '.join(str(r.node) for r in self.runners)})",
                                 hint="see `docker node ls`; run the same command again to "
                                      "continue the study on the nodes there are")
            try:
                runner = self._free.get(timeout=0.5)
            except queue.Empty:
                continue
            why = runner.unusable()
            if why is None:
                break
            # A node that went down (or was drained) runs no more of this study's trials.
            with self._lock:
                self._lost += 1
            notify(f"node {runner.node} {why}: no more trials there")
        try:
            return runner.run(dataclasses.replace(ctx, worker=runner.worker))
        finally:
            self._free.put(runner)


def open_pool(job: Job, study: str, parallel: int | None,
              node_labels: dict[str, str] | None) -> tuple[SwarmPool, int]:
    """The pool for a study, and how many trials run at once (default: every usable node).
    Asking for more than there are usable nodes is an input error."""
    check_job(job)
    api = connect()
    try:
        usable, everything = nodes(api, node_labels)
    finally:
        api.close()
    if not usable:
        listed = ", ".join(f"{n} labels {n.labels or '{}'}" for n in everything)
        if node_labels:
            raise InputError(f"--node-label: no ready, active swarm node has "
                             f"{', '.join(f'{k}={v}' for k, v in node_labels.items())} "
                             f"(nodes: {listed})",
                             hint="label one with `docker node update --label-add KEY=VALUE NODE`")
        raise InputError(f"--runner swarm: no ready, active node in the swarm (nodes: {listed})")
    n = parallel if parallel is not None else len(usable)
    if n > len(usable):
        raise InputError(f"--parallel: {n} trials at once need {n} nodes (one trial per node); "
                         f"the swarm has {len(usable)} usable: "
                         f"{', '.join(str(u) for u in usable)}")
    return SwarmPool(job, study, usable, node_labels), n


def remove_leftovers(api: Any, study: str | None = None, everything: bool = False
                     ) -> list[str]:
    """Remove the services, configs and networks of trials whose tuner process died (on this
    host; `everything`: any). Returns what went, as 'service NAME', 'config NAME', ..."""
    host = socket.gethostname()
    filters = {"label": ["tuner=1"] + ([f"tuner.study={study}"] if study else [])}

    def dead(lab: dict[str, str]) -> bool:
        if everything:
            return True
        if lab.get("tuner.host") != host:
            return False
        try:
            os.kill(int(lab.get("tuner.pid", "0")), 0)
        except ProcessLookupError:
            return True
        except (ValueError, PermissionError):
            return False
        return False

    gone = []
    for s in api.services(filters=filters):
        spec = s.get("Spec") or {}
        if dead(spec.get("Labels") or {}):
            with _quiet():
                api.remove_service(s["ID"])
                gone.append(f"service {spec.get('Name')}")
    pending = []
    for c in api.configs(filters=filters):
        spec = c.get("Spec") or {}
        if dead(spec.get("Labels") or {}):
            pending.append(("config", c["ID"], spec.get("Name")))
    for n in api.networks(filters=filters):
        if n.get("Scope") == "swarm" and dead(n.get("Labels") or {}):
            pending.append(("network", n["Id"], n.get("Name")))
    deadline = time.monotonic() + REMOVE_WAIT
    networks = [ident for kind, ident, _ in pending if kind == "network"]
    while pending:
        left = []
        for kind, ident, name in pending:
            if _removed(api, kind, ident):
                gone.append(f"{kind} {name}")
            else:
                left.append((kind, ident, name))
        pending = left
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # A removed overlay network is listed until its tasks have stopped: done when it is not.
    while networks and time.monotonic() < deadline:
        with _quiet():
            listed = {n["Id"] for n in api.networks(filters=filters)}
            if not listed & set(networks):
                break
        time.sleep(0.2)
    return gone


def is_manager(api: Any) -> bool:
    return bool((api.info().get("Swarm") or {}).get("ControlAvailable"))


__all__ = ["SwarmPool", "SwarmRunner", "open_pool", "remove_leftovers"]
