"""The command line: options -> one app call -> rendering. `main()` owns errors and exit codes.

One module per family of commands (study.py, answers.py, profiles.py), sharing output.py;
none computes: each calls a public function of tuner.app and renders what it returns.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import click

from ..errors import ExitStatus, TunerError
from . import answers, profiles, study


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tuner")
def cli() -> None:
    """Tune the knobs of a benchmarked system.

    A YAML job names the parameters and the Docker containers of one benchmark run; tuner runs
    it again and again with parameters chosen by Optuna, and keeps every run.

    \b
    Example:
      tuner validate jobs/tracelog.yaml
      tuner optimize jobs/tracelog.yaml --n-trials 30
      tuner best
    """


for _command in (*study.COMMANDS, *answers.COMMANDS, *profiles.COMMANDS):
    cli.add_command(_command)


def _tuner_error(exc: BaseException | None) -> TunerError | None:
    """The tool's own error in an exception's chain of causes, if there is one."""
    for _ in range(20):
        if exc is None or isinstance(exc, TunerError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs a command and turns every outcome into an exit code."""
    # SIGTERM ends a study like Ctrl-C does: containers removed, trial marked, exit 130.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    debug = bool(os.environ.get("TUNER_DEBUG"))
    try:
        rv = cli.main(args=argv, prog_name="tuner", standalone_mode=False)
        return int(rv or 0) if isinstance(rv, int) else 0
    except click.exceptions.Abort:
        click.echo("tuner: interrupted; the current trial was recorded as failed, and running "
                   "the same command again continues the study", err=True)
        return ExitStatus.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("tuner: interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:
        # A library may trip over our error on its way out (Optuna's tell after the database
        # went away): what the person needs is the error underneath.
        cause = _tuner_error(exc)
        if debug:
            raise
        if cause is not None:
            click.echo(f"tuner: error: {cause.message}", err=True)
            if cause.hint:
                click.echo(f"  fix: {cause.hint}", err=True)
            return cause.exit_code
        # A bug: say so in one line; TUNER_DEBUG=1 shows the traceback.
        click.echo(f"tuner: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("  rerun with TUNER_DEBUG=1 for the traceback, and please report it", err=True)
        return ExitStatus.ERROR


def run() -> None:
    """The `tuner` program: main(), then exit without the interpreter's teardown.

    Everything is written and closed by then (results, database, containers, output), and
    tearing down the modules Optuna, SQLAlchemy and the docker SDK load takes 0.1 s of every
    command for nothing. Tests call main() and keep their interpreter."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    logging.shutdown()
    os._exit(code)
