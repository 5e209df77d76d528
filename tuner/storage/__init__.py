"""Where studies live: Optuna's RDB storage (SQLite by default; MySQL/MariaDB or PostgreSQL
when shared).

Passwords come from TUNER_DB_PASSWORD or the URL, and are never printed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import InputError, StorageError, StudyNotFound
from .retry import first_line as _first_line
from .retry import retrying

if TYPE_CHECKING:
    from pathlib import Path

    import optuna

DEFAULT_STORAGE = "sqlite:///tuner.db"
STORAGE_ENV = "TUNER_STORAGE"
PASSWORD_ENV = "TUNER_DB_PASSWORD"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


def redact(url: str) -> str:
    """The URL as it may be shown: no password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def sqlite_path(url: str) -> "Path | None":
    """The file of a sqlite URL (None for other databases and in-memory SQLite)."""
    from pathlib import Path

    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix) and ":memory:" not in url:
        return Path(url[len(prefix):])
    return None


# The URLs people write, read with the drivers tuner uses: SQLAlchemy's own defaults for these
# (mysqlclient, psycopg2) are C extensions tuner does not install.
DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql",
           "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
POSTGRES_INSTALL = "pip install 'tuner[postgres]'"
URL_FORMS = "use sqlite:///tuner.db, mysql://user@host/db or postgresql://user@host/db"


def _with_password(url: str) -> str:
    """The URL to connect with: the driver tuner uses when none is named, and the password
    from TUNER_DB_PASSWORD when the URL has none."""
    from sqlalchemy.engine import make_url

    password = os.environ.get(PASSWORD_ENV)
    parsed = make_url(url)
    if parsed.drivername in DRIVERS:
        parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    if password and parsed.password is None and not parsed.drivername.startswith("sqlite"):
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def no_driver(url: str, exc: ImportError) -> StorageError:
    """A missing database driver, with the line that installs it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    if dialect in ("postgresql", "postgres"):
        hint = f"install the PostgreSQL driver (psycopg 3): {POSTGRES_INSTALL}"
        if DRIVERS.get(parsed.drivername, parsed.drivername) != "postgresql+psycopg":
            hint += ", and write postgresql://user@host/db"
    elif dialect in ("mysql", "mariadb"):
        hint = ("write mysql://user@host/db: tuner reads it with PyMySQL, which it installs "
                "(or install the driver named in the URL)")
    else:
        hint = ("tuner stores studies in SQLite, MySQL/MariaDB or PostgreSQL: sqlite:///tuner.db, "
                "mysql://user@host/db, postgresql://user@host/db")
    # Optuna wraps the driver's ImportError in one of its own that names no module.
    cause = exc.__cause__ if isinstance(exc.__cause__, ImportError) else exc
    return StorageError(f"no driver for the study database {redact(url)}: {cause}", hint=hint)


HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 40  # a RUNNING trial silent this long belongs to a dead worker
# Overridable for tests and for very long trials on a flaky network.
HEARTBEAT_ENV, GRACE_ENV = "TUNER_HEARTBEAT_INTERVAL", "TUNER_HEARTBEAT_GRACE"


# Optuna's internals that tuner needs, reached here only: the rest of tuner asks these.

def trial_id(trial: Any) -> int:
    """The storage's id of a trial (FrozenTrial or Trial): the tuner_ tables refer to it."""
    return trial._trial_id


def study_id(summary: Any) -> int:
    """The storage's id of a study, from a StudySummary (its public API has only the name)."""
    return summary._study_id


def stop_soon(study: "optuna.Study") -> None:
    """Ask a study's optimize() to stop after its running trials, from any thread
    (Study.stop() may only be called from a trial's thread)."""
    study._stop_flag = True


def backend(study: "optuna.Study") -> Any:
    """The RDB storage under Optuna's cache: its engine, its queue-only switch."""
    return getattr(study._storage, "_backend", study._storage)


def engine_of(study: "optuna.Study") -> Any:
    """The SQLAlchemy engine of a study's storage (None for a storage without one)."""
    return getattr(backend(study), "engine", None)


def enqueued_params(trial: Any) -> dict[str, Any] | None:
    """The parameters a trial was enqueued with (a grid point, the baseline, a re-run), or
    None for a trial the sampler chose. Works for a live Trial and a FrozenTrial."""
    from optuna.trial import FrozenTrial

    if isinstance(trial, FrozenTrial):
        return trial.system_attrs.get("fixed_params")
    # A live trial read its system attributes when it started; enqueued parameters are set
    # before that and never after, so no query is needed.
    cached = getattr(trial, "_cached_frozen_trial", None)
    attrs = cached.system_attrs if cached is not None else \
        trial.study._storage.get_trial_system_attrs(trial._trial_id)
    return attrs.get("fixed_params")


def same_configuration(trial: Any) -> list[Any]:
    """The complete trials of the study that ran exactly this trial's parameters (as they are
    stored), oldest first: one query over the parameter rows, whatever the study's size."""
    from sqlalchemy import text

    study = trial.study
    engine = engine_of(study)
    if engine is None:  # a storage without SQL (in memory): look through the trials
        from optuna.trial import TrialState

        params = trial.params
        return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.params == params and t.number != trial.number]
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text(
            "SELECT o.trial_id FROM trial_params me "
            "JOIN trial_params o ON o.param_name = me.param_name "
            "AND o.param_value = me.param_value AND o.trial_id <> me.trial_id "
            "JOIN trials t ON t.trial_id = o.trial_id AND t.state = 'COMPLETE' "
            "AND t.study_id = :s "
            "WHERE me.trial_id = :me GROUP BY o.trial_id "
            "HAVING COUNT(*) = (SELECT COUNT(*) FROM trial_params WHERE trial_id = :me) "
            "AND COUNT(*) = (SELECT COUNT(*) FROM trial_params x WHERE x.trial_id = o.trial_id)"),
            {"s": study._study_id, "me": trial._trial_id})]
    found = [study._storage.get_trial(i) for i in ids]
    return sorted(found, key=lambda t: t.number)


def record_attrs(trial: Any, user_attrs: dict[str, Any], logs: list[str] = (),
                 artifacts: "Path | None" = None,
                 constraints: dict[str, float] | None = None) -> None:
    """A finished trial's user attributes, its logs as Optuna artifacts (files in the
    artifact folder, named by a system attribute each, as optuna.artifacts.upload_artifact
    does) and its constraint values (a system attribute each, as trial.set_constraint
    writes them), in one transaction: one commit per trial instead of one per attribute."""
    import json
    import uuid
    from pathlib import Path

    system: dict[str, str] = {}
    if artifacts is not None:
        from optuna.artifacts import FileSystemArtifactStore

        store = FileSystemArtifactStore(str(artifacts))
        for path in map(Path, logs):
            if not path.exists():
                continue
            artifact_id = str(uuid.uuid4())
            with open(path, "rb") as f:
                store.write(artifact_id, f)
            system["artifacts:" + artifact_id] = json.dumps(
                {"artifact_id": artifact_id, "filename": path.name, "mimetype": "text/plain",
                 "encoding": "utf-8"})
    for key, value in (constraints or {}).items():
        system[f"constraints:{key}"] = float(value)
    rdb = backend(trial.study)
    if hasattr(rdb, "set_trial_attrs"):
        rdb.set_trial_attrs(trial._trial_id, user_attrs, system)
        return
    for key, value in user_attrs.items():  # another storage (in memory): one at a time
        trial.set_user_attr(key, value)
    for key, value in system.items():
        trial.storage.set_trial_system_attr(trial._trial_id, key, value)


def stale_trial_ids(study: "optuna.Study") -> set[int]:
    """Trials whose worker stopped sending heartbeats (it died or lost the database)."""
    store = backend(study)
    if not hasattr(store, "_get_stale_trial_ids") or store.get_heartbeat_interval() is None:
        return set()
    return set(store._get_stale_trial_ids(study._study_id))


class QueueEmpty(Exception):
    """A grid worker asked for a trial, and no enqueued grid point was left to claim."""


def _storage_class() -> type:
    import optuna

    class TunerStorage(optuna.storages.RDBStorage):
        """RDB storage that, in queue-only mode, never makes a trial the queue did not hold.

        Optuna's ask() pops a waiting trial atomically, or else creates a new one; two grid
        workers racing for the last point would run it twice. Raising instead ends the
        worker's loop cleanly.
        """

        queue_only = False

        def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
            if self.queue_only and template_trial is None:
                raise QueueEmpty()
            return super().create_new_trial(study_id, template_trial)

        def set_trial_state_values(self, trial_id: int, state: Any, values: Any = None) -> bool:
            # Claiming a waiting trial reads its state, then writes RUNNING. MySQL and
            # PostgreSQL lock the row in between (SELECT ... FOR UPDATE); SQLite cannot, so
            # two workers could both claim one trial. A tuner lock makes the claim atomic there.
            if state.name == "RUNNING" and self.engine.dialect.name == "sqlite":
                from .tables import lock

                with lock(self.engine, f"claim:{trial_id}"):
                    return super().set_trial_state_values(trial_id, state, values)
            return super().set_trial_state_values(trial_id, state, values)

        def set_trial_attrs(self, trial_id: int, user: dict[str, Any],
                            system: dict[str, Any]) -> None:
            """Several attributes of a trial in one transaction (Optuna writes one at a
            time)."""
            _write_attrs(self, trial_id, user, system)

    # Every public call survives a database that restarts or drops the connection: a trial
    # that finished while it was away is recorded when it returns.
    for name in dir(optuna.storages.RDBStorage):
        method = getattr(TunerStorage, name)
        if not name.startswith("_") and callable(method) and name not in _NOT_RETRIED:
            setattr(TunerStorage, name, retrying(method))
    TunerStorage.set_trial_attrs = retrying(TunerStorage.set_trial_attrs)
    TunerStorage.record_heartbeat = _quiet_heartbeat(TunerStorage.record_heartbeat)
    return TunerStorage


def _write_attrs(storage: Any, trial_id: int, user: dict[str, Any],
                 system: dict[str, Any]) -> None:
    """A trial's attributes: the trial checked once, and each table one upsert of all its
    rows; one at a time where no upsert is known."""
    import json

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    dialect = storage.engine.dialect.name
    if dialect not in ("sqlite", "mysql", "postgresql"):
        for key, value in user.items():
            storage.set_trial_user_attr(trial_id, key, value)
        for key, value in system.items():
            storage.set_trial_system_attr(trial_id, key, value)
        return
    if not user and not system:
        return
    with _create_scoped_session(storage.scoped_session, True) as session:
        trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
        storage.check_trial_is_updatable(trial_id, trial.state)
        for model, attrs in ((models.TrialUserAttributeModel, user),
                             (models.TrialSystemAttributeModel, system)):
            if attrs:
                rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                        for k, v in attrs.items()]
                session.execute(_upsert(dialect, model.__table__), rows)


def _upsert(dialect: str, table: Any) -> Any:
    """INSERT ... or update value_json of the (trial_id, key) row that exists."""
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(table)
        return stmt.on_duplicate_key_update(value_json=stmt.inserted.value_json)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as conflict_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as conflict_insert

    stmt = conflict_insert(table)
    return stmt.on_conflict_do_update(index_elements=[table.c.trial_id, table.c.key],
                                      set_={"value_json": stmt.excluded.value_json})


def _quiet_heartbeat(record: Any) -> Any:
    """Heartbeats come from Optuna's thread: one that cannot be written past the limit is
    dropped (the main thread reports the outage), not a traceback from a dying thread."""
    import functools

    @functools.wraps(record)
    def call(self: Any, trial_id: int) -> None:
        try:
            record(self, trial_id)
        except StorageError:
            pass

    return call


_NOT_RETRIED = {"remove_session", "get_heartbeat_interval", "get_heartbeat_stale_trial_callback",
                "is_heartbeat_enabled"}


def open_storage(url: str, heartbeat: bool = False) -> "optuna.storages.RDBStorage":
    """Open (and create) the study database; `heartbeat` for workers that run trials."""
    import optuna
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise InputError(f"--storage: '{url}' is not a database URL",
                         hint=URL_FORMS) from None
    engine_kwargs: dict[str, Any] = {}
    if not parsed.drivername.startswith("sqlite"):
        # A connection dropped between trials is replaced instead of failing the next one.
        engine_kwargs = {"pool_pre_ping": True, "pool_recycle": 3600}
    kwargs: dict[str, Any] = {}
    if heartbeat:
        # A worker killed mid-trial leaves a RUNNING trial; the next worker to start a trial
        # fails it and enqueues its parameters again.
        kwargs = {"heartbeat_interval": int(os.environ.get(HEARTBEAT_ENV, HEARTBEAT_SECONDS)),
                  "grace_period": int(os.environ.get(GRACE_ENV, GRACE_SECONDS)),
                  "heartbeat_stale_trial_callback":
                      optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}
    local = sqlite_path(url)
    if local is not None:
        _from_template(local)
        if _made_by_this_optuna(local):
            # Optuna's tables are there and current: skip its checks (they load Alembic's
            # 30 migration scripts), a tenth of a second of every start-up.
            kwargs.update(skip_compatibility_check=True, skip_table_creation=True)
    try:
        return _create(_storage_class(), _with_password(url), engine_kwargs, kwargs)
    except ImportError as exc:
        raise no_driver(url, exc) from None
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ValueError) as exc:
        raise StorageError(
            f"cannot open the study database {redact(url)}: {_first_line(exc)}",
            hint="check --storage / TUNER_STORAGE, that the server runs, and TUNER_DB_PASSWORD",
        ) from None


TEMPLATE_ENV = "TUNER_CACHE"  # where the empty study database is kept (default ~/.cache/tuner)


def _from_template(path: "Path") -> None:
    """A new SQLite study database as a copy of an empty one Optuna made once (tables, schema
    version, migration stamp): creating them is most of the cost of a first run's start-up.
    Anything in the way (no cache, a race with another worker) leaves it to Optuna."""
    import shutil
    import tempfile
    from pathlib import Path

    import optuna

    if path.exists():
        return
    cache = Path(os.environ.get(TEMPLATE_ENV) or Path.home() / ".cache" / "tuner")
    from .tables import SCHEMA_VERSION

    template = cache / f"optuna-{optuna.__version__}-tuner-{SCHEMA_VERSION}-empty.db"
    try:
        if not template.exists():
            cache.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache, suffix=".db")
            os.close(fd)
            os.unlink(tmp)
            made = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
            from .tables import ensure_tables

            ensure_tables(made.engine)  # tuner's own tables too
            made.engine.dispose()
            os.replace(tmp, template)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(template, tmp)
            os.link(tmp, path)  # never over a database another worker made meanwhile
        finally:
            os.unlink(tmp)
    except Exception:  # no cache, a full disk, a worker that linked first: Optuna makes it
        return


def _made_by_this_optuna(path: "Path") -> bool:
    """Whether a SQLite study database has this Optuna version's tables and stamp."""
    import sqlite3

    import optuna

    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = conn.execute("SELECT library_version FROM version_info").fetchone()
            stamp = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(version and stamp and version[0] == optuna.__version__)


def _create(cls: type, url: str, engine_kwargs: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    from .tables import despite_creation_race

    _without_mako_highlighting()

    return despite_creation_race(lambda: cls(url, engine_kwargs=engine_kwargs, **kwargs))


def _without_mako_highlighting() -> None:
    """Optuna's storage loads Alembic, which loads Mako, whose HTML error pages import Pygments
    when it is installed (rich brings it): 66 ms, a third of opening a new study database,
    for pages tuner never renders. Mako falls back to plain escaping when that import fails."""
    import sys

    if "mako.exceptions" in sys.modules:
        return
    plugin = "mako.ext.pygmentplugin"
    had = sys.modules.get(plugin, False)
    if had is False:
        sys.modules[plugin] = None  # type: ignore[assignment]  # import of it fails
    try:
        import mako.exceptions  # noqa: F401
    except ImportError:
        pass  # no Mako: nothing to skip
    finally:
        if had is False:
            del sys.modules[plugin]


def study_names(storage: "optuna.storages.BaseStorage") -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(storage: "optuna.storages.BaseStorage", url: str,
               name: str | None) -> "optuna.Study":
    """The named study, or the only one in the storage when no name is given."""
    import optuna

    name = choose_study(study_names(storage), url, name)
    return optuna.load_study(study_name=name, storage=storage)


def choose_study(names: list[str], url: str, name: str | None) -> str:
    """The study to read: the one named, or the only one; errors say which studies exist."""
    if name is None:
        if len(names) == 1:
            return names[0]
        if not names:
            raise StudyNotFound(f"no studies in {redact(url)} yet",
                                hint="run `tuner optimize JOB` first, or pass --storage")
        raise StudyNotFound(f"{redact(url)} holds several studies: {', '.join(names)}",
                            hint="choose one with --study NAME")
    if name not in names:
        listed = ", ".join(names) if names else "none"
        raise StudyNotFound(f"--study: no study '{name}' in {redact(url)} (studies: {listed})")
    return name
