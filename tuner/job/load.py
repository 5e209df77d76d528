"""Read a job file: YAML with line marks, ${ENV} interpolation, validation into `Job`.

Every problem becomes a JobError naming the file, the field path and the line, in one sentence
(unknown keys get a "did you mean"), so a person can fix the file without reading a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import JobError, JobErrors
from .model import DEFAULT_SCORE_REGEX, Job, Progress
from .yamlfile import (MAX_VALUES, Loader, NotText, TooBig, as_written,
                       collect_lines)

Path_ = tuple[Any, ...]

_INTERP = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_job(path: str | os.PathLike[str], environ: typing.Mapping[str, str] | None = None) -> Job:
    """Load and validate a job file; raise JobError(s) with file, field and line."""
    path = Path(path)
    try:
        text = _read(path)
    except FileNotFoundError:
        raise JobError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise JobError(str(path), None, f"cannot read: {exc}") from None
    return parse_job(text, str(path), environ)


# A job file or a template is a few kilobytes: reading stops past this (a path like /dev/zero).
MAX_BYTES = 1 << 20


def _read(path: Path) -> str:
    with open(path, encoding="utf-8") as f:
        text = f.read(MAX_BYTES + 1)
    if len(text) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES >> 20} MiB; a job never needs that much")
    return text


def parse_job(text: str, source: str = "<job>",
              environ: typing.Mapping[str, str] | None = None) -> Job:
    environ = os.environ if environ is None else environ
    loader = None
    try:
        loader = Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        raise JobError(source, None, f"not valid YAML: character #x{exc.character:04x} is not "
                                     f"allowed ({exc.reason})",
                       line=text.count("\n", 0, exc.position) + 1) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise JobError(source, None, f"not valid YAML: {problem}",
                       line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise JobError(source, None, "not valid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path_, int] = {}
    texts: dict[Path_, str] = {}
    if node is not None:
        try:
            collect_lines(node, (), lines, texts, [0])
        except TooBig:
            raise JobError(source, None, f"expands to more than {MAX_VALUES} values or nests "
                                         f"too deeply (YAML aliases?); a job is never that "
                                         f"big") from None
        except NotText as exc:
            raise JobError(source, _dotted(exc.path), "has a lone surrogate (a \\ud800-\\udfff "
                                                      "escape): write the character itself",
                           exc.line) from None
    if not isinstance(data, dict):
        raise JobError(source, None, "a job file is a mapping with parameters: and spec: at the top")
    data = as_written(data, texts)

    errors: list[JobError] = []
    data = _interpolate(data, (), environ, source, lines, errors)
    if errors:
        raise _many(errors)
    try:
        job = Job.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        raise _many([_translate(err, source, lines) for err in errs[:MAX_ERRORS]],
                    len(errs)) from None
    job = _resolve(job, source)
    errors = list(_cross_checks(job, source, lines))
    if errors:
        raise _many(errors)
    job = _read_templates(job, source, lines)
    job._lines = lines
    return job


def _read_templates(job: Job, source: str, lines: dict[Path_, int]) -> Job:
    """A file's `template:` is read now, relative to the job file, so every trial renders the
    same text and a missing file is a job error, not a failed trial."""
    containers = {}
    errors = []
    for cname, c in job.spec.containers.items():
        files = {}
        for path, f in c.files.items():
            if f.template is not None:
                where = ("spec", "containers", cname, "files", path, "template")
                try:
                    text = _read(Path(source).parent / f.template)
                except (OSError, UnicodeDecodeError, ValueError) as exc:
                    reason = "no such file" if isinstance(exc, FileNotFoundError) else str(exc)
                    errors.append(JobError(source, _dotted(where),
                                           f"cannot read the template {f.template}: {reason}",
                                           _line(lines, where)))
                    continue
                f = f.model_copy(update={"content": text})
            files[path] = f
        containers[cname] = c.model_copy(update={"files": files})
    if errors:
        raise _many(errors)
    return job.model_copy(update={"spec": job.spec.model_copy(update={"containers": containers})})


def env_name(name: str, inject_env: str | None) -> str:
    """numChunk -> NUM_CHUNK, unless the job names the variable."""
    if inject_env:
        return inject_env
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^A-Za-z0-9_]", "_", snake).upper()


# --- helpers -------------------------------------------------------------------------------


# Problems reported at once: a person fixes the first ones, and a value repeated by aliases
# would otherwise give thousands of lines.
MAX_ERRORS = 20


def _many(errors: list[JobError], count: int | None = None) -> JobError:
    count = len(errors) if count is None else count
    if count > MAX_ERRORS:
        errors = errors[:MAX_ERRORS] + [JobError(errors[0].path, None,
                                                 f"... and {count - MAX_ERRORS} more")]
    return errors[0] if len(errors) == 1 else JobErrors(errors)


def _line(lines: dict[Path_, int], path: Path_) -> int | None:
    # YAML keys are strings, but a validator loc may carry ints: try both, then the parents.
    while True:
        for candidate in (path, tuple(str(p) for p in path)):
            if candidate in lines:
                return lines[candidate]
        if not path:
            return None
        path = path[:-1]


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _interpolate(value: Any, path: Path_, environ: typing.Mapping[str, str], source: str,
                 lines: dict[Path_, int], errors: list[JobError]) -> Any:
    """${VAR} and ${VAR:-default} in string values; $$ is a literal $."""
    if isinstance(value, dict):
        return {k: _interpolate(v, path + (k,), environ, source, lines, errors)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, path + (i,), environ, source, lines, errors)
                for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        errors.append(JobError(source, _dotted(path),
                               f"${{{name}}} is not set in the environment "
                               f"(set it, or write ${{{name}:-default}})", _line(lines, path)))
        return ""

    return _INTERP.sub(sub, value)


def _allowed_keys(loc: Path_) -> list[str]:
    """Field names of the model at `loc` in Job, for "did you mean"."""
    model: Any = Job
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            if field is None:
                return []
            model = _unwrap(field.annotation)
        elif typing.get_origin(model) is dict:
            model = _unwrap(typing.get_args(model)[1])
        else:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional so the walk reaches the model or dict inside."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if (isinstance(a, type) and issubclass(a, BaseModel))
                      or typing.get_origin(a) is dict]
            if len(models) != 1:
                return annotation
            annotation = models[0]
        else:
            return annotation


def _translate(err: Any, source: str, lines: dict[Path_, int]) -> JobError:
    # Drop pydantic's union-branch tags (e.g. 'str', 'list[...]') so the path is the user's;
    # a key the file has is kept even when it looks like one ('par[ameters').
    loc: Path_ = ()
    for p in err["loc"]:
        tag = isinstance(p, str) and (p in {"str", "int", "float", "bool"}
                                      or ("[" in p and p.endswith("]")))
        if not tag or loc + (p,) in lines:
            loc += (p,)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        msg = f"unknown key '{key}'"
        msg += f"; did you mean '{hint[0]}'?" if hint else (
            f"; allowed: {', '.join(allowed)}" if allowed else "")
        return JobError(source, _dotted(loc), msg, _line(lines, loc))
    if kind == "missing":
        return JobError(source, _dotted(loc), "is required", _line(lines, loc[:-1]))
    msg = err["msg"]
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    msg = re.sub(r"^(Input|List|String|Dictionary) should", "must", msg)
    if kind == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        msg = (f"{err.get('input')!r} must be an absolute path" if pattern == "^/" else
               f"{err.get('input')!r} is not allowed here (must match {pattern})")
    elif kind != "value_error" and "input" in err and not isinstance(err["input"], (dict, list)):
        # Pydantic's own messages don't quote the value; ours (value_error) already do.
        msg = f"{msg} (got {err['input']!r})"
    return JobError(source, _dotted(loc), msg, _line(lines, loc))


def _resolve(job: Job, source: str) -> Job:
    """Fill the defaults that depend on other fields: study name, score container and source."""
    name = job.name or re.sub(r"[^A-Za-z0-9_.-]", "-", Path(source).stem) or "study"
    obj = job.objective
    containers = job.spec.containers
    container = obj.container
    if container is None:
        container = "score" if "score" in containers else (job.spec.until or list(containers)[-1])
    regex, file = obj.regex, obj.file
    if regex is None and file is None:
        target = containers.get(container)
        if target is not None and target.output:
            file = "score.txt"
        else:
            regex = DEFAULT_SCORE_REGEX
    progress = obj.progress
    if isinstance(progress, str):
        progress = Progress(regex=progress, container=container)
    elif progress is not None and progress.container is None:
        progress = progress.model_copy(update={"container": container})
    objective = obj.model_copy(update={"container": container, "regex": regex, "file": file,
                                       "progress": progress})
    metrics = {m: (metric if metric.container is not None
                   else metric.model_copy(update={"container": container}))
               for m, metric in job.metrics.items()}
    job = job.model_copy(update={"name": name, "objective": objective, "metrics": metrics})
    job._source = source
    return job


def _cross_checks(job: Job, source: str, lines: dict[Path_, int]):
    containers = job.spec.containers

    def err(path: Path_, message: str) -> JobError:
        return JobError(source, _dotted(path), message, _line(lines, path))

    def unknown(path: Path_, name: str) -> JobError:
        hint = difflib.get_close_matches(name, list(containers), n=1)
        tail = f"; did you mean '{hint[0]}'?" if hint else f"; containers: {', '.join(containers)}"
        return err(path, f"no container named '{name}'{tail}")

    obj = job.objective
    if obj.container not in containers:
        yield unknown(("objective", "container"), obj.container)
    elif obj.file is not None and not containers[obj.container].output:
        yield err(("objective", "file"),
                  f"container '{obj.container}' has no output: directory to write {obj.file} into; "
                  f"add output: /out to it")
    for cname, c in containers.items():
        if c.profile and c.profile.files and not c.output:
            yield err(("spec", "containers", cname, "profile", "files"),
                      "profiles written to files need the container's output: directory; "
                      "add output: /out to it")
        if c.profile and c.profile.pprof and c.host_network:
            yield err(("spec", "containers", cname, "profile", "pprof"),
                      "pprof collection reaches containers on the trial's network; "
                      "it does not work with host_network: true")
    if job.spec.until is not None and job.spec.until not in containers:
        yield unknown(("spec", "until"), job.spec.until)
    yield from _goal_checks(job, err, unknown)

    seen: dict[str, str] = {}
    for name, param in job.parameters.items():
        path = ("parameters", name)
        env = env_name(name, param.inject.env if param.inject else None)
        if env in seen:
            yield err(path, f"sets ${env}, which parameter '{seen[env]}' sets too")
        seen[env] = name
        for cname, c in containers.items():
            if env in c.env:
                yield err(("spec", "containers", cname, "env", env),
                          f"is also set by parameter '{name}'; remove one of them")
        if param.default is not None:
            problem = _default_problem(param)
            if problem:
                yield err(path + ("default",), problem)
        if param.range is not None and param.range.is_int is False and any(
                isinstance(v, bool) for v in (param.range.min, param.range.max)):
            yield err(path + ("range",), "min and max must be numbers")


def _goal_checks(job: Job, err: Any, unknown: Any):
    """Metrics, objectives and constraints name things that exist."""
    from .goals import metric_units, parse_constraint, unknown_metric

    containers = job.spec.containers
    for name, m in job.metrics.items():
        path = ("metrics", name)
        if name in ("score", "peak_memory", "cpu_seconds"):
            yield err(path, f"'{name}' is built in; give the metric another name")
        elif m.container not in containers:
            yield unknown(path + ("container",), m.container)
        elif m.file is not None and not containers[m.container].output:
            yield err(path + ("file",), f"container '{m.container}' has no output: directory "
                                        f"to write {m.file} into; add output: /out to it")
    progress = job.objective.progress
    if progress is not None and progress.container not in containers:
        yield unknown(("objective", "progress", "container"), progress.container)
    units = metric_units(job)
    seen = set()
    for i, goal in enumerate(job.objectives or []):
        if goal.name not in units:
            yield err(("objectives", i, "name"), unknown_metric(goal.name, units))
        elif goal.name in seen:
            yield err(("objectives", i, "name"), f"'{goal.name}' is an objective twice")
        seen.add(goal.name)
    for i, text in enumerate(job.constraints):
        try:
            parse_constraint(text, units)
        except ValueError as exc:
            yield err(("constraints", i), str(exc))


def _default_problem(param: Any) -> str | None:
    d = param.default
    if param.enum is not None:
        return None if d in param.enum else f"{d!r} is not one of the enum values {param.enum}"
    r = param.range
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        return f"{d!r} is not a number"
    if not r.min <= d <= r.max:
        return f"{d} is outside the range {r.min}..{r.max}"
    if r.is_int and not isinstance(d, int):
        return f"{d} is not an integer, and the range is of integers"
    if r.step is not None:
        k = (d - r.min) / r.step
        if abs(k - round(k)) > 1e-9:
            return f"{d} is not on the range's step grid ({r.min} + k*{r.step})"
    return None
