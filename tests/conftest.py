"""Shared fixtures. Tests that need Docker skip on a laptop without it, and fail when CI is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUSYBOX = "tuner-test/busybox:1"


def wait_for(predicate, seconds: float, what: str = "condition"):
    """Polls predicate() until it returns something true (and returns that)."""
    import time

    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met in {seconds}s")


def one_knob_space():
    """A search space of one int knob x in 1..9, default 9: the confirmation and racing
    tests' synthetic jobs."""
    from tuner.job.load import parse_job
    from tuner.space import Space

    job = parse_job(textwrap.dedent("""
        parameters: {x: {range: {min: 1, max: 9}, default: 9}}
        spec: {containers: {main: {image: none}}}
    """), "t.yaml", environ={})
    return Space(job, job.source)


def need(what: str, reason: str) -> None:
    """Skip, or fail when CI is set: a missing engine in CI is a broken CI, not a pass."""
    message = f"{what} unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this fails instead of skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client():
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        need("Docker engine", str(exc))
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox(docker_client, tmp_path_factory) -> str:
    """A busybox image FROM scratch, built from the host's static busybox (cached by Docker)."""
    exe = shutil.which("busybox")
    if exe is None:
        need("busybox", "apt-get install busybox-static")
    ctx = tmp_path_factory.mktemp("busybox")
    bin_dir = ctx / "rootfs" / "bin"
    bin_dir.mkdir(parents=True)
    (ctx / "rootfs" / "tmp").mkdir()
    shutil.copy(exe, bin_dir / "busybox")
    applets = subprocess.run([exe, "--list"], capture_output=True, text=True, check=True).stdout
    for applet in applets.split():
        if applet != "busybox":
            (bin_dir / applet).symlink_to("busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["sh"]\n')
    docker_client.images.build(path=str(ctx), tag=BUSYBOX, rm=True)
    return BUSYBOX


@pytest.fixture
def leftovers(docker_client):
    """Returns a check that nothing labelled for a study is left: containers or networks."""

    def check(study: str) -> None:
        label = f"tuner.study={study}"
        containers = docker_client.containers.list(all=True, filters={"label": label})
        networks = docker_client.networks.list(filters={"label": label})
        assert not containers, f"containers left: {[c.name for c in containers]}"
        assert not networks, f"networks left: {[n.name for n in networks]}"

    return check


@pytest.fixture
def write_job(tmp_path):
    def write(text: str, name: str = "job.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def run_cli(tmp_path, monkeypatch):
    """Runs `tuner ARGS` in-process in tmp_path; returns (exit code, stdout, stderr)."""
    from tuner.cli import main

    monkeypatch.chdir(tmp_path)

    def run(*args: str, capsys=None):
        return main(list(args))

    return run




MYSQL_ENV = "TUNER_TEST_MYSQL"  # a server URL whose user may create tuner_* databases
MYSQL_DEFAULT = "mysql+pymysql://tuner:tuner@127.0.0.1"


@pytest.fixture
def sql():
    """sql(url, query) -> the rows: one engine, used and disposed of."""
    import sqlalchemy

    def run(url: str, query: str) -> list:
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as conn:
                return conn.execute(sqlalchemy.text(query)).all()
        finally:
            engine.dispose()

    return run


@pytest.fixture
def mysql_url():
    """A fresh, empty MariaDB/MySQL database for one test; dropped afterwards."""
    import uuid

    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    server = os.environ.get(MYSQL_ENV, MYSQL_DEFAULT)
    name = f"tuner_t_{uuid.uuid4().hex[:10]}"
    try:
        admin = sqlalchemy.create_engine(server + "/")
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    except (SQLAlchemyError, ImportError) as exc:
        need("MariaDB", f"{server}: {str(exc).splitlines()[0]} (set {MYSQL_ENV})")
    yield f"{server}/{name}"
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL server for the session (initdb in a temporary folder, trust
    authentication, its own port): started on first use, stopped at the end."""
    import tempfile

    from tests.databases import PrivatePostgres

    root = Path(tempfile.mkdtemp(prefix="tuner-pg-"))
    server = PrivatePostgres(root, database="postgres")
    try:
        server.install()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty PostgreSQL database for one test (psycopg 3); dropped afterwards."""
    import uuid

    name = f"tuner_t_{uuid.uuid4().hex[:10]}"
    url = postgres_server.create(name)
    yield url
    postgres_server.drop(name)


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def storage_url(request, tmp_path):
    """Each storage the tool supports: embedded SQLite, a real MariaDB, a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tuner.db"
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def tracelog_images(docker_client) -> None:
    """The demo's images, built from source by its own script (Go, FROM scratch)."""
    if shutil.which("go") is None:
        need("Go toolchain", "apt-get install golang-go")
    subprocess.run([str(ROOT / "jobs" / "tracelog" / "build.sh")], check=True,
                   capture_output=True, timeout=600)


@pytest.fixture(scope="session")
def sqlite_image(docker_client) -> str:
    """Debian's sqlite3 shell in an image FROM scratch (tests/images/sqlite/build.sh)."""
    out = subprocess.run([str(ROOT / "tests" / "images" / "sqlite" / "build.sh")], check=True,
                         capture_output=True, text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def redis_image(docker_client) -> str:
    """Redis 7 and redis-benchmark from Debian's redis-tools, FROM scratch (jobs/redis/build.sh)."""
    out = subprocess.run([str(ROOT / "jobs" / "redis" / "build.sh")], check=True,
                         capture_output=True, text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def postgres_image(docker_client) -> str:
    """PostgreSQL 15 and pgbench from Debian's packages, FROM scratch (jobs/postgres/build.sh)."""
    out = subprocess.run([str(ROOT / "jobs" / "postgres" / "build.sh")], check=True,
                         capture_output=True, text=True, timeout=900)
    return out.stdout.strip().splitlines()[-1]
