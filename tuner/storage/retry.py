"""Riding out a database that goes away: every storage call is tried again, with backoff,
while the server is unreachable (stopped, restarting, connections killed), up to a limit."""

from __future__ import annotations

import os
import threading
from typing import Any

from ..errors import StorageError, notify

# How long storage calls wait for an unreachable database before the study stops (exit 1).
DB_WAIT_SECONDS = 600
DB_WAIT_ENV = "TUNER_DB_WAIT"

# MySQL/MariaDB client and server codes that mean "no connection", not "bad query".
_LOST = {2002, 2003, 2006, 2013, 2055, 1053, 1927, 4031}
_LOST_TEXT = ("lost connection", "gone away", "can't connect", "connection refused",
              "connection was killed", "server shutdown", "broken pipe", "connection reset",
              "database is locked",
              # PostgreSQL (libpq): stopped, restarting, or the connection terminated.
              "server closed the connection", "terminating connection",
              "the database system is", "connection is closed", "is the server running")
# PostgreSQL's SQLSTATEs for the same: connection exceptions (08...), shut down by an
# administrator or a crash, not accepting connections yet.
_LOST_SQLSTATE = ("08", "57P01", "57P02", "57P03")


def unreachable(exc: BaseException | None) -> str | None:
    """Why the database cannot be reached, when this error (or its cause) says it was lost
    or refused; None for any other error (a bad query is not retried)."""
    import sqlalchemy.exc as sa

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return first_line(exc)
        orig = getattr(exc, "orig", exc)
        args = getattr(orig, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        text = str(orig).lower()
        sqlstate = getattr(orig, "sqlstate", None)
        if isinstance(exc, sa.DBAPIError) and isinstance(sqlstate, str) and \
                sqlstate.startswith(_LOST_SQLSTATE):
            return first_line(exc)
        if isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError)) and (
                code in _LOST or any(t in text for t in _LOST_TEXT)
                or isinstance(exc, sa.InterfaceError)):
            return first_line(exc)
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


class _Outage:
    """One process's view of its database: waiting for it, or given up on it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = False
        self.gave_up: StorageError | None = None


_outage = _Outage()


def retrying(fn: Any) -> Any:
    """`fn` called again, with backoff, while the database is unreachable; past the wait limit
    a StorageError (exit 1), after which every database call of the process fails at once.
    Used on every Optuna storage call and on the tuner's own tables."""
    import functools
    import time

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if _outage.gave_up is not None:
            raise _outage.gave_up
        started = None
        delay = 0.2
        while True:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                why = unreachable(exc)
                if why is None:
                    raise
                now = time.monotonic()
                limit = float(os.environ.get(DB_WAIT_ENV, DB_WAIT_SECONDS))
                if started is None:
                    started = now
                    with _outage.lock:
                        if not _outage.waiting:
                            _outage.waiting = True
                            notify(f"the study database stopped answering ({why}); waiting up "
                                   f"to {limit:g}s for it ({DB_WAIT_ENV})")
                if now - started >= limit:
                    _outage.gave_up = StorageError(
                        f"the study database did not answer for {limit:g}s ({why}); "
                        f"the study stopped",
                        hint="start the database again and run the same command: the study "
                             "continues where it stopped")
                    raise _outage.gave_up from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if started is not None:
                with _outage.lock:
                    if _outage.waiting:
                        _outage.waiting = False
                        notify(f"the study database answers again, after "
                               f"{time.monotonic() - started:.1f}s")
            return result

    return call


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
