"""How values look to a person, the same in the terminal, the progress lines, the report and
the dashboard note. The one formatter: `--json` keeps the exact values."""

from __future__ import annotations

import statistics
from typing import Any, Callable, Sequence

SHOWN = 5  # lists longer than this are summarized (n, median, min .. max); --json has them all


def fmt(value: Any, unit: str | None = None) -> str:
    """A value as a person reads it; a parameter written with units (`unit`: "bytes" or
    "seconds") shows them again: 134217728 -> 128m, 2310881 -> 2.2m (sampled sizes that are
    not a whole number of k, m or g show three significant digits)."""
    if value is None:
        return "-"
    if unit and isinstance(value, (int, float)) and not isinstance(value, bool):
        if unit == "bytes" and float(value).is_integer():
            return show_size(int(value))
        if unit == "seconds":
            return format_duration(float(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def params_text(params: dict[str, Any], units: dict[str, str] | None = None) -> str:
    units = units or {}
    return " ".join(f"{k}={fmt(v, units.get(k))}" for k, v in params.items())


def values_text(values: Sequence[Any], show: Callable[[Any], str] = fmt) -> str:
    """A list of values for a person: all of them when there are few; past SHOWN, how many,
    their median and their range (the full list is in --json)."""
    if len(values) <= SHOWN:
        return ", ".join(show(v) for v in values)
    numbers = sorted(float(v) for v in values)
    return (f"{len(values)} values, median {show(statistics.median(numbers))}, "
            f"{show(numbers[0])} .. {show(numbers[-1])}")


_SIZES = (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024))


def format_size(n: int) -> str:
    """Bytes in the largest unit that divides them exactly: 4g, 512m, 1000. Exact, so
    templates can put it into a program's config."""
    for suffix, unit in _SIZES:
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def show_size(n: int) -> str:
    """Bytes for reading: exact when a unit divides them (128m), else three significant
    digits of the largest unit below them (2310881 -> 2.2m)."""
    exact = format_size(n)
    if not exact.isdigit() or abs(n) < 1024:
        return exact
    suffix, unit = next((s, u) for s, u in _SIZES if abs(n) >= u)
    return f"{n / unit:.3g}{suffix}"


def format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def noise_text(noise: dict[str, Any] | None) -> str | None:
    """The study's measured noise in one line (what every interval is held to)."""
    if not noise:
        return None
    parts = []
    if noise.get("cv") is not None:
        parts.append(f"{100 * noise['cv']:.1f}% per run (pooled over "
                     f"{noise['configurations']} configuration(s) run more than once)")
    if noise.get("pair_sd") is not None:
        parts.append(f"{100 * noise['pair_sd']:.1f}% side by side (over "
                     f"{noise['pair_df']} degree(s) of freedom)")
    if noise.get("drift") is not None:
        parts.append(f"the default {_signed_pct(noise['drift'])} from its first run to its last")
    return "; ".join(parts) or None


def race_text(summary: dict[str, Any] | None) -> str | None:
    """What a racing search did, and why it stopped."""
    race = (summary or {}).get("race")
    if not race:
        return None
    text = (f"racing: {race['candidates']} candidate(s), {race['dropped_after_one_run']} "
            f"dropped after one run, {race['raced']} raced, {race['won']} won")
    return text + (f"; stopped: {race['stopped']}" if race.get("stopped") else "")


def warm_start_text(summary: dict[str, Any]) -> str:
    """What a warm start used and dropped, in a sentence or three (tuner.warmstart)."""
    where = "this study's trials on other workload values" if summary.get("workloads") \
        else f"study '{summary['study']}' ({summary['storage']})"
    text = (f"warm start from {where}: {summary['used']} of {summary['trials']} finished "
            f"trial(s) inform the sampler (a prior, not results)")
    dropped = summary.get("dropped") or {}
    if dropped:
        text += "; dropped: " + ", ".join(f"{n} trial(s) ({why})" for why, n in dropped.items())
    params = summary.get("parameters_dropped") or {}
    if params:
        text += "; parameters left out: " + ", ".join(f"{n} ({why})" for n, why in params.items())
    if summary.get("new_parameters"):
        text += "; new here, no prior: " + ", ".join(summary["new_parameters"])
    if summary.get("seeds"):
        text += f"; its {summary['seeds']} best configuration(s) run first"
    return text
