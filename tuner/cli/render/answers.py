"""What the answers print: importance (both questions) and a parameter's effect."""

from __future__ import annotations

from typing import Any

from ...format import SHOWN
from ...format import fmt as _fmt
from ...format import params_text as _params_text
from ...format import values_text as _values_text
from ..output import console as _console


def importance(con: Any, study: str, g: Any, among_best: bool) -> None:
    from rich.table import Table

    where = f" for workload {_params_text(g.workload)}" if g.workload else ""
    con.print(f"study '{study}'{where}: parameter importance")
    if not g.shares:
        con.print(f"[yellow]{g.note}[/]")
    else:
        con.print(f"  [bold]overall[/] (fANOVA over {g.over}): each parameter's share of the "
                  f"score's variation")
        con.print(f"  [bold]among the best[/] (PED-ANOVA, the chart optuna-dashboard draws): "
                  f"what still sets {g.best_over}; a knob the search has settled (the best "
                  f"trials all have it right) scores low here however much it matters overall")
        first, second = (g.among_best, g.shares) if among_best else (g.shares, g.among_best)
        t = Table()
        t.add_column("parameter")
        for col in (("among the best", "", "overall") if among_best
                    else ("overall", "", "among the best")):
            t.add_column(col, justify="right" if col else "left")
        for param in sorted(first, key=lambda p: -first[p]):
            share, other = first[param], second.get(param)
            t.add_row(param, f"{share:.1%}", "█" * max(1, round(share * 20)) if share else "",
                      f"{other:.1%}" if other is not None else "-")
        con.print(t)
    if g.constant:
        con.print(f"never varied, so no evidence: {', '.join(g.constant)}")



def effect(e: Any, study: str) -> None:
    from rich.table import Table

    con = _console()
    others = {k: v for k, v in e.base.params.items() if k != e.param}
    con.print(f"[bold]{e.param}[/] in study '{study}' ({e.direction}), {e.trials} complete "
              f"trial(s); the best is trial {e.base.number}, score {_fmt(e.base.value)}, at "
              f"{e.param}={e.show(e.param, e.base.params[e.param])}")
    con.print(f"[bold]1. scores per value of {e.param}[/] (all complete trials; other "
              f"parameters vary)")
    t = Table()
    for col in (e.param, "trials", "best", "median", "middle half (q1 .. q3)", "min .. max"):
        t.add_column(col, justify="right")
    for lv in e.marginal:
        t.add_row(lv.label, str(lv.count), _fmt(lv.best), _fmt(lv.median),
                  f"{_fmt(lv.q1)} .. {_fmt(lv.q3)}", f"{_fmt(lv.min)} .. {_fmt(lv.max)}")
    con.print(t)
    hood = e.neighbourhood
    con.print(f"[bold]2. around the best[/]: trials with {hood.rule} "
              f"({_params_text(others, e.units) or 'no other parameters'})")
    t = Table()
    for col in (e.param, "trials", "median", "scores (trial: score, distance)"):
        t.add_column(col, justify="right" if col != "scores (trial: score, distance)" else "left")
    by_number = {n.number: n for n in hood.points}
    for lv in hood.levels:
        pts = [by_number[n] for n in lv.numbers]
        shown = ", ".join(f"#{p.number}: {_fmt(p.score)}"
                          + (f" ({p.distance:.2f})" if p.distance else "") for p in pts[:SHOWN])
        if len(pts) > SHOWN:  # the rest summarised; --json has every point
            shown += f", ... (all {_values_text([p.score for p in pts])})"
        mark = " ◀ best" if e.base.number in lv.numbers else ""
        t.add_row(lv.label + mark, str(lv.count), _fmt(lv.median), shown)
    con.print(t)
    v = e.verdict
    color = {"helps": "green", "hurts": "red"}.get(v.answer, "yellow")
    answer = f"[bold {color}]{v.answer.upper()}[/]" + (f" (leaning {v.leaning})"
                                                       if v.leaning else "")
    con.print(f"[bold]3. raising {e.param} from {e.show(e.param, v.base)}:[/] {answer}")
    con.print(f"   {v.because}")
    if e.edge is not None and e.edge.side != "max":  # the max case is already in `because`
        con.print(f"[yellow]note:[/] {e.edge.hint}")
    if v.answer == "unclear" and "--measure" not in v.because:
        con.print(f"   to measure it: tuner effect {e.param} --measure")

