"""What `tuner profile` prints: top functions, a comparison by parameter, two trials' diff,
with amounts as pprof prints them."""

from __future__ import annotations

from typing import Any

from ...format import fmt as _fmt
from ..output import console as _console


def top(data: dict[str, Any], where: str) -> None:
    from rich.table import Table

    con = _console()
    total = data["total"]
    unit = data["unit"]
    con.print(f"{where}: {data['sample_type']} ({unit}), total {_amount(total, unit)}")
    t = Table()
    for col in ("flat", "flat%", "cum", "cum%"):
        t.add_column(col, justify="right")
    t.add_column("function")
    for f in data["functions"]:
        t.add_row(_amount(f["flat"], unit), _share(f["flat"], total), _amount(f["cum"], unit),
                  _share(f["cum"], total), f["name"])
    con.print(t)



def compare(data: dict[str, Any], param: str, container: str | None) -> None:
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{data['sample_type']}[/] ({data['unit']}) by [bold]{param}[/]"
              + (f", container {container}" if container else ", all containers"))
    t = Table()
    t.add_column(param, justify="right")
    t.add_column("trials", justify="right")
    t.add_column("total", justify="right")
    t.add_column("top functions (share of total)")
    for g in data["groups"]:
        tops = "\n".join(f"{100 * f['share']:5.1f}%  {f['name']}" for f in g["functions"])
        t.add_row(_fmt(g["value"], data.get("param_unit")), str(g["trials"]),
                  _amount(g["total"], data["unit"]), tops)
    con.print(t)
    if data["movers"]:
        con.print("[bold]moves most[/] (share per value, in the order above):")
        for m in data["movers"]:
            shares = " → ".join(f"{100 * s:.1f}%" for s in m["shares"])
            con.print(f"  {m['name']}: {shares}  (spread {100 * m['change']:.1f} points)")



def diff(data: dict[str, Any], trial_a: int, trial_b: int) -> None:
    from rich.table import Table

    con = _console()
    unit = data["unit"]
    con.print(f"{data['sample_type']} ({unit}): trial {trial_a} total "
              f"{_amount(data['total_a'], unit)}, trial {trial_b} total "
              f"{_amount(data['total_b'], unit)}")
    t = Table()
    for col in (f"trial {trial_a}", f"trial {trial_b}", "change", "share", "function"):
        t.add_column(col, justify="left" if col == "function" else "right")
    for f in data["functions"]:
        sign = "+" if f["delta"] >= 0 else "-"
        t.add_row(_amount(f["flat_a"], unit), _amount(f["flat_b"], unit),
                  sign + _amount(abs(f["delta"]), unit),
                  f"{100 * f['share_a']:.1f}% → {100 * f['share_b']:.1f}%", f["name"])
    con.print(t)



def _amount(value: float, unit: str) -> str:
    """A profile value in its unit, as pprof prints it: 1.2s, 35.1MB, 120."""
    if unit == "nanoseconds":
        for scale, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.3g}{suffix}"
        return f"{value:g}ns"
    if unit == "bytes":
        for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:.3g}{suffix}"
        return f"{value:g}B"
    return f"{value:g}"


def _share(value: float, total: float) -> str:
    return f"{100 * value / total:.1f}%" if total else "-"
