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


# --- swarm services ---------------------------------------------------------------------

def service(name: str, text: str = TEXT, **kwargs):
    from tuner.runner.specs import service_spec

    job = parse_job(text, "job.yaml", environ={})
    args = {"image": "sha256:abc", "network": "tnet", "node": "n1"} | kwargs
    return service_spec(job, name, CTX, **args)


def test_service_is_the_container_pinned_to_a_node():
    s = service("c1", constraints=("node.labels.disk==ssd",), owner={"tuner.pid": "42"})
    task = s["task_template"]
    c = task["ContainerSpec"]
    assert c["Image"] == "sha256:abc"  # by ID: a tag makes every task ask a registry
    assert c["Args"] == ["/client", "-n", "3"]  # CMD, not ENTRYPOINT
    assert sorted(c["Env"]) == ["DEBUG=false", "LOG_LEVEL=info", "N=2"]
    assert c["Hostname"] == "c1" and c["StopSignal"] == "SIGKILL"
    assert c["Labels"]["tuner.trial"] == "7" and c["Labels"]["tuner.pid"] == "42"
    assert c["Mounts"] == [{"Type": "bind", "Source": "/r/s/7", "Target": "/out",
                            "ReadOnly": False}]
    assert task["Resources"] == {"Limits": {"NanoCPUs": 1_500_000_000,
                                            "MemoryBytes": 512 * 1024**2}}
    assert task["Placement"] == {"Constraints": ["node.id==n1", "node.labels.disk==ssd"]}
    assert task["RestartPolicy"]["Condition"] == "none"
    assert task["Networks"] == [{"Target": "tnet", "Aliases": ["c1"]}]
    assert s["mode"] == {"Replicated": {"Replicas": 1}}
    assert s["endpoint_spec"] == {"Mode": "dnsrr"}  # VIPs need ip_vs
    assert s["name"] == "tuner-s-7-c1-w1" and s["labels"] == c["Labels"]


def test_service_string_command_files_and_no_network():
    text = TEXT.replace('b: {image: img2, command: "serve --fast"}',
                        'b: {image: img2, command: "serve --fast \'a b\'", '
                        'files: {/etc/b.conf: {content: "x"}}}')
    s = service("b", text, network=None, configs={"/etc/b.conf": ("cid1", "cfg1")})
    task = s["task_template"]
    assert task["ContainerSpec"]["Args"] == ["serve", "--fast", "a b"]
    assert task["ContainerSpec"]["Configs"] == [
        {"File": {"Name": "/etc/b.conf", "UID": "0", "GID": "0", "Mode": 0o444},
         "ConfigID": "cid1", "ConfigName": "cfg1"}]
    assert "Networks" not in task and task["Resources"] == {"Limits": {}}


def test_swarm_names_are_dns_labels():
    from tuner.runner.specs import config_name, service_name, trial_network_name

    long = "a-study_with.dots-" + "x" * 80
    names = {service_name(long, 12, "client", "w1"), service_name(long, 12, "server", "w1"),
             trial_network_name(long, 12, "w1"), config_name(long, 12, "w1", "c", "/a"),
             config_name(long, 12, "w1", "c", "/b")}
    assert len(names) == 5  # shortened, still unique
    for n in names:
        assert len(n) <= 63 and all(ch.isalnum() or ch == "-" for ch in n), n
    assert service_name("s", 1, "c", "w") == "tuner-s-1-c-w"


def test_what_swarm_cannot_run_is_named():
    from tuner.runner.specs import swarm_unsupported

    text = TEXT.replace('b: {image: img2, command: "serve --fast"}',
                        "b: {image: img2, privileged: true, host_network: true}")
    assert [f for f, _ in swarm_unsupported(parse_job(text, "job.yaml", environ={}))] == \
        ["spec.containers.b.privileged", "spec.containers.b.host_network"]
    assert swarm_unsupported(parse_job(TEXT, "job.yaml", environ={})) == []
