"""The job file as typed models. Field names are the user-facing contract (DESIGN.md)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from ..format import format_duration, format_size  # noqa: E402,F401 - re-exported

Scalar = Union[StrictBool, StrictInt, StrictFloat, str]
Number = Union[StrictInt, StrictFloat]

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
METRIC_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
ENV_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
# A size with a unit: the unit is what tells a size from a plain number in a range.
_UNIT_SIZE_RE = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:[kmgt](?:i?b)?|b)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|min|m|h)")


def parse_size(value: Any) -> Any:
    """'4g' -> bytes (1024-based, as Docker reads them). Ints are bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 512m or 4g")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m and math.isfinite(float(m.group(1)) * _UNITS[m.group(2).lower()]):
            return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    raise ValueError(f"{value!r} is not a size; write it like 512m or 4g (k/m/g/t suffixes)")


def parse_duration(value: Any) -> Any:
    """'20s', '1m30s', '500ms', '2h' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 20s or 5m")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond a float's range
            raise ValueError("is too many seconds for a duration") from None
    if isinstance(value, str):
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            scale = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600}
            return sum(float(n) * scale[u] for n, u in parts)
    raise ValueError(f"{value!r} is not a duration; write it like 20s, 5m or 1m30s")


def range_number(value: Any, unit: str | None) -> Any:
    """A range bound as written: a number, a size with a unit (bytes) or a duration (seconds).
    `unit` is what the range's other bounds were written in, so that `1m` next to `8g` is a
    size and next to `30s` a duration."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if unit != "seconds" and _UNIT_SIZE_RE.match(text):
        return parse_size(text)
    if unit != "bytes":
        try:
            seconds = parse_duration(text)
        except ValueError:
            pass
        else:
            return int(seconds) if float(seconds).is_integer() else seconds
    raise ValueError(f"{value!r} is not a number, a size (like 512m or 8g) or a duration "
                     f"(like 500ms, 30s or 5min)")


def written_unit(values: list[Any]) -> str | None:
    """'bytes' when a bound is written as a size, 'seconds' as a duration, else None."""
    texts = [v.strip() for v in values if isinstance(v, str)]
    if not texts:
        return None
    if all(_UNIT_SIZE_RE.match(t) for t in texts):
        return "bytes"
    if any(t.endswith(("ms", "s", "h", "min")) for t in texts):
        return "seconds"
    return "bytes" if any(_UNIT_SIZE_RE.match(t) for t in texts) else None


def _finite(x: float) -> bool:
    try:
        return math.isfinite(float(x))
    except OverflowError:  # an int beyond a float's range
        return False


Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inject(_Model):
    env: Annotated[str, Field(pattern=ENV_RE)]


class Range(_Model):
    min: Number
    max: Number
    step: Annotated[Number, Field(gt=0)] | None = None
    log: StrictBool = False
    # What the numbers count, when the bounds were written with units (1m..8g, 100ms..2s).
    unit: Literal["bytes", "seconds"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        bounds = [data.get(k) for k in ("min", "max", "step")]
        unit = data.get("unit") if data.get("unit") in ("bytes", "seconds") else \
            written_unit(bounds)
        if unit is None:
            return data
        out = dict(data, unit=unit)
        for key in ("min", "max", "step"):
            if key in data:
                out[key] = range_number(data[key], unit)
        return out

    @model_validator(mode="after")
    def _check(self) -> "Range":
        # Every bound, the span and the count of steps are floats somewhere (Optuna, the grid).
        for key in ("min", "max", "step"):
            if getattr(self, key) is not None and not _finite(getattr(self, key)):
                raise ValueError(f"{key} must be a finite number, at most 1.8e308 in size")
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if not math.isfinite(float(self.max) - float(self.min)):
            raise ValueError("the range is wider than a float holds (max - min over 1.8e308)")
        if self.step is not None and not math.isfinite(
                (float(self.max) - float(self.min)) / float(self.step)):
            raise ValueError("step is too small for the range: more than 1.8e308 steps")
        if self.log and self.min <= 0:
            raise ValueError("a log range needs min > 0")
        if self.log and self.step is not None and not (self.is_int and self.step == 1):
            raise ValueError("log: true cannot be combined with a step")
        return self

    @property
    def is_int(self) -> bool:
        return all(isinstance(v, int) for v in (self.min, self.max, self.step or 1))


class Parameter(_Model):
    inject: Inject | None = None
    range: Range | None = None
    enum: Annotated[list[Scalar], Field(min_length=1)] | None = None
    role: Literal["knob", "workload"] = "knob"
    default: Scalar | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_units(cls, data: Any) -> Any:
        """A range's default may be written with the range's unit (`default: 128m`)."""
        if not (isinstance(data, dict) and isinstance(data.get("default"), str)
                and isinstance(data.get("range"), dict)):
            return data
        r = data["range"]
        unit = r.get("unit") if r.get("unit") in ("bytes", "seconds") else written_unit(
            [r.get("min"), r.get("max"), r.get("step"), data["default"]])
        try:
            return dict(data, default=range_number(data["default"], unit))
        except ValueError:
            return data  # reported as "not a number" with the field

    @model_validator(mode="after")
    def _one_kind(self) -> "Parameter":
        if (self.range is None) == (self.enum is None):
            raise ValueError("give either range: {min, max} or enum: [...], not both or neither")
        if self.enum is not None and len(set(map(repr, self.enum))) != len(self.enum):
            raise ValueError("enum lists a value twice")
        return self


class Pprof(_Model):
    """Profiles read over HTTP from Go's net/http/pprof while the trial runs."""

    port: Annotated[int, Field(ge=1, le=65535)] = 6060
    path: Annotated[str, Field(pattern=r"^/")] = "/debug/pprof"
    cpu: StrictBool = True
    # CPU is read in back-to-back windows of this many seconds (whole seconds: Go's handler
    # reads no fractions) from when the port answers until the trial ends; every window that
    # completes is kept, the one cut short by the end is lost.
    cpu_seconds: Annotated[int, Field(ge=1, le=3600)] = 1
    heap: StrictBool = True  # the last heap profile read before the container ended


class ProfileSpec(_Model):
    pprof: Pprof | None = None
    files: Annotated[str, Field(min_length=1)] | None = None  # a glob in the output directory


def _file_path(path: str) -> str:
    """A path inside the container; `..` could reach out of the trial's folder on the host."""
    if ".." in path.split("/") or "\0" in path:
        raise ValueError(f"{path!r}: a file's path may not contain '..' or NUL")
    return path


class File(_Model):
    """A config file rendered per trial and mounted read-only in the container."""

    content: str | None = None  # the text, with {{ }} templates
    template: Annotated[str, Field(min_length=1)] | None = None  # a file, relative to the job

    @model_validator(mode="after")
    def _one_source(self) -> "File":
        if (self.content is None) == (self.template is None):
            raise ValueError("give either content: or template:, not both or neither")
        return self


class Container(_Model):
    image: Annotated[str, Field(min_length=1)]
    command: list[Union[str, StrictInt, StrictFloat]] | str | None = None
    env: dict[Annotated[str, Field(pattern=ENV_RE)], Scalar] = {}
    cpu: Annotated[PositiveFloat, Field(allow_inf_nan=False)] | None = None
    ram: Size | None = None
    output: Annotated[str, Field(pattern=r"^/")] | None = None
    # Dangerous powers are off unless a job asks for them by name.
    privileged: StrictBool = False
    host_network: StrictBool = False
    docker_socket: StrictBool = False
    # Its failure (non-zero exit, OOM) is expected: it neither fails the trial nor ends it
    # early, as any other container's failure does while `until` still runs.
    may_fail: StrictBool = False
    profile: ProfileSpec | None = None
    # Path inside the container -> the file; its text is a template of the trial's values.
    files: dict[Annotated[str, Field(pattern=r"^/.*[^/]$"), AfterValidator(_file_path)],
                File] = {}


class Spec(_Model):
    containers: Annotated[dict[Annotated[str, Field(pattern=NAME_RE)], Container],
                          Field(min_length=1)]
    until: str | None = None
    timeout: Duration = 600.0
    network: StrictBool | None = None  # None: a private network only when there are 2+ containers


class Progress(_Model):
    """Intermediate values a running container prints (group 1 of each match)."""

    regex: Annotated[str, Field(min_length=1)]
    container: str | None = None  # default: the objective's container

    @model_validator(mode="after")
    def _compiles(self) -> "Progress":
        _check_regex(self.regex, "regex")
        return self


class Objective(_Model):
    direction: Literal["minimize", "maximize"] = "minimize"
    container: str | None = None
    regex: str | None = None
    file: str | None = None
    # A trial measures its configuration on every workload value; this makes one number.
    aggregate: Literal["sum", "mean", "geomean-ratio-to-baseline"] = "sum"
    # Intermediate values in the container's log while it runs (group 1): what a pruner
    # compares against earlier trials at the same step. A regex (in the objective's
    # container), or {container, regex}.
    progress: str | Progress | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Objective":
        if self.regex is not None and self.file is not None:
            raise ValueError("give either regex or file, not both")
        _check_regex(self.regex, "regex")
        if isinstance(self.progress, str):
            _check_regex(self.progress, "progress")
        if self.file is not None and (self.file.startswith("/") or ".." in self.file.split("/")):
            raise ValueError("file must be a path inside the container's output directory")
        return self


MAX_GROUP_DEPTH = 50  # groups inside groups; re's parser recurses per level


def _check_regex(regex: str | None, what: str) -> None:
    if regex is None:
        return
    # Refused before compiling: a parser run into Python's recursion limit leaves the garbage
    # collector running finalizers at that depth, where they fail.
    if _group_depth(regex) > MAX_GROUP_DEPTH:
        raise ValueError(f"{what} nests groups more than {MAX_GROUP_DEPTH} deep")
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(f"{what} does not compile: {exc}") from None
    except (OverflowError, RuntimeError):
        raise ValueError(f"{what} does not compile: too long") from None


def _group_depth(regex: str) -> int:
    """The deepest nesting of ( in a regex, outside escapes and [classes] (an upper bound:
    re's own parser decides the finer points)."""
    depth = deepest = 0
    escaped = in_class = False
    for ch in regex:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(depth - 1, 0)
    return deepest


class Metric(_Model):
    """An extra value a trial records, read like the score: by regex from a container's log
    (the last match) or from a file in its output directory."""

    container: str | None = None  # default: the objective's container
    regex: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Metric":
        if (self.regex is None) == (self.file is None):
            raise ValueError("give either regex or file, not both or neither")
        _check_regex(self.regex, "regex")
        if self.file is not None and (self.file.startswith("/") or ".." in self.file.split("/")):
            raise ValueError("file must be a path inside the container's output directory")
        return self


class Goal(_Model):
    """One objective of a multi-objective study: the score or a metric, and its direction."""

    name: Annotated[str, Field(min_length=1)]
    direction: Literal["minimize", "maximize"]


class Job(_Model):
    name: Annotated[str, Field(pattern=NAME_RE)] | None = None
    objective: Objective = Objective()
    parameters: Annotated[dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")],
                               Parameter], Field(min_length=1)]
    spec: Spec
    # Noise: each trial runs its containers `warmup` times unscored, then `repeat` times;
    # its value is the median (or mean) of the repeats.
    repeat: Annotated[int, Field(ge=1, le=100)] = 1
    warmup: Annotated[int, Field(ge=0, le=100)] = 0
    statistic: Literal["median", "mean"] = "median"
    # Extra values per trial (name -> how to read it); peak_memory and cpu_seconds are built in.
    metrics: dict[Annotated[str, Field(pattern=METRIC_RE)], Metric] = {}
    # Several objectives: the study searches their Pareto front (score or metric names).
    objectives: Annotated[list[Goal], Field(min_length=1, max_length=8)] | None = None
    # "p99_ms <= 20", "peak_memory <= 1g": a trial that breaks one is infeasible.
    constraints: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=32)] = []
    _source: str = PrivateAttr("<job>")  # the file it came from, for error messages
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)  # field -> line

    @property
    def source(self) -> str:
        return self._source

    def line(self, path: tuple[Any, ...]) -> int | None:
        """The line of a field (or of its closest parent) in the job file."""
        while path not in self._lines and path:
            path = path[:-1]
        return self._lines.get(path)


# Score extraction used when the job names none: the last number the container prints.
DEFAULT_SCORE_REGEX = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
