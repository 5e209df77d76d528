"""Container arguments: env, limits, mounts, labels, and safe defaults."""

from __future__ import annotations

from tuner.job import parse_job
from tuner.runner.specs import TrialContext, container_spec, use_network

TEXT = """
parameters: {n: {range: {min: 1, max: 3}}}
spec:
  containers:
    c1:
      image: img
      command: [/client, -n, 3]
      env: {LOG_LEVEL: info, DEBUG: false}
      cpu: 1.5
      ram: 512m
      output: /out
    b: {image: img2, command: "serve --fast"}
"""

CTX = TrialContext(study="s", number=7, env={"N": "2"}, outdir="/r/s/7", worker="w1")


def spec(name: str, text: str = TEXT, network: str | None = "net"):
    return container_spec(parse_job(text, "job.yaml", environ={}), name, CTX, network)


def test_env_limits_mount_labels():
    s = spec("c1")
    assert s.create["image"] == "img"
    assert s.create["command"] == ["/client", "-n", "3"]
    assert s.create["environment"] == {"LOG_LEVEL": "info", "DEBUG": "false", "N": "2"}
    assert s.create["hostname"] == "c1"
    assert s.create["labels"] == {"tuner": "1", "tuner.study": "s", "tuner.worker": "w1",
                                  "tuner.trial": "7", "tuner.container": "c1"}
    h = s.host_config
    assert h["nano_cpus"] == 1_500_000_000
    assert h["mem_limit"] == h["memswap_limit"] == 512 * 1024**2
    assert h["binds"] == {"/r/s/7": {"bind": "/out", "mode": "rw"}}
    assert h["network_mode"] == "net" and s.aliases == ("c1",)
    assert h["privileged"] is False
    assert s.docker_name == "tuner-s-7-c1-w1"


def test_defaults_are_safe_and_unlimited():
    s = spec("b")
    assert s.create["command"] == "serve --fast"
    h = s.host_config
    assert h == {"privileged": False, "network_mode": "net"}


def test_dangerous_powers_only_when_asked():
    text = TEXT.replace("b: {image: img2, command: \"serve --fast\"}",
                        "b: {image: img2, privileged: true, host_network: true, "
                        "docker_socket: true}")
    h = spec("b", text).host_config
    assert h["privileged"] is True and h["network_mode"] == "host"
    assert "/var/run/docker.sock" in h["binds"]
    assert spec("b", text).aliases == ()


def test_network_only_for_several_containers():
    job = parse_job(TEXT, "job.yaml", environ={})
    assert use_network(job)
    single = parse_job("parameters: {n: {enum: [1]}}\nspec: {containers: {a: {image: x}}}\n",
                       "job.yaml", environ={})
    assert not use_network(single)
    forced = parse_job("parameters: {n: {enum: [1]}}\n"
                       "spec: {containers: {a: {image: x}}, network: true}\n",
                       "job.yaml", environ={})
    assert use_network(forced)
    assert container_spec(single, "a", CTX, None).host_config["network_mode"] == "none"
