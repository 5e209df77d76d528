"""Storage URLs as people write them: read with the drivers tuner uses, a missing driver named
with the line that installs it, and PostgreSQL's ways of saying "gone" taken as an outage."""

from __future__ import annotations

import sys

import pytest

from tuner.cli import main
from tuner.errors import StorageError
from tuner.storage import _with_password, open_storage


@pytest.mark.parametrize("written, used", [
    ("mysql://u:p@db.example/tuner", "mysql+pymysql://u:p@db.example/tuner"),
    ("mariadb://u:p@db.example:3307/tuner", "mysql+pymysql://u:p@db.example:3307/tuner"),
    ("postgresql://u:p@db.example/tuner", "postgresql+psycopg://u:p@db.example/tuner"),
    ("postgres://u:p@db.example/tuner", "postgresql+psycopg://u:p@db.example/tuner"),
    # A driver that is named is the driver used.
    ("mysql+mysqldb://u:p@db.example/tuner", "mysql+mysqldb://u:p@db.example/tuner"),
    ("postgresql+psycopg2://u:p@db.example/tuner", "postgresql+psycopg2://u:p@db.example/tuner"),
    ("sqlite:///tuner.db", "sqlite:///tuner.db"),
])
def test_urls_people_write_use_the_drivers_tuner_installs(written, used, monkeypatch):
    monkeypatch.delenv("TUNER_DB_PASSWORD", raising=False)
    assert _with_password(written) == used


def test_the_password_from_the_environment_survives_the_rewrite(monkeypatch):
    monkeypatch.setenv("TUNER_DB_PASSWORD", "s3cret")
    assert _with_password("postgresql://u@db.example/tuner") == \
        "postgresql+psycopg://u:s3cret@db.example/tuner"


class _NotInstalled:
    """An import finder for which these modules are not installed."""

    def __init__(self, *names: str):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


def not_installed(monkeypatch, *names: str) -> None:
    for loaded in [m for m in sys.modules if m.split(".")[0] in names]:
        monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.setattr(sys, "meta_path", [_NotInstalled(*names), *sys.meta_path])


def test_a_missing_postgresql_driver_names_the_install_line(monkeypatch, tmp_path, capsys):
    not_installed(monkeypatch, "psycopg")
    monkeypatch.chdir(tmp_path)
    url = "postgresql://u:hidden@127.0.0.1:1/tuner"
    with pytest.raises(StorageError) as caught:
        open_storage(url)  # what `tuner optimize` opens (through Optuna)
    assert str(caught.value).endswith(": No module named 'psycopg'")
    assert "pip install 'tuner[postgres]'" in caught.value.hint
    assert main(["trials", "--json", "--storage", url]) == 1  # the plain-SQL reader's way in
    err = capsys.readouterr().err
    assert "no driver for the study database postgresql://u:***@127.0.0.1:1/tuner" in err
    assert "fix: install the PostgreSQL driver (psycopg 3): pip install 'tuner[postgres]'" in err
    assert "hidden" not in err and "internal error" not in err and "Traceback" not in err


def test_another_named_driver_that_is_missing_says_what_to_write(monkeypatch):
    not_installed(monkeypatch, "MySQLdb", "psycopg2")
    with pytest.raises(StorageError) as caught:
        open_storage("mysql+mysqldb://u@127.0.0.1:1/tuner")
    assert "write mysql://user@host/db" in caught.value.hint
    with pytest.raises(StorageError) as caught:
        open_storage("postgresql+psycopg2://u@127.0.0.1:1/tuner")
    assert caught.value.hint.endswith(
        "pip install 'tuner[postgres]', and write postgresql://user@host/db")


def _wrapped(error: Exception) -> Exception:
    """A driver's error as SQLAlchemy raises it."""
    import sqlalchemy.exc

    import psycopg

    cls = (sqlalchemy.exc.OperationalError if isinstance(error, psycopg.OperationalError)
           else sqlalchemy.exc.ProgrammingError)
    return cls("SELECT 1", {}, error)


def test_postgresql_going_away_is_an_outage_and_a_bad_query_is_not():
    pytest.importorskip("psycopg")
    from psycopg import errors

    from tuner.storage.retry import unreachable

    for code, text in (("57P01", "terminating connection due to administrator command"),
                       ("57P03", "the database system is starting up"),
                       ("57P03", "the database system is shutting down"),
                       ("08006", "server closed the connection unexpectedly")):
        assert unreachable(_wrapped(errors.lookup(code)(text))), code
    # libpq's own failures carry no SQLSTATE: their text says it.
    import psycopg

    refused = psycopg.OperationalError('connection failed: connection to server at '
                                       '"127.0.0.1", port 1 failed: Connection refused')
    assert unreachable(_wrapped(refused))
    assert unreachable(_wrapped(errors.lookup("42601")('syntax error at or near "SELEC"'))) is None
    assert unreachable(_wrapped(errors.lookup("42P01")('relation "x" does not exist'))) is None
