"""Docker engines of a test's (or a benchmark's) own, so that faults and swarms never touch the
machine's engine: each has its own socket, data root, exec root and network namespace.

`PrivateDockerd` is one engine; `Swarm` is a swarm of such engines, the nodes joined by veth
pairs (an engine per network namespace is a machine, as far as swarm can tell). Everything
made is removed by stop(): the swarm, the engines, their containerd, mounts and links.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import wait_for


class EngineUnavailable(Exception):
    """What a private engine needs is missing here (root, dockerd, unshare)."""


def check_private_engines() -> None:
    if os.geteuid() != 0:
        raise EngineUnavailable("a private dockerd needs root")
    for tool, package in (("dockerd", "docker.io"), ("unshare", "util-linux"),
                          ("nsenter", "util-linux"), ("ip", "iproute2")):
        if shutil.which(tool) is None:
            raise EngineUnavailable(f"{tool} not found (apt-get install {package})")


class PrivateDockerd:
    """A Docker engine of its own: kill() and start() are a crash and a restart."""

    def __init__(self, root: Path, namespace: str | None = None):
        self.root = root
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.proc: subprocess.Popen | None = None
        # A named network namespace outlives the engine: a restarted swarm node keeps its
        # address. Without a name, each start gets a namespace of its own.
        self.namespace = namespace

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        if shutil.which("dockerd") is None:
            raise EngineUnavailable("dockerd not found (apt-get install docker.io)")
        # A network namespace of its own: its docker0 and routes never touch the host's
        # (`--bridge=none` would delete the host engine's docker0 on start). unshare execs
        # dockerd, so proc.pid is dockerd in that namespace.
        enter = ["unshare", "--net", "--"]
        if self.namespace:
            if not Path(f"/run/netns/{self.namespace}").exists():
                subprocess.run(["ip", "netns", "add", self.namespace], check=True,
                               capture_output=True)
            enter = ["nsenter", f"--net=/run/netns/{self.namespace}", "--"]
        self.proc = subprocess.Popen(
            [*enter, "dockerd", f"--host={self.host}",
             f"--data-root={self.root}/data", f"--exec-root={self.root}/exec",
             f"--pidfile={self.root}/dockerd.pid", "--iptables=false", "--ip-masq=false",
             "--shutdown-timeout=1", "--log-level=error"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "dockerd.log", "ab"))
        wait_for(lambda: self.proc.poll() is not None or subprocess.run(
            ["docker", "-H", self.host, "info"], capture_output=True).returncode == 0,
            60, "the private dockerd answering")
        if self.proc.poll() is not None:
            raise AssertionError(f"the private dockerd exited: "
                                 f"{(self.root / 'dockerd.log').read_text()[-2000:]}")

    def kill(self) -> None:
        """A crash: SIGKILL, no clean shutdown."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            self.proc = None

    def terminate(self) -> None:
        """A graceful stop, as `systemctl stop docker` does: SIGTERM; the engine stops its
        containers and removes its socket file on the way out."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
            self.proc = None

    def docker(self, *args: str, input: bytes | None = None) -> str:
        return subprocess.run(["docker", "-H", self.host, *args], check=True,
                              capture_output=True, input=input).stdout.decode()

    def netns(self, *args: str) -> None:
        """A command in this engine's network namespace (ip addr, ip link ...)."""
        done = subprocess.run(["nsenter", "-t", str(self.pid), "-n", *args],
                              capture_output=True, text=True)
        if done.returncode:
            raise AssertionError(f"{' '.join(args)}: {done.stderr.strip()}")

    def load(self, image: str) -> None:
        """An image of the machine's engine, carried over (no registry)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", self.host, "load", "-q"], stdin=save.stdout,
                       check=True, capture_output=True)
        save.wait(60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with _ignore():
                self.docker("swarm", "leave", "--force")
            with _ignore():
                for cid in self.docker("ps", "-aq").split():
                    self.docker("rm", "-f", cid)
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        # containerd and its shims are dockerd's children under our exec root.
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if str(self.root / "exec").encode() in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.root))]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        if self.namespace:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)


class Swarm:
    """`size` private engines on a private link (10.213.<n>.0/24): the first inits a swarm and
    is its manager, the others join as workers. Each has `images` loaded."""

    SUBNET = "10.213.77"

    def __init__(self, size: int, images: tuple[str, ...] = ()):
        self.size = size
        self.images = images
        self.root = Path(tempfile.mkdtemp(prefix="tsw-", dir="/tmp"))  # short: socket paths
        self.nodes: list[PrivateDockerd] = []
        self.links: list[str] = []

    @property
    def manager(self) -> PrivateDockerd:
        return self.nodes[0]

    def address(self, i: int) -> str:
        return f"{self.SUBNET}.{i + 1}"

    def start(self) -> "Swarm":
        check_private_engines()
        try:
            for i in range(self.size):
                root = self.root / f"n{i}"
                root.mkdir()
                node = PrivateDockerd(root, namespace=f"{self.root.name}-n{i}")
                self.nodes.append(node)
                node.start()
                node.netns("ip", "link", "set", "lo", "up")
            self._wire()
            for node in self.nodes:
                for image in self.images:
                    node.load(image)
            self.manager.docker("swarm", "init", "--advertise-addr", self.address(0),
                                "--listen-addr", f"{self.address(0)}:2377")
            token = self.manager.docker("swarm", "join-token", "-q", "worker").strip()
            for i, node in enumerate(self.nodes[1:], start=1):
                node.docker("swarm", "join", "--token", token, "--advertise-addr",
                            self.address(i), f"{self.address(0)}:2377")
            wait_for(lambda: self.manager.docker(
                "node", "ls", "--format", "{{.Status}}").split().count("Ready") == self.size,
                60, f"{self.size} swarm node(s) ready")
        except BaseException:
            self.stop()
            raise
        return self

    def _wire(self) -> None:
        """One node: a veth pair inside its namespace, for an address (this kernel has no
        dummy interfaces). More: a bridge in the first node's namespace, a veth pair from it
        to each other node."""
        first = self.manager
        if self.size == 1:
            first.netns("ip", "link", "add", "tsw0", "type", "veth", "peer", "name", "tsw1")
            first.netns("ip", "addr", "add", f"{self.address(0)}/24", "dev", "tsw0")
            first.netns("ip", "link", "set", "tsw0", "up")
            first.netns("ip", "link", "set", "tsw1", "up")
            return
        first.netns("ip", "link", "add", "tswbr", "type", "bridge")
        first.netns("ip", "addr", "add", f"{self.address(0)}/24", "dev", "tswbr")
        first.netns("ip", "link", "set", "tswbr", "up")
        for i, node in enumerate(self.nodes[1:], start=1):
            # Made in the host's namespace, then each end moved: the host keeps neither.
            host_end, node_end = f"tsw{os.getpid() % 10000}a{i}", f"tsw{os.getpid() % 10000}b{i}"
            subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name",
                            node_end], check=True, capture_output=True)
            self.links.append(host_end)
            subprocess.run(["ip", "link", "set", host_end, "netns", str(first.pid)],
                           check=True, capture_output=True)
            subprocess.run(["ip", "link", "set", node_end, "netns", str(node.pid)],
                           check=True, capture_output=True)
            first.netns("ip", "link", "set", host_end, "master", "tswbr")
            first.netns("ip", "link", "set", host_end, "up")
            node.netns("ip", "addr", "add", f"{self.address(i)}/24", "dev", node_end)
            node.netns("ip", "link", "set", node_end, "up")

    def stop(self) -> None:
        # Workers leave first, then the manager: nothing of the swarm outlives the test.
        for node in reversed(self.nodes):
            node.stop()
        for link in self.links:  # gone with the namespaces; left only if a move failed
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Swarm":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _ignore:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
