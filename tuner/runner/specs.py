"""Pure translation of a job's container into Docker API arguments. No Docker calls here."""

from __future__ import annotations

import re
import os
from dataclasses import dataclass, field
from typing import Any

from ..job import Container, Job

LABEL_PREFIX = "tuner."
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class TrialContext:
    """What a runner needs to know about one trial."""

    study: str
    number: int
    env: dict[str, str]  # one variable per parameter
    outdir: str  # absolute host path of results/<study>/<number>
    worker: str
    # container -> its command, env values and files with the trial's values in (templates)
    rendered: dict[str, Any] = field(default_factory=dict)
    # Called with each progress value the objective's container prints while it runs;
    # returning True stops the trial (its containers are killed): a pruner's decision.
    on_progress: Any = None


@dataclass(frozen=True)
class ContainerSpec:
    name: str  # the job's name for it: its hostname and network alias
    docker_name: str
    create: dict[str, Any]  # keyword arguments for APIClient.create_container
    host_config: dict[str, Any] = field(default_factory=dict)  # for create_host_config
    aliases: tuple[str, ...] = ()


def use_network(job: Job) -> bool:
    """A private network costs more than a tiny container's run: only when it is needed."""
    if job.spec.network is not None:
        return job.spec.network
    # tuner reads pprof endpoints at the container's address on the private network.
    profiled = any(c.profile and c.profile.pprof for c in job.spec.containers.values())
    return len(job.spec.containers) > 1 or profiled


def labels(study: str, worker: str, number: int | None = None,
           container: str | None = None) -> dict[str, str]:
    out = {"tuner": "1", f"{LABEL_PREFIX}study": study, f"{LABEL_PREFIX}worker": worker}
    if number is not None:
        out[f"{LABEL_PREFIX}trial"] = str(number)
    if container is not None:
        out[f"{LABEL_PREFIX}container"] = container
    return out


def network_name(study: str, worker: str) -> str:
    return _docker_safe(f"tuner-{study}-{worker}")


def file_path(outdir: str, container: str, path: str) -> str:
    """Where a container's rendered file is kept on the host: files/<container>/<its path>."""
    return os.path.join(outdir, "files", container, path.lstrip("/"))


def container_spec(job: Job, name: str, ctx: TrialContext, network: str | None) -> ContainerSpec:
    c: Container = job.spec.containers[name]
    rendered = ctx.rendered.get(name)
    env = dict(rendered.env) if rendered else {k: _env_text(v) for k, v in c.env.items()}
    env.update(ctx.env)  # the load step already refused clashes between the two
    command: Any = rendered.command if rendered else c.command
    if isinstance(command, list):
        command = [str(part) for part in command]  # exec form: no shell sees the values

    host: dict[str, Any] = {"privileged": c.privileged}
    if c.cpu is not None:
        host["nano_cpus"] = int(round(c.cpu * 1e9))
    if c.ram is not None:
        host["mem_limit"] = c.ram
        host["memswap_limit"] = c.ram  # no swap: past its ram the container is OOM-killed
    binds = {}
    if c.output:
        binds[ctx.outdir] = {"bind": c.output, "mode": "rw"}
    if c.docker_socket:
        binds[DOCKER_SOCKET] = {"bind": DOCKER_SOCKET, "mode": "rw"}
    for path in c.files:
        binds[file_path(ctx.outdir, name, path)] = {"bind": path, "mode": "ro"}
    if binds:
        host["binds"] = binds
    if c.host_network:
        host["network_mode"] = "host"
    elif network:
        host["network_mode"] = network
    else:
        # A lone container gets no network unless the job asks (spec.network: true): setting
        # up the default bridge costs about 0.1 s per trial.
        host["network_mode"] = "none"

    create = {
        "image": c.image,
        "command": command,
        "environment": env,
        "labels": labels(ctx.study, ctx.worker, ctx.number, name),
        "detach": True,
    }
    if not c.host_network:
        create["hostname"] = name
    return ContainerSpec(
        name=name,
        docker_name=_docker_safe(f"tuner-{ctx.study}-{ctx.number}-{name}-{ctx.worker}"),
        create=create,
        host_config=host,
        aliases=(name,) if network and not c.host_network else (),
    )


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _docker_safe(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", name)
