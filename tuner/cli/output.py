"""What every command's output shares: the console, JSON dumps, the common options, text
made safe to print. Its own module so that the command modules need not import each other."""

from __future__ import annotations

import json
from typing import Any

import click

STORAGE_HELP = "Study database URL [env TUNER_STORAGE; default sqlite:///tuner.db]."
STUDY_HELP = "Study name [default: the only study in the storage]."


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def dump(data: Any) -> None:
    """Indented for a person at a terminal; one compact line into a pipe or file, where a
    script reads it (Python's compact encoder is ten times faster on a 10,000-trial study)."""
    import sys

    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(data, indent=indent, sort_keys=False, default=str))


def storage_option(command: Any) -> Any:
    """--storage URL, shared by every command that reads or writes a study."""
    return click.option("--storage", default=None, help=STORAGE_HELP)(command)


def study_option(command: Any) -> Any:
    """--study NAME, for commands that read one study."""
    return click.option("--study", default=None, help=STUDY_HELP)(command)


def json_option(what: str) -> Any:
    """--json, saying what the JSON holds."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print JSON: {what}")


def printable(value: str) -> str:
    """Text any terminal can take: undecodable bytes of a file name shown as escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")
