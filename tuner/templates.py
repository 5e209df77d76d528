"""Templates: `{{ expression }}` in a container's command, env values and files, rendered per
trial from the trial's parameter values (Jinja2, sandboxed; an unknown name is an error).

Pure: a job and a trial's values in, strings out. Compiled once per job; `check` renders every
template with the default configuration, so `tuner validate` finds a bad one before any trial.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from . import template_bounds as bounds
from .errors import JobError, TrialFailed
from .job import Job
from .job.model import format_size, parse_size

# `{{ omit }}`: a list command's word, or an env value, whose text holds it is left out. A NUL
# cannot be in an argument or an environment variable, so no real text is mistaken for it.
OMIT = "\x00omit\x00"
_UNIT_BYTES = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def is_template(text: Any) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def size(value: Any, unit: str | None = None) -> str:
    """`{{ x | size }}` -> '8g'; `{{ x | size('MB') }}` -> '8192MB' (1024-based, as written)."""
    n = parse_size(value)
    if unit is None:
        return format_size(n)
    factor = _UNIT_BYTES.get(unit[:1].lower() if unit[:1].lower() in "kmgt" else unit.lower())
    if factor is None:
        raise ValueError(f"size: unknown unit {unit!r} (use B, kB, MB, GB, TB or k, m, g, t)")
    return _count(n / factor) + unit


def duration(value: Any, unit: str | None = None) -> str:
    """`{{ t | duration }}` -> '90s'; `{{ t | duration('ms') }}` -> '90000ms'."""
    from .job.model import parse_duration

    seconds = parse_duration(value)
    unit = unit or "s"
    factor = _UNIT_SECONDS.get(unit)
    if factor is None:
        raise ValueError(f"duration: unknown unit {unit!r} (use ms, s, min, h or d)")
    return _count(seconds / factor) + unit


def _count(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _finalize(value: Any) -> Any:
    # A boolean reaches the program as the job wrote it, not as Python's True.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


# Jinja parses, compiles and calls macros by recursion; a template is refused (or its call
# fails) well before Python's recursion limit, since code run into that limit leaves the
# garbage collector running finalizers at that depth, where they fail.
MAX_NESTING = 20  # brackets, blocks and unary operators inside each other; parsed ~15 frames each
MAX_CALL_DEPTH = 50  # calls inside calls while rendering (a macro calling itself)

_OPENERS = frozenset({"if", "for", "macro", "call", "filter", "with", "autoescape", "block",
                      "set", "trans"})
_UNARY = frozenset({("name", "not"), ("operator", "-"), ("operator", "+")})


def _nesting(env: Any, text: str) -> int:
    """How deep a template nests, from its tokens (the lexer is a loop, the parser is not)."""
    deepest = brackets = blocks = unary = 0
    tokens = [(kind, value) for _, kind, value in env.lex(text) if kind != "whitespace"]
    for i, (kind, value) in enumerate(tokens):
        if kind == "operator" and value in "([{":
            brackets += 1
        elif kind == "operator" and value in ")]}":
            brackets = max(brackets - 1, 0)
        elif kind == "name" and i and tokens[i - 1][0] == "block_begin":
            if value.startswith("end"):
                blocks = max(blocks - 1, 0)
            elif value in _OPENERS and not _assigns(tokens, i):
                blocks += 1
        unary = unary + 1 if (kind, value) in _UNARY else 0
        deepest = max(deepest, brackets + blocks + unary)
    return deepest


def _assigns(tokens: list[tuple[str, str]], i: int) -> bool:
    """`{% set x = ... %}` is a statement; `{% set x %}...{% endset %}` a block."""
    for kind, value in tokens[i:]:
        if kind == "block_end":
            return False
        if (kind, value) == ("operator", "="):
            return True
    return False


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    calls = threading.local()  # the swarm runner renders trials in threads

    class Sandbox(ImmutableSandboxedEnvironment):
        # Jinja's own dunder names: a template's keyword arguments may be called anything.
        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            depth = getattr(calls, "depth", 0)
            if depth >= MAX_CALL_DEPTH:
                raise SecurityError(f"calls nested more than {MAX_CALL_DEPTH} deep "
                                    f"(a macro calling itself?)")
            calls.depth = depth + 1
            try:
                return super().call(__context, __obj, *args, **kwargs)
            finally:
                calls.depth = depth

    # No {# comments #}: a shell's ${#VAR} would start one. Config files have their own.
    env = bounds.bounded_environment(Sandbox)(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
        finalize=_finalize, comment_start_string="\x00{#", comment_end_string="#}\x00")
    env.filters.update(bounds.bounded_filters(env.filters))
    env.filters["size"] = size
    env.filters["duration"] = duration
    return env


@dataclass(frozen=True)
class Rendered:
    """One container's command, env values and files for one trial."""

    command: list[str] | str | None
    env: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)  # path in the container -> text
    omitted: tuple[str, ...] = ()  # fields left out by {{ omit }}: "command.2", "env.X"


@dataclass(frozen=True)
class _Where:
    field: tuple[Any, ...]  # the job's field path
    file: str | None = None  # a template file, when the text came from one


class Templates:
    """A job's templates, compiled once; `render` gives every container's texts for a trial."""

    def __init__(self, job: Job, line: Callable[[tuple[Any, ...]], int | None] | None = None):
        self.job = job
        self._line = line or (lambda path: None)
        self._env = _environment() if self._any(job) else None
        self._compiled: dict[tuple[Any, ...], Any] = {}
        for where, text in self._texts():
            if is_template(text):
                self._compiled[where.field] = self._compile(where, text)

    @staticmethod
    def _any(job: Job) -> bool:
        for c in job.spec.containers.values():
            if c.files:
                return True
            words = c.command if isinstance(c.command, list) else [c.command]
            if any(is_template(w) for w in [*words, *c.env.values()]):
                return True
        return False

    def _texts(self):
        for cname, c in self.job.spec.containers.items():
            base = ("spec", "containers", cname)
            if isinstance(c.command, list):
                for i, word in enumerate(c.command):
                    yield _Where(base + ("command", i)), word
            elif c.command is not None:
                yield _Where(base + ("command",)), c.command
            for key, value in c.env.items():
                yield _Where(base + ("env", key)), value
            for path, f in c.files.items():
                where = ("files", path, "template" if f.template else "content")
                yield _Where(base + where, f.template), f.content or ""

    def _compile(self, where: _Where, text: str) -> Any:
        from jinja2 import TemplateSyntaxError

        try:
            if _nesting(self._env, text) > MAX_NESTING:
                raise self._error(where, f"template nests more than {MAX_NESTING} levels "
                                         f"deep (brackets, blocks, not/-)")
            return self._env.from_string(text)
        except TemplateSyntaxError as exc:
            raise self._error(where, f"template does not parse: {exc.message}",
                              exc.lineno) from None

    def _error(self, where: _Where, message: str, lineno: int | None = None) -> JobError:
        dotted = ".".join(str(p) for p in where.field)
        if where.file:  # the template file's own line
            return JobError(f"{self.job.source}", dotted,
                            f"{where.file}:{lineno}: {message}" if lineno else
                            f"{where.file}: {message}", self._line(where.field))
        return JobError(self.job.source, dotted, message, self._line(where.field))

    def check(self, values: dict[str, Any]) -> None:
        """Render every template with these values (the defaults); a JobError for the first
        that fails, with the unknown name and what it may have meant."""
        for where, _ in self._texts():
            if where.field in self._compiled:
                try:
                    text = self._render(where.field, values)
                except RecursionError:
                    raise  # a bound above is missing: a bug, not the user's
                except Exception as exc:  # noqa: BLE001 - any error of the user's expression
                    raise self._error(where, _explain(exc, values), _lineno(exc)) from None
                if OMIT in text and not _omittable(where.field):
                    raise self._error(where, _NO_OMIT)

    def render(self, values: dict[str, Any]) -> dict[str, Rendered]:
        """Every container's command, env values and files for a trial with these values; a
        template that fails on them fails the trial, with the field and the reason."""
        out: dict[str, Rendered] = {}
        for cname, c in self.job.spec.containers.items():
            base = ("spec", "containers", cname)
            try:
                if isinstance(c.command, list):
                    words = {("command", i): self._text(base + ("command", i), w, values)
                             for i, w in enumerate(c.command)}
                elif c.command is not None:
                    words = {("command",): self._text(base + ("command",), c.command, values)}
                else:
                    words = {}
                env = {("env", k): self._text(base + ("env", k), v, values)
                       for k, v in c.env.items()}
                files = {p: self._text(base + ("files", p, "template" if f.template
                                                else "content"), f.content or "", values)
                         for p, f in c.files.items()}
            except _Failed as exc:
                raise TrialFailed(f"template {exc.field}: {exc.reason}") from None
            omitted = tuple(".".join(map(str, k)) for k, t in {**words, **env}.items()
                            if OMIT in t)
            kept = [t for t in words.values() if OMIT not in t]
            command: Any = kept if isinstance(c.command, list) else (kept[0] if kept else None)
            out[cname] = Rendered(command, {k[1]: t for k, t in env.items() if OMIT not in t},
                                  files, omitted)
        return out

    def _text(self, path: tuple[Any, ...], raw: Any, values: dict[str, Any]) -> str:
        if path not in self._compiled:
            return _plain(raw)
        try:
            text = self._render(path, values)
        except RecursionError:
            raise  # a bound above is missing: a bug, not the user's
        except Exception as exc:  # noqa: BLE001 - any error of the user's expression
            raise _Failed(".".join(map(str, path)), _explain(exc, values)) from None
        if OMIT in text and not _omittable(path):
            raise _Failed(".".join(map(str, path)), _NO_OMIT)
        return text

    def _render(self, path: tuple[Any, ...], values: dict[str, Any]) -> str:
        # A parameter named omit is that parameter: the job's names come first.
        context = {"omit": OMIT, "params": dict(values), **values}
        return bounds.render_bounded(self._compiled[path], context)


_NO_OMIT = ("omit leaves out a word of a list command or an env variable; here it would be "
            "part of a text (write the command as a list to leave a word out)")


def _omittable(path: tuple[Any, ...]) -> bool:
    """A list command's word (spec.containers.NAME.command.I) or an env value."""
    return path[3:4] == ("env",) or (path[3:4] == ("command",) and len(path) == 5)


class _Failed(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def _plain(value: Any) -> str:
    return _finalize(value) if isinstance(value, bool) else str(value)


def _lineno(exc: Exception) -> int | None:
    """The template line an error happened on, from Jinja's rewritten traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _explain(exc: Exception, values: dict[str, Any]) -> str:
    from jinja2 import UndefinedError

    if isinstance(exc, bounds.TooSlow):
        return f"template stopped: still rendering after {bounds.SECONDS:g} s (a template " \
               f"may work for {bounds.SECONDS:g} s)"
    if isinstance(exc, bounds.TooBig):
        return f"template stopped: {exc}"
    if isinstance(exc, UndefinedError):
        text = exc.message or str(exc)
        name = text.split("'")[1] if text.count("'") >= 2 and text.endswith("is undefined") \
            else None
        if name is not None:
            hint = difflib.get_close_matches(name, list(values), n=1)
            tail = f"; did you mean '{hint[0]}'?" if hint else \
                f"; parameters: {', '.join(values) or 'none'}"
            return f"unknown name '{name}' in template{tail}"
        return f"template: {text}"
    return f"template failed: {type(exc).__name__}: {exc}"
