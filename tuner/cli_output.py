"""What every command's output shares: the console, JSON dumps, the common options' help.
Its own module so that the command modules need not import each other."""

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
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
