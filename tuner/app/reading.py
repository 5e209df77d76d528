"""What the use cases share: the storage URL to read, a stored study read in plain SQL, the
engine of the tuner's own tables, Optuna kept quiet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..storage.read import StoredStudy


def _engine_with_tables(study: Any) -> Any:
    from ..storage import engine_of
    from ..storage.tables import ensure_tables

    ensure_tables(engine_of(study))
    return engine_of(study)


def existing_url(storage: str | None) -> str:
    """The storage URL to read from; a SQLite file that is not there is an input error."""
    from .. import storage as store

    url = store.resolve_url(storage)
    if url.startswith("sqlite:") and store.sqlite_path(url) is None:
        raise InputError(f"--storage: {url} is an in-memory database: it holds no studies",
                         hint="name the file, e.g. sqlite:///tuner.db")
    local = store.sqlite_path(url)
    if local is not None and not local.exists():  # don't create an empty database to read
        raise InputError(f"no study database at {local}",
                         hint="run `tuner optimize JOB` here first, or pass --storage URL")
    return url


def read_study(storage: str | None, study: str | None,
               user_keys: tuple[str, ...] | None = None) -> "StoredStudy":
    """A stored study to answer questions from: read in plain SQL, without Optuna (the only
    one, unless named); errors say what exists."""
    from ..storage.read import connect
    from ..storage.read import read_study as read

    url = existing_url(storage)
    return read(connect(url), url, study, user_keys)


def _engine_if_tables(study: Any) -> Any:
    """The engine, when the tuner's own tables are there (a study made by Optuna alone has
    none): reading never creates them."""
    from sqlalchemy import inspect

    from ..storage import engine_of

    engine = engine_of(study)
    return engine if inspect(engine).has_table("tuner_runs") else None


def _quiet_optuna() -> None:
    import warnings

    import optuna

    # The CLI reports trials itself; Optuna's per-trial log lines would repeat them.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # Heartbeats and artifacts are marked experimental; the warning is noise to a user.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

