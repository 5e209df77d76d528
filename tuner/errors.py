"""The tool's own errors. The CLI turns them into a message and an exit code; nothing else does."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # runtime failure: Docker or the database unreachable, ...
    BAD_INPUT = 2  # job file or options
    INTERRUPTED = 130


class TunerError(Exception):
    """Root of the tool's errors: a message for a person, an optional one-line fix."""

    exit_code: int = ExitStatus.ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(TunerError):
    """Bad options or arguments."""

    exit_code = ExitStatus.BAD_INPUT


class JobError(InputError):
    """A problem in a job file, located by file, field path and (when known) line."""

    def __init__(self, path: str, field: str | None, message: str, line: int | None = None,
                 hint: str | None = None):
        where = str(path)
        if line is not None:
            where += f":{line}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text, hint)
        self.path = str(path)
        self.field = field
        self.line = line


class JobErrors(JobError):
    """Several problems in one job file, all reported at once (like docker-compose's config check)."""

    def __init__(self, errors: list[JobError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.field, first.message.split(": ", 1)[-1], first.line)
        self.message = "\n".join(e.message for e in errors)
        self.args = (self.message,)


class DockerUnavailable(TunerError):
    def __init__(self, detail: str):
        super().__init__(
            f"cannot reach the Docker engine ({detail})",
            hint="start it with `sudo dockerd &` (or `sudo systemctl start docker`), "
                 "or point DOCKER_HOST at a running engine",
        )


class DiskFull(TunerError):
    """The results folder's disk is full: the trial fails, the study stops (exit 1)."""

    def __init__(self, path: str):
        super().__init__(f"no space left on the results disk ({path})",
                         hint="free space there, or pass --results DIR on another disk; "
                              "running the same command again continues the study")


class ResultsUnwritable(TunerError):
    """The results folder cannot be written (permissions, a read-only mount, ...)."""

    def __init__(self, path: str, detail: str):
        super().__init__(f"cannot write the results folder {path}: {detail}",
                         hint="fix its permissions, or pass --results DIR elsewhere; running "
                              "the same command again continues the study")


def notify(message: str) -> None:
    """A line on stderr about a fault tuner is riding out (waiting for the database or the
    engine): the person watching should know why nothing moves."""
    import sys

    print(f"tuner: {message}", file=sys.stderr, flush=True)


class StorageError(TunerError):
    """The study database cannot be opened or used."""


class StudyNotFound(InputError):
    pass


class TrialFailed(Exception):
    """Raised inside a trial: the trial is recorded as FAIL with this reason; the study goes on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
