"""How values look to a person, the same in the terminal, the progress lines and the report."""

from __future__ import annotations

from typing import Any


def fmt(value: Any, unit: str | None = None) -> str:
    """A value as a person reads it; a parameter written with units (`unit`: "bytes" or
    "seconds") shows them again: 134217728 -> 128m."""
    if value is None:
        return "-"
    if unit and isinstance(value, (int, float)) and not isinstance(value, bool):
        if unit == "bytes" and float(value).is_integer():
            return format_size(int(value))
        if unit == "seconds":
            return format_duration(float(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def params_text(params: dict[str, Any], units: dict[str, str] | None = None) -> str:
    units = units or {}
    return " ".join(f"{k}={fmt(v, units.get(k))}" for k, v in params.items())


def format_size(n: int) -> str:
    """Bytes in the largest unit that divides them exactly: 4g, 512m, 1000."""
    for suffix, unit in (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"
