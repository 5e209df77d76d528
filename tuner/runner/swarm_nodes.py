"""A swarm's nodes as tuner sees them: the manager it talks to, and which nodes may run
trials (ready, active, carrying every wanted label)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import TunerError


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    addr: str
    labels: dict[str, str]
    manager: bool

    def __str__(self) -> str:
        return f"{self.hostname} ({self.id[:12]})"


def manager(api: Any) -> str:
    """This engine's node ID, or an error saying it is not a swarm manager."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    swarm = api.info().get("Swarm") or {}
    if not swarm.get("ControlAvailable"):
        state = swarm.get("LocalNodeState") or "inactive"
        raise TunerError(f"--runner swarm: the engine at {where} is not a swarm manager "
                         f"(swarm state: {state})",
                         hint="run tuner on a manager node, or make one with `docker swarm init`")
    return swarm["NodeID"]


def nodes(api: Any, wanted: dict[str, str] | None = None) -> tuple[list[Node], list[Node]]:
    """(usable, all) nodes: usable are ready, active and carry every wanted label. The
    manager tuner talks to comes first."""
    me = manager(api)
    out = []
    for n in api.nodes():
        spec, status = n.get("Spec") or {}, n.get("Status") or {}
        out.append((Node(n["ID"], (n.get("Description") or {}).get("Hostname", "?"),
                         status.get("Addr", ""), dict(spec.get("Labels") or {}),
                         spec.get("Role") == "manager"),
                    status.get("State") == "ready" and spec.get("Availability") == "active"))
    out.sort(key=lambda x: (x[0].id != me, x[0].hostname, x[0].id))
    everything = [n for n, _ in out]
    usable = [n for n, ok in out if ok and all(n.labels.get(k) == v
                                               for k, v in (wanted or {}).items())]
    return usable, everything


def label_constraints(wanted: dict[str, str] | None) -> tuple[str, ...]:
    return tuple(f"node.labels.{k}=={v}" for k, v in (wanted or {}).items())
