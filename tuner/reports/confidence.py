"""How sure a best is, in sentences: the confirmed winner against the runner-up and the
baseline (the numbers come from tuner.selection, stored with the study)."""

from __future__ import annotations

from typing import Any

from ..format import noise_text, race_text  # noqa: F401 - the report's too
from ..selection import config_key


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _side_by_side(pair: dict[str, Any]) -> str:
    text = f"{_pct(pair['ratio'] - 1)} side by side over {pair['rounds']} round(s)"
    if pair["ci"]:
        text += f", 95% interval {_pct(pair['ci'][0] - 1)} .. {_pct(pair['ci'][1] - 1)}"
    return text


def confirmation_verdict(summary: dict[str, Any]) -> list[str]:
    """The confirmed result in sentences a person can act on."""
    w = summary["winner"]
    over = "re-run(s)" if w.get("measured_on") == "re-runs" else "measurement(s)"
    lines = [f"confirmed best: median {w['median']:.6g} over {w['n']} {over}"
             + (f", 95% interval {w['ci'][0]:.6g} .. {w['ci'][1]:.6g}" if w["ci"] else "")]
    r, b = summary.get("runner_up"), summary.get("baseline")
    if r:
        vs = summary.get("vs_runner_up")
        against = f"the runner-up (median {r['median']:.6g})" + (
            f": {_side_by_side(vs)}" if vs else "")
        if summary["distinct_from_runner_up"]:
            lines.append(f"against {against}: distinguishable")
        else:
            lines.append(f"against {against}: NOT distinguishable, more confirmation rounds "
                         f"(--confirm-runs) would tell")
    if b and config_key(w["params"]) == config_key(b["params"]):
        lines.append("the default configuration is itself the best: nothing measured beat it")
    elif b:
        vs = summary.get("vs_baseline")
        change = summary.get("change_vs_baseline")
        if vs:
            how = f": {_side_by_side(vs)}"
        else:
            how = f" ({_pct(change)})" if change is not None else ""
        over = "re-run(s)" if b.get("measured_on") == "re-runs" else "measurement(s)"
        against = f"against the baseline (median {b['median']:.6g} over {b['n']} {over}){how}"
        if summary["distinct_from_baseline"]:
            lines.append(f"{against}: a real difference")
        elif summary["distinct_from_baseline"] is False:
            lines.append(f"{against}: NOT distinguishable from noise")
        else:
            lines.append(f"{against}: measure more (--confirm-runs, --rebaseline) to tell")
    return lines
