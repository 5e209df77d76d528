"""Trial runners: start a trial's containers, wait, collect exit states and logs, clean up."""

from .base import ContainerRun, LogLine, TrialRun, TrialRunner
from .specs import TrialContext

__all__ = ["ContainerRun", "LogLine", "TrialContext", "TrialRun", "TrialRunner"]
