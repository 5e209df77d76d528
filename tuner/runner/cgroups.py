"""Exact peak memory and CPU time of a container, read once from a cgroup made for it.

The engine's stats stream samples about once a second, so a short container has no figures
and a spike between samples is missed. With a local engine on cgroup v1 (cgroupfs driver),
each container instead runs under a parent cgroup of its own (`--cgroup-parent`): the kernel
charges the container's memory and CPU to that parent too, and the parent outlives the
container, so its high-water mark and CPU total are read exactly after the end and the empty
parent is then removed. Anything else (a remote engine, cgroup v2, the systemd driver, no
right to remove cgroups) keeps the stats stream.
"""

from __future__ import annotations

import os
from typing import Any

ROOT = "/sys/fs/cgroup"
PARENT = "tuner"  # /sys/fs/cgroup/<controller>/tuner/<container's docker name>


def usable(api: Any) -> bool:
    """Whether this engine's containers can be measured through cgroups from here."""
    host = os.environ.get("DOCKER_HOST", "unix://")
    if not host.startswith("unix://"):
        return False  # the engine's cgroups are on another machine
    try:
        info = api.info()
    except Exception:
        return False
    if info.get("CgroupDriver") != "cgroupfs" or str(info.get("CgroupVersion", "1")) != "1":
        return False
    return all(os.access(os.path.join(ROOT, c), os.W_OK) for c in ("memory", "cpuacct"))


def parent(name: str) -> str:
    """The --cgroup-parent for a container."""
    return f"/{PARENT}/{name}"


def read(name: str) -> tuple[int | None, float | None]:
    """(peak memory in bytes, CPU seconds) charged to a container's parent cgroup; None for
    a figure that is not there (the engine did not use the parent: another mount namespace)."""
    peak = _number(os.path.join(ROOT, "memory", PARENT, name, "memory.max_usage_in_bytes"))
    cpu = _number(os.path.join(ROOT, "cpuacct", PARENT, name, "cpuacct.usage"))
    return (int(peak) if peak is not None else None,
            cpu / 1e9 if cpu is not None else None)


def remove(name: str) -> None:
    """Remove a container's (empty) parent cgroups in every hierarchy the engine made them in.
    One still holding a container is busy and stays."""
    try:
        controllers = os.listdir(ROOT)
    except OSError:
        return
    for c in controllers:
        try:
            os.rmdir(os.path.join(ROOT, c, PARENT, name))
        except OSError:
            pass


def _number(path: str) -> float | None:
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None
