"""The tuner's own tables beside Optuna's: per-container runs, and a lock for grid claims.

SQLAlchemy Core on Optuna's engine, so SQLite, MySQL and PostgreSQL alike. Every table is
prefixed `tuner_` and refers to Optuna's `trials` with ON DELETE CASCADE, so `optuna
delete-study` still works. Times are epoch seconds as doubles: MySQL's DATETIME drops sub-seconds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .retry import retrying

T = TypeVar("T")
SCHEMA_VERSION = 2  # 2: tuner_runs.run_label
metadata = MetaData()

# Optuna's table, as far as the foreign keys need it; Optuna creates and owns it.
_trials = Table("trials", metadata, Column("trial_id", Integer, primary_key=True))

schema = Table(
    "tuner_schema", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

runs = Table(
    "tuner_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trial_id", Integer, ForeignKey("trials.trial_id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("container", String(128), nullable=False),
    Column("run_label", String(128)),  # which run of the trial (workload/repeat); None: the only
    Column("image", String(512)),
    Column("image_id", String(128)),
    Column("exit_code", Integer),
    Column("oom_killed", Boolean, nullable=False, default=False),
    Column("killed", Boolean, nullable=False, default=False),
    Column("started_at", Float(precision=53)),
    Column("ended_at", Float(precision=53)),
    Column("seconds", Float(precision=53)),
    Column("peak_memory_bytes", BigInteger),
    Column("cpu_seconds", Float(precision=53)),
    Column("log_bytes", BigInteger),
    Column("log_path", String(1024)),
    Column("log_tail", Text),
)

# Top-N functions per trial, container, profile and sample type (pprof's flat and cum).
profiles = Table(
    "tuner_profiles", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trial_id", Integer, ForeignKey("trials.trial_id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("container", String(128), nullable=False),
    Column("source", String(256), nullable=False),  # cpu, heap, or the file's name
    Column("sample_type", String(64), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("total", Float(precision=53), nullable=False),
    Column("position", Integer, nullable=False),  # 0 = most flat
    Column("name", String(512), nullable=False),  # the function
    Column("flat", Float(precision=53), nullable=False),
    Column("cum", Float(precision=53), nullable=False),
)

locks = Table(
    "tuner_locks", metadata,
    Column("name", String(191), primary_key=True),
    Column("owner", String(191), nullable=False),
    Column("acquired_at", Float(precision=53), nullable=False),
)


def despite_creation_race(create: Callable[[], T]) -> T:
    """Run `create`; retry when another worker, started at the same moment, created the
    same tables or version rows first (the loser sees "already exists" or a duplicate)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    # SQLite, MySQL, PostgreSQL (a table, type or row made meanwhile: ProgrammingError there).
    racing = ("already exists", "UNIQUE constraint failed", "Duplicate entry",
              "duplicate key value")
    for attempt in range(6):
        try:
            return create()
        except (OperationalError, IntegrityError, ProgrammingError) as exc:
            if not any(r in str(exc) for r in racing) or attempt == 5:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


@retrying
def ensure_tables(engine: Engine) -> None:
    """Create missing tuner_ tables (Optuna's exist already) and record the schema version."""
    despite_creation_race(lambda: _ensure_tables(engine))


def _ensure_tables(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _sqlite_foreign_keys(engine)
    metadata.create_all(engine, tables=[schema, runs, profiles, locks], checkfirst=True)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # Other SQLite clients (optuna delete-study) run without the foreign-key pragma,
            # so their deletes leave our rows behind: drop them before a trial id is reused.
            for table in (runs, profiles):
                conn.execute(delete(table).where(
                    table.c.trial_id.not_in(select(_trials.c.trial_id))))
        row = conn.execute(select(schema.c.version)).first()
        if row is None:
            with contextlib.suppress(IntegrityError):
                conn.execute(insert(schema).values(id=1, version=SCHEMA_VERSION))
        elif row.version < SCHEMA_VERSION:
            _migrate(conn, row.version)
        elif row.version > SCHEMA_VERSION:
            from ..errors import StorageError

            raise StorageError(f"the database has tuner tables of a newer version "
                               f"({row.version} > {SCHEMA_VERSION})", hint="upgrade tuner")


def _migrate(conn: Any, version: int) -> None:
    from sqlalchemy import text, update

    if version < 2:
        conn.execute(text("ALTER TABLE tuner_runs ADD COLUMN run_label VARCHAR(128)"))
    conn.execute(update(schema).where(schema.c.id == 1).values(version=SCHEMA_VERSION))


def _sqlite_foreign_keys(engine: Engine) -> None:
    # SQLite enforces ON DELETE CASCADE only with this pragma, per connection.
    if getattr(engine, "_tuner_fk", False):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    engine._tuner_fk = True  # type: ignore[attr-defined]
    engine.dispose()  # connections made before the listener lack the pragma


@retrying
def add_rows(engine: Engine, run_rows: list[dict[str, Any]],
             profile_rows: list[dict[str, Any]]) -> None:
    """A trial's per-container rows and profile summaries, in one transaction."""
    if run_rows or profile_rows:
        with engine.begin() as conn:
            if run_rows:
                conn.execute(insert(runs), run_rows)
            if profile_rows:
                conn.execute(insert(profiles), profile_rows)


@retrying
def add_profiles(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(profiles), rows)


@retrying
def profiles_of(engine: Engine, trial_ids: list[int], container: str | None = None,
                sample_type: str | None = None) -> list[dict[str, Any]]:
    if not trial_ids:
        return []
    query = select(profiles).where(profiles.c.trial_id.in_(trial_ids))
    if container is not None:
        query = query.where(profiles.c.container == container)
    if sample_type is not None:
        query = query.where(profiles.c.sample_type == sample_type)
    with engine.connect() as conn:
        result = conn.execute(query.order_by(profiles.c.trial_id, profiles.c.container,
                                             profiles.c.source, profiles.c.sample_type,
                                             profiles.c.position))
        return [dict(r._mapping) for r in result]


@retrying
def runs_of(engine: Engine, trial_ids: list[int]) -> list[dict[str, Any]]:
    if not trial_ids:
        return []
    with engine.connect() as conn:
        result = conn.execute(select(runs).where(runs.c.trial_id.in_(trial_ids))
                              .order_by(runs.c.trial_id, runs.c.id))
        return [dict(r._mapping) for r in result]


@retrying
def run_spans(engine: Engine, trial_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Each trial's first container start and last end (sub-second, unlike Optuna's times)."""
    from sqlalchemy import func

    if not trial_ids:
        return {}
    out: dict[int, tuple[float, float]] = {}
    wanted = set(trial_ids)
    query = (select(runs.c.trial_id, func.min(runs.c.started_at), func.max(runs.c.ended_at))
             .where(runs.c.started_at.is_not(None), runs.c.ended_at.is_not(None))
             .group_by(runs.c.trial_id))
    if len(wanted) <= 500:  # a few trials: ask for them; many: all rows, filtered here
        query = query.where(runs.c.trial_id.in_(trial_ids))
    with engine.connect() as conn:
        for tid, lo, hi in conn.execute(query).all():
            if tid in wanted:
                out[tid] = (lo, hi)
    return out


@contextlib.contextmanager
def lock(engine: Engine, name: str, wait: float = 60.0, stale: float = 120.0) -> Iterator[None]:
    """A lock shared by every worker on the database: a row only one INSERT can create.

    A lock older than `stale` seconds is taken over: its holder died while holding it.
    """
    owner = f"{socket.gethostname()}:{os.getpid()}"
    deadline = time.monotonic() + wait

    @retrying
    def execute(statement: Any) -> None:
        with engine.begin() as conn:
            conn.execute(statement)

    while True:
        try:
            execute(insert(locks).values(name=name, owner=owner, acquired_at=time.time()))
            break
        except IntegrityError:
            execute(delete(locks).where(locks.c.name == name,
                                        locks.c.acquired_at < time.time() - stale))
            if time.monotonic() > deadline:
                from ..errors import StorageError

                raise StorageError(f"could not take the lock '{name}' in {wait:.0f}s",
                                   hint="another tuner holds it; try again") from None
            time.sleep(0.2)
    try:
        yield
    finally:
        execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))
