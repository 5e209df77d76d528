"""Bounds on a template's work. Jinja's sandbox limits what a template may touch, not how much
it computes, and a template renders inside tuner's own process. So:

- size: a rendered value, and what one operation makes (`'a' * n`, `x ** n`, `+`, `%`
  formatting, widths given to `center`/`ljust`/`format`..., `replace`, `join`, `sum`), is at
  most MAX_TEXT characters or items (an int at most MAX_BITS bits); refused before it is made;
- time: a value renders within SECONDS, or it is stopped (between two steps of the template's
  loops: one step of C code is bounded by the size rule).

Pure standard library; the environment class is made from Jinja's, which is imported late.
"""

from __future__ import annotations

import ctypes
import re
import threading
import time
from typing import Any, Iterable

MAX_TEXT = 1 << 20  # 1 MiB: far past a config file or a command line, far below harm
MAX_BITS = 1 << 16  # an int of about 20,000 digits
SECONDS = 1.0
_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill", "expandtabs"}
_NUMBER = re.compile(r"\d{7,}")  # a width or precision written in a format string


class TooBig(Exception):
    """An operation would have made more than the limit allows."""


class TooSlow(Exception):
    """Raised inside the rendering thread when its time is up."""


def _over(n: int, what: str) -> TooBig:
    return TooBig(f"{what} would make {n:,} characters or items; a template may make at most "
                  f"{MAX_TEXT:,} (1 MiB)")


def _ints(*values: Any) -> bool:
    return all(isinstance(v, int) for v in values)


def _bits(n: int, what: str) -> TooBig:
    return TooBig(f"{what} would make a number of about {n:,} bits; a template may make at "
                  f"most {MAX_BITS:,}")


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        if _ints(left, right) and left.bit_length() + right.bit_length() > MAX_BITS:
            raise _bits(left.bit_length() + right.bit_length(), "'*'")
        seq, n = (right, left) if isinstance(left, int) else (left, right)
        if isinstance(seq, (str, list, tuple, bytes)) and isinstance(n, int) and \
                len(seq) * n > MAX_TEXT:
            raise _over(len(seq) * n, "'*'")
    elif operator == "**":
        if _ints(left, right) and abs(left) > 1 and right * left.bit_length() > MAX_BITS:
            raise _bits(right * left.bit_length(), "'**'")
    elif operator == "+":
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)) \
                and len(left) + len(right) > MAX_TEXT:
            raise _over(len(left) + len(right), "'+'")
    elif operator == "%" and isinstance(left, str):
        check_widths(left, right if isinstance(right, tuple) else (right,))


def check_widths(fmt: str, args: Iterable[Any] = ()) -> None:
    """A format string (printf or str.format style) asking for a huge width or precision."""
    for number in _NUMBER.findall(fmt):
        if int(number) > MAX_TEXT:
            raise _over(int(number), "a width in a format string")
    if "*" in fmt or "{" in fmt:  # a width given as an argument
        _check_ints(list(args), "a width")


def _check_ints(values: Iterable[Any], what: str) -> None:
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and v > MAX_TEXT:
            raise _over(v, what)


def check_call(obj: Any, args: tuple, kwargs: dict) -> tuple:
    """Refuses a str method call that would make too much; returns the args to call with."""
    name, owner = getattr(obj, "__name__", ""), getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return args
    if name in _WIDTH_METHODS:
        _check_ints([*args, *kwargs.values()], f"{name}()")
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        count = owner.count(old) if old else len(owner) + 1
        made = len(owner) + count * (len(new) - len(old))
        if made > MAX_TEXT:
            raise _over(made, "replace()")
    elif name == "join" and args:
        items = list(args[0])
        check_join(owner, items)
        return (items, *args[1:])
    return args


def check_join(sep: str, items: list) -> None:
    made = len(sep) * max(len(items) - 1, 0) + sum(len(str(x)) for x in items)
    if made > MAX_TEXT:
        raise _over(made, "join")


def bounded_filters(filters: dict) -> dict:
    """Jinja's filters that can make much from little, with the size rule before them."""
    center, indent, fmt = filters["center"], filters["indent"], filters["format"]
    replace, join, total = filters["replace"], filters["join"], filters["sum"]

    def b_center(value: Any, width: int = 80) -> str:
        _check_ints([width], "center")
        return center(value, width)

    def b_indent(s: Any, width: Any = 4, *args: Any, **kwargs: Any) -> str:
        text = str(s)
        if isinstance(width, int) and width * (text.count("\n") + 1) + len(text) > MAX_TEXT:
            raise _over(width * (text.count("\n") + 1) + len(text), "indent")
        return indent(s, width, *args, **kwargs)

    def b_format(value: Any, *args: Any, **kwargs: Any) -> str:
        check_widths(str(value), args)
        return fmt(value, *args, **kwargs)

    def b_replace(ctx: Any, s: Any, old: str, new: str, count: int | None = None) -> str:
        check_call(str(s).replace, (old, new), {})
        return replace(ctx, s, old, new, count)

    def b_join(ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
        items = list(value)
        check_join(str(d), items)
        return join(ctx, items, d, attribute)

    def b_sum(env: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if not isinstance(start, (int, float)):  # adding lists or strings: one step at a time
            out = start
            for x in iterable:
                check_binop("+", out, x)
                out = out + x
            return out
        return total(env, iterable, attribute, start)

    for f, like in ((b_replace, replace), (b_join, join), (b_sum, total)):
        # Jinja passes the context or the environment first to the filters marked so.
        f.jinja_pass_arg = getattr(like, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return {"center": b_center, "indent": b_indent, "format": b_format, "replace": b_replace,
            "join": b_join, "sum": b_sum}


def bounded_environment(base: type) -> type:
    """A subclass of a Jinja sandboxed environment that applies the size rule."""

    class Bounded(base):  # type: ignore[misc, valid-type]
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            args = check_call(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

        def wrap_str_format(self, value: Any) -> Any:
            owner = getattr(value, "__self__", None)
            if isinstance(owner, str):
                check_widths(owner)
            return super().wrap_str_format(value)

    return Bounded


def render_bounded(template: Any, context: dict) -> str:
    """The template's text, at most MAX_TEXT characters, made within SECONDS."""
    out, size = [], 0
    with _Deadline(SECONDS):
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_TEXT:
                raise TooBig(f"the rendered text is over {MAX_TEXT:,} characters (1 MiB)")
            out.append(piece)
    return "".join(out)


class _Deadline:
    """Raises TooSlow in this thread once `seconds` have passed (at its next Python step).
    One watchdog thread serves every rendering thread: entering costs no thread start."""

    _lock = threading.Condition()
    _due: dict[int, float] = {}  # rendering thread -> its deadline (monotonic)
    _fired: set[int] = set()
    _watchdog: threading.Thread | None = None

    def __init__(self, seconds: float):
        self._seconds = seconds

    def __enter__(self) -> "_Deadline":
        cls, tid = type(self), threading.get_ident()
        with cls._lock:
            cls._due[tid] = time.monotonic() + self._seconds
            cls._fired.discard(tid)
            if cls._watchdog is None:
                cls._watchdog = threading.Thread(target=cls._watch, name="template-deadline",
                                                 daemon=True)
                cls._watchdog.start()
            cls._lock.notify()
        return self

    @classmethod
    def _watch(cls) -> None:
        with cls._lock:
            while True:
                now = time.monotonic()
                for tid, due in list(cls._due.items()):
                    if due <= now:
                        del cls._due[tid]
                        cls._fired.add(tid)
                        _raise_in(tid, TooSlow)
                cls._lock.wait(min(cls._due.values(), default=now + 60) - now)

    def __exit__(self, kind: Any, *rest: Any) -> None:
        cls, tid = type(self), threading.get_ident()
        with cls._lock:
            cls._due.pop(tid, None)
            fired = tid in cls._fired
            cls._fired.discard(tid)
        if fired:
            _raise_in(tid, None)  # not delivered yet: it must not land elsewhere
            if kind is None or not issubclass(kind, TooSlow):
                raise TooSlow()


def _raise_in(tid: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid),
                                               ctypes.py_object(exc) if exc else None)
