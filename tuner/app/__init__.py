"""Use cases: each wires the layers for one command. No click, no printing here. The CLI
imports this package only; nothing below it touches Docker or a database at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .answers import (Dashboard, dashboard, effect, importance, profile_answer,  # noqa: F401
                      profile_file_top, report, sweep)
from .reading import existing_url, read_study  # noqa: F401
from .study import (PRUNERS, RUNNERS, SAMPLERS, TRIAL_ROW_ATTRS, Optimized,  # noqa: F401
                    Options, Validated, best, cleanup, labels, optimize, run_points, runs,
                    studies, trials, validate)

if TYPE_CHECKING:
    from ..optimize import TrialEvent  # noqa: F401
