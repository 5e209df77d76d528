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


# --- swarm services (tuner/runner/swarm.py) ----------------------------------------------

SERVICE_NAME_MAX = 63  # swarm: a service name is a DNS label


def service_name(study: str, number: int, container: str, worker: str) -> str:
    """A valid, unique service name: letters, digits and '-', at most 63 characters (a
    shortened one keeps a hash of the full name)."""
    return _dns_label(f"tuner-{study}-{number}-{container}-{worker}")


def trial_network_name(study: str, number: int, worker: str) -> str:
    return _dns_label(f"tuner-{study}-{number}-{worker}")


def config_name(study: str, number: int, worker: str, container: str, path: str) -> str:
    """A swarm config per rendered file and trial (configs cannot be updated in place)."""
    import hashlib

    digest = hashlib.sha1(f"{container}:{path}".encode()).hexdigest()[:10]
    return _dns_label(f"tuner-{study}-{number}-{worker}-{digest}")


def service_spec(job: Job, name: str, ctx: TrialContext, *, image: str, network: str | None,
                 node: str | None, constraints: tuple[str, ...] = (),
                 configs: dict[str, tuple[str, str]] | None = None,
                 owner: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for APIClient.create_service: the container of `container_spec` as a
    one-task swarm service pinned to `node`. `image` is the image's ID: a tag makes every task
    ask a registry first. `configs` maps a rendered file's path to its (config id, name)."""
    c: Container = job.spec.containers[name]
    local = container_spec(job, name, ctx, network)
    command = local.create["command"]
    if isinstance(command, str):
        import shlex

        command = shlex.split(command)  # what the engine does with a string Cmd
    labels_ = {**local.create["labels"], **(owner or {})}
    container: dict[str, Any] = {
        "Image": image,
        "Env": [f"{k}={v}" for k, v in local.create["environment"].items()],
        "Labels": labels_,
        "Hostname": name,
        # Removing the service kills at once, as the local runner's kill does; the default
        # SIGTERM and 10 s grace would keep a busy node busy into the next trial.
        "StopSignal": "SIGKILL",
    }
    if command:
        container["Args"] = list(command)  # Args is CMD; Command would replace ENTRYPOINT
    _service_files(container, c, ctx, configs or {})
    limits: dict[str, int] = {}
    if c.cpu is not None:
        limits["NanoCPUs"] = int(round(c.cpu * 1e9))
    if c.ram is not None:
        limits["MemoryBytes"] = int(c.ram)
    placement = [f"node.id=={node}"] if node else []
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
        "Placement": {"Constraints": placement + list(constraints)},
        "Resources": {"Limits": limits},
    }
    if network:
        task["Networks"] = [{"Target": network, "Aliases": [name]}]
    return {
        "task_template": task,
        "name": service_name(ctx.study, ctx.number, name, ctx.worker),
        "labels": labels_,
        "mode": {"Replicated": {"Replicas": 1}},
        # VIP endpoints need the ip_vs kernel module; DNS round robin does not.
        "endpoint_spec": {"Mode": "dnsrr"},
    }


def _service_files(container: dict[str, Any], c: Container, ctx: TrialContext,
                   configs: dict[str, tuple[str, str]]) -> None:
    """A service's bind mounts (its output folder, the Docker socket) and its rendered
    files as swarm configs."""
    mounts = []
    if c.output:
        mounts.append({"Type": "bind", "Source": ctx.outdir, "Target": c.output,
                       "ReadOnly": False})
    if c.docker_socket:
        mounts.append({"Type": "bind", "Source": DOCKER_SOCKET, "Target": DOCKER_SOCKET,
                       "ReadOnly": False})
    if mounts:
        container["Mounts"] = mounts
    if c.files:
        container["Configs"] = [
            {"File": {"Name": path, "UID": "0", "GID": "0", "Mode": 0o444},
             "ConfigID": configs[path][0], "ConfigName": configs[path][1]}
            for path in c.files]


def swarm_unsupported(job: Job) -> list[tuple[str, str]]:
    """(field, why) for what a swarm service cannot do that a local container can."""
    out = []
    for name, c in job.spec.containers.items():
        if c.privileged:
            out.append((f"spec.containers.{name}.privileged",
                        "swarm services cannot run privileged; use --runner docker"))
        if c.host_network:
            out.append((f"spec.containers.{name}.host_network",
                        "--runner swarm runs a trial on its own overlay network; "
                        "use --runner docker for the host's network"))
    return out


def _dns_label(text: str) -> str:
    import hashlib

    safe = re.sub(r"[^a-zA-Z0-9-]+", "-", text).strip("-")
    if safe == text and len(safe) <= SERVICE_NAME_MAX:
        return safe
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{safe[:SERVICE_NAME_MAX - 9].rstrip('-')}-{digest}"
