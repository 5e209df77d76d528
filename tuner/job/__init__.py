"""The job file: load, validate, and the typed model it becomes."""

from .load import env_name, load_job, parse_job
from .model import Container, Job, Objective, Parameter, Range, Spec

__all__ = ["Container", "Job", "Objective", "Parameter", "Range", "Spec", "env_name",
           "load_job", "parse_job"]
