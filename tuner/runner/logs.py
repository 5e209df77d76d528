"""The engine's log stream, read back into what the program printed.

With `timestamps=True` the engine puts 'RFC3339Nano ' before each message it logged: a line the
program ended with '\\n' (kept), a 16 KiB piece of a longer line, or what was left unterminated
when the program ended. Only those stamps are taken off; everything else, '\\r' redraws and
other separators included, is kept byte for byte (undecodable bytes as surrogate escapes, so
writing the text back with errors='surrogateescape' gives the program's bytes)."""

from __future__ import annotations

import re
import time

from .base import LogLine

# What the engine writes: RFC3339NanoFixed (9 digits); trimmed fractions are accepted too.
_STAMP = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) ")
PIECE = 16 * 1024  # the engine logs a line longer than this in pieces, each stamped


def parse_log(raw: bytes) -> list[LogLine]:
    """The program's lines (each as printed, '\\n' taken off and noted in `end`) with the time
    the engine stamped on their first piece."""
    out: list[LogLine] = []
    pos, n = 0, len(raw)
    while pos < n:
        stamp, text, pos = _message(raw, pos)
        parts, first = [text], stamp
        while not text.endswith(b"\n") and pos < n:  # a long line's pieces
            stamp, text, pos = _message(raw, pos)
            parts.append(text)
        line = b"".join(parts)
        end = "\n" if line.endswith(b"\n") else ""
        out.append(LogLine(stamp_key(first), _decode(line[:-1] if end else line), end))
    return out


def _message(raw: bytes, pos: int) -> tuple[str, bytes, int]:
    """One stamped message at `pos`: its stamp, its bytes, where the next one starts."""
    m = _STAMP.match(raw, pos)
    stamp = m.group(1).decode() if m else ""
    start = m.end() if m else pos
    nl = raw.find(b"\n", start)
    end = nl + 1 if nl >= 0 else len(raw)
    # A piece of a long line is exactly PIECE bytes, and the next piece's stamp follows it.
    if m and end - start > PIECE and _STAMP.match(raw, start + PIECE):
        end = start + PIECE
    return stamp, raw[start:end], end


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def stamp_key(stamp: str) -> tuple[int, int]:
    # Trailing zeros of the nanoseconds may be trimmed, so compare numbers, not strings.
    import calendar

    try:
        main, _, frac = stamp.rstrip("Z").partition(".")
        secs = calendar.timegm(time.strptime(main[:19], "%Y-%m-%dT%H:%M:%S"))
        return secs, int((frac + "000000000")[:9]) if frac else 0
    except ValueError:
        return 0, 0
