"""Database servers of a test's own: a private MariaDB and a private PostgreSQL, each with its
own data directory, socket and port, so that a test may stop, start or cut them without the
rest of the suite feeling it. Both answer the same calls (start, stop, kill_connections), so
a fault test is written once and run on each.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

import sqlalchemy

from tests.conftest import need, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateMariaDB:
    """A MariaDB server of the test's own: stop() and start() are the fault."""

    name = "mariadb"

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"mysql+pymysql://root@127.0.0.1:{self.port}/tuner_faults"

    def install(self) -> None:
        if shutil.which("mariadb-install-db") is None or shutil.which("mariadbd") is None:
            need("MariaDB", "mariadb-install-db/mariadbd not found (apt-get install mariadb-server)")
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                        "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.data}", "--user=root",
             f"--socket={self.root}/mysqld.sock", f"--pid-file={self.root}/mysqld.pid",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-grant-tables",
             "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "mysqld.err", "ab"))
        _wait_until_up(self.url.rsplit("/", 1)[0] + "/",
                       "CREATE DATABASE IF NOT EXISTS tuner_faults", "the private MariaDB")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        self.proc = None

    def kill_connections(self) -> int:
        """Kills every other connection to the test's database; how many it killed."""
        return _kill(self.url, "SELECT id FROM information_schema.processlist "
                               "WHERE id <> CONNECTION_ID() AND db = 'tuner_faults'",
                     "KILL CONNECTION {}")


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("postgres")
    return Path(exe).parent if exe else None


class PrivatePostgres:
    """A PostgreSQL server of the test's own: initdb into `root`, trust authentication, a
    private port and socket directory. The server refuses to run as root, so as root it
    runs as the `postgres` user (setpriv execs it: the Popen's pid is the server's)."""

    name = "postgres"

    def __init__(self, root: Path, database: str = "tuner_faults"):
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.server = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self.url = f"{self.server}/{database}"
        self.database = database

    def _as_owner(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    def install(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            need("PostgreSQL", "no server binaries (apt-get install postgresql-15)")
        if os.geteuid() == 0 and shutil.which("setpriv") is None:
            need("PostgreSQL", "setpriv not found (apt-get install util-linux)")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            need("PostgreSQL", "psycopg not installed (pip install -e '.[test,postgres]')")
        self.bindir = bindir
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run([*self._as_owner(), str(bindir / "initdb"), "-D", str(self.data),
                        "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
                        "--no-sync"], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*self._as_owner(), str(self.bindir / "postgres"), "-D", str(self.data),
             "-p", str(self.port), "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "postgres.log", "ab"))
        _wait_until_up(self.server + "/postgres", None, "the private PostgreSQL", self.proc)
        self.create(self.database)

    def create(self, database: str) -> str:
        """A database (made if missing); its URL."""
        with _autocommit(self.server + "/postgres") as conn:
            if not conn.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                {"d": database}).first():
                conn.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
        return f"{self.server}/{database}"

    def drop(self, database: str) -> None:
        with _autocommit(self.server + "/postgres") as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def stop(self) -> None:
        """A fast shutdown (SIGINT): clients are disconnected, the server stops at once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)
            self.proc.wait(60)
        self.proc = None

    def kill_connections(self) -> int:
        return _kill(self.url, f"SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                               f"AND datname = '{self.database}'",
                     "SELECT pg_terminate_backend({})")


class _autocommit:
    def __init__(self, url: str):
        self.engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")

    def __enter__(self):
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()
        self.engine.dispose()


def _wait_until_up(url: str, statement: str | None, what: str,
                   proc: subprocess.Popen | None = None) -> None:
    engine = sqlalchemy.create_engine(url)

    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(statement or "SELECT 1"))
            return True
        except sqlalchemy.exc.OperationalError:
            return False

    try:
        wait_for(up, 60, f"{what} answering")
    finally:
        engine.dispose()


def _kill(url: str, find: str, kill: str) -> int:
    engine = sqlalchemy.create_engine(url)
    killed = 0
    try:
        with engine.connect() as conn:
            for (i,) in conn.execute(sqlalchemy.text(find)).all():
                try:
                    conn.execute(sqlalchemy.text(kill.format(int(i))))
                    killed += 1
                except sqlalchemy.exc.DBAPIError:  # it ended meanwhile
                    pass
    finally:
        engine.dispose()
    return killed
