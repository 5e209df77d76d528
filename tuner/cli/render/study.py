"""What the study commands print: validation, the best configuration (or the Pareto front),
trials, a trial's runs, the studies of a storage."""

from __future__ import annotations

import math
from typing import Any, Callable

from ...format import fmt as _fmt
from ...format import format_duration, format_size, noise_text, race_text, warm_start_text
from ...format import params_text as _params_text
from ...format import values_text as _values_text
from ..output import console as _console
from ..output import printable as _printable


def _text(value: Any) -> Any:
    """The job's own words: never markup, always printable."""
    from rich.text import Text

    return Text(_printable(str(value)))


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**30 else f"about 10^{int(math.log10(n))}"


def validation(v: Any) -> None:
    """A valid job: what it measures, its parameters, containers, commands and files."""
    from rich.markup import escape

    con = _console()
    job, obj = v.job, v.job.objective
    source = f"regex {obj.regex!r}" if obj.regex else f"file {obj.file}"
    con.print(f"[bold]{escape(_printable(job.source))}[/] is valid: study "
              f"[bold]{escape(_printable(str(job.name)))}[/], "
              + (f"{obj.direction} the score from " if not job.objectives else "the score from ")
              + f"{escape(_printable(str(obj.container)))} ({escape(_printable(source))})")
    for name, m in job.metrics.items():
        where = f"regex {m.regex!r}" if m.regex else f"file {m.file}"
        con.print(_text(f"metric {name}: from {m.container} ({where})"))
    if job.objectives:
        con.print(_text("objectives (Pareto front): " if len(job.objectives) > 1 else
                        "objective: ")
                  + _text(", ".join(f"{g.direction} {g.name}" for g in job.objectives)))
    if job.constraints:
        con.print(_text(f"constraints: {'; '.join(job.constraints)}"))
    if obj.progress is not None:
        con.print(_text(f"progress: regex {obj.progress.regex!r} in {obj.progress.container}'s "
                        f"log while it runs (trials clearly worse at the same step are pruned)"))
    _parameters(con, v)
    _containers(con, v)
    _commands(con, v, _text)
    if v.files:
        con.print("[bold]files[/] (rendered per trial, mounted read-only)")
        for cname, path, rel in v.files:
            con.print(_text(f"  {cname}:{path}  <- {rel}"))
    runs, workloads = v.runs_per_trial
    if runs > 1:
        con.print(f"each trial runs the containers {runs} times: {workloads} workload "
                  f"value(s) x ({job.warmup} warm-up + {job.repeat} measured); its value is "
                  f"the {obj.aggregate} over workloads of the {job.statistic} of the repeats")


def _parameters(con: Any, v: Any) -> None:
    from rich.table import Table

    con.print("[bold]parameters[/]")
    t = Table()
    for col in ("name", "env", "kind", "values", "count", "default"):
        t.add_column(col)
    for d in v.space.dims.values():
        kind = d.kind + (f" (workload: {v.space.workload[d.name]})" if d.role == "workload"
                         else "")
        default = "-" if d.default is None else d.show(d.default) if d.kind != "enum" \
            else _fmt(d.default)
        t.add_row(_text(d.name), _text(d.env), _text(kind), _text(d.describe()),
                  _count(d.count) if d.count is not None else "continuous", _text(default))
    con.print(t)


def _containers(con: Any, v: Any) -> None:
    """The containers of a trial, how it ends, and the grid's size."""
    from rich.table import Table

    spec, size = v.job.spec, v.space.grid_size
    con.print("[bold]containers[/]")
    c = Table()
    for col in ("name", "image", "cpu", "ram", "output"):
        c.add_column(col)
    for name, ct in spec.containers.items():
        c.add_row(_text(name), _text(ct.image), _fmt(ct.cpu),
                  format_size(ct.ram) if ct.ram else "-", _text(ct.output or "-"))
    con.print(c)
    end = f"when {spec.until} exits" if spec.until else "when all containers exit"
    grid = f"{_count(size)} points" if size is not None else "none (a float range has no step)"
    if v.grid_too_big:
        grid += f" (too many for --sampler grid, over {v.max_grid:,}: use TPE)"
    con.print(_text(f"a trial ends {end}, or is killed after {format_duration(spec.timeout)}; "
                    f"grid: {grid}"))


def _commands(con: Any, v: Any, text: Callable[[Any], Any]) -> None:
    import shlex

    commands = v.default_commands()
    if not commands:
        return
    con.print("[bold]commands[/] (with the defaults; a list command's word or an env value "
              "that renders {{ omit }} is left out)")
    for name, (command, omitted) in commands.items():
        shown = shlex.join(command) if isinstance(command, list) else command or "(image's)"
        con.print(text(f"  {name}: {shown}" + (f"  (left out: {', '.join(omitted)})"
                                              if omitted else "")))


def best(con: Any, best: dict[str, Any], caption: str = "") -> None:
    """The best configuration, beside the default one when the study measured it."""
    from rich.table import Table

    if best.get("front") is not None:
        _front(con, best, caption)
        return
    base = best.get("baseline")
    label = (best.get("objectives") or [{"name": "score"}])[0]["name"]
    if best.get("chosen_on"):
        _chosen(con, best, label, caption)
    else:
        con.print(f"[bold]best:[/] trial {best['number']}, {label} [bold]{_fmt(best['value'])}"
                  f"[/]" + (f"  ({caption})" if caption else ""))
    t = Table()
    t.add_column("parameter")
    if base:
        t.add_column(f"default (trial {base['number']})", justify="right")
    t.add_column("chosen" if best.get("chosen_on") else f"best (trial {best['number']})",
                 justify="right")
    units = best.get("units") or {}
    for k, v in best["params"].items():
        t.add_row(k, *([_fmt(base["params"].get(k), units.get(k))] if base else []),
                  _fmt(v, units.get(k)))
    if base:
        t.add_section()
        t.add_row(label, _fmt(base["value"]), _fmt(best["value"]))
    for name in _shown_metrics(best):
        if name == label:
            continue
        t.add_row(name, *([metric(base, name)] if base else []), metric(best, name))
    con.print(t)
    _feasibility(con, best)
    if best.get("change_vs_baseline") is not None and not best.get("chosen_on"):
        con.print(f"the best configuration's {label} is "
                  f"{100 * best['change_vs_baseline']:+.1f}% against the default's")
    drift = best.get("baseline_drift")
    if drift and best.get("drift") is not None:
        values = _values_text([d["value"] for d in drift])
        con.print(f"the default configuration re-measured: {values} "
                  f"(drift {100 * best['drift']:+.1f}% from first to last)")
    confirmed = best.get("confirmed")
    if confirmed:
        w = confirmed["winner"]
        con.print(f"[bold]after confirmation[/]: {_params_text(w['params'], units)}")
        for line in confirmed["verdict"]:
            con.print(f"  {line}")
    if noise_text(best.get("noise")):
        con.print(f"noise: {noise_text(best.get('noise'))}")
    if best.get("warm_start"):
        con.print(warm_start_text(best["warm_start"]))


def _chosen(con: Any, best: dict[str, Any], label: str, caption: str) -> None:
    """One answer first: the configuration chosen on side-by-side runs, its gain with the
    interval; the single luckiest trial below, as what it is."""
    how = "raced" if best["chosen_on"] == "race" else "confirmed"
    con.print(f"[bold]best ({how}, side by side with the default):[/] "
              f"{_params_text(best['params'], best.get('units') or {})}"
              + (f"  ({caption})" if caption else ""))
    change, ci = best.get("change_vs_baseline"), best.get("change_vs_baseline_ci")
    if change is not None:
        interval = f", 95% interval {100 * ci[0]:+.1f}% .. {100 * ci[1]:+.1f}%" if ci else ""
        con.print(f"  {label} [bold]{100 * change:+.1f}%[/] against the default{interval}; "
                  f"median {_fmt(best['value'])} over {best.get('runs')} run(s)")
    single = best.get("best_single_run")
    if single:
        con.print(f"  (one run: trial {single['number']} scored {_fmt(single['value'])}, "
                  f"the search's luckiest measurement; not the answer)")
    if race_text(best.get("confirmed")):
        con.print(f"  {race_text(best.get('confirmed'))}")


def _shown_metrics(best: dict[str, Any]) -> list[str]:
    """The metrics worth a row: the job's own and the trial's totals (not per container); the
    score too when an objective is not the score."""
    named = [o["name"] for o in best.get("objectives") or []]
    return [n for n in (best.get("metrics") or {})
            if "." not in n and (n != "score" or "score" not in named and named)]


def metric(row: dict[str, Any] | None, name: str) -> str:
    value = ((row or {}).get("metrics") or {}).get(name)
    if value is not None and name.split(".")[0] == "peak_memory":
        return mib(value)
    if value is not None and name.split(".")[0] == "cpu_seconds":
        return f"{value:.2f}s"
    return _fmt(value)


def _feasibility(con: Any, best: dict[str, Any]) -> None:
    if best.get("constraints") is None:
        return
    base = best.get("baseline") or {}
    kept = "; ".join(best["constraints"])
    con.print(f"constraints: {kept}: {best['feasible']} complete trial(s) kept them, "
              f"{best['infeasible']} did not (infeasible); only a feasible one is named best"
              + ("; the default configuration did not keep them"
                 if base.get("feasible") is False else ""))


def _front(con: Any, best: dict[str, Any], caption: str) -> None:
    """Several objectives: every configuration no other beats on all of them, beside the
    default."""
    from rich.table import Table

    objectives = best["objectives"]
    front = best["front"]
    names = ", ".join(f"{o['direction']} {o['name']}" for o in objectives)
    con.print(f"[bold]Pareto front[/]: {len(front)} configuration(s) no other trial beats on "
              f"every objective ({names})" + (f"  ({caption})" if caption else ""))
    base = best.get("baseline")
    units = best.get("units") or {}
    t = Table()
    t.add_column("trial", justify="right")
    for o in objectives:
        t.add_column(o["name"], justify="right")
    params = list(best["params"])
    for p in params:
        t.add_column(p, justify="right")
    if base and base.get("values"):
        t.add_row(f"default ({base['number']})", *(_fmt(v) for v in base["values"]),
                  *(_fmt(base["params"].get(p), units.get(p)) for p in params))
        t.add_section()
    for row in front:
        change = row.get("change_vs_baseline") or []
        cells = [_fmt(v) + (f" ({100 * c:+.0f}%)" if c is not None else "")
                 for v, c in zip(row["values"], change + [None] * len(row["values"]))]
        t.add_row(str(row["number"]), *cells,
                  *(_fmt(row["params"].get(p), units.get(p)) for p in params))
    con.print(t)
    _feasibility(con, best)
    confirmed = best.get("confirmed")
    if confirmed:
        w = confirmed["winner"]
        con.print(f"[bold]after confirmation[/] (judged on {objectives[0]['name']}): "
                  f"{_params_text(w['params'], units)}")
        for line in confirmed["verdict"]:
            con.print(f"  {line}")


def per_workload(con: Any, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table()
    for col in ("workload", "best trial", "its score", "overall best there", "cost"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    for row in rows:
        cost = row["cost_of_one_config"]
        t.add_row(row["workload"], str(row["number"]), _fmt(row["value"]),
                  _fmt(row["overall_best_value"]),
                  f"{100 * cost:+.1f}%" if cost is not None else "-")
    con.print("per workload (cost: the overall best configuration against the workload's "
              "own best):")
    con.print(t)



def trials(name: str, rows: list[dict[str, Any]], objectives: list[str],
           units: dict[str, str], last: int, show_all: bool) -> None:
    """A study's trials, the latest `last` unless `show_all`."""
    from rich.table import Table

    params = list(dict.fromkeys(k for r in rows for k in r["params"]))
    metrics = list(dict.fromkeys(k for r in rows for k in (r["metrics"] or {})
                                 if k != "score" and "." not in k and k not in objectives))
    constrained = any(r["feasible"] is not None for r in rows)
    if len(rows) > last and not show_all:
        _console().print(f"study '{name}': {len(rows)} trial(s); the latest {last} "
                         f"(--all for every one, `tuner best` for the best)")
        rows = rows[-last:]
    else:
        _console().print(f"study '{name}': {len(rows)} trial(s)")
    t = Table()
    t.add_column("#", justify="right")
    t.add_column("state")
    for o in objectives:
        t.add_column(o, justify="right")
    for m in metrics:
        t.add_column(m, justify="right")
    if constrained:
        t.add_column("feasible")
    for p in params:
        t.add_column(p, justify="right")
    repeated = any(sp.get("n", 1) > 1 for r in rows for sp in (r["spread"] or {}).values())
    if repeated:
        t.add_column("n", justify="right")
        t.add_column("cv", justify="right")
    t.add_column("time", justify="right")
    t.add_column("reason", overflow="fold")
    colors = {"COMPLETE": "green", "FAIL": "red", "RUNNING": "yellow", "PRUNED": "magenta"}
    for r in rows:
        state = f"[{colors.get(r['state'], 'white')}]{r['state']}[/]"
        secs = f"{r['seconds']:.1f}s" if r["seconds"] is not None else "-"
        noise = []
        if repeated:
            spreads = list((r["spread"] or {}).values())
            cvs = [sp["cv"] for sp in spreads if sp.get("cv") is not None]
            noise = [str(sum(sp["n"] for sp in spreads)) if spreads else "-",
                     f"{100 * max(cvs):.1f}%" if cvs else "-"]
        values = r["values"] if r["values"] is not None else [r["value"]]
        feasible = [] if not constrained else [
            "-" if r["feasible"] is None else "yes" if r["feasible"] else
            "[red]no[/]: " + ", ".join(k for k, ok in (r["constraints"] or {}).items() if not ok)]
        t.add_row(str(r["number"]), state, *(_fmt(v) for v in values),
                  *([_fmt(None)] * (len(objectives) - len(values))),
                  *(metric(r, m) for m in metrics), *feasible,
                  *(_fmt(r["params"].get(p), units.get(p)) for p in params), *noise, secs,
                  r["reason"] or "")
    _console().print(t)



def runs(name: str, trial: int, rows: list[dict[str, Any]]) -> None:
    """Each container of one trial: exit, time, peak memory, CPU, the end of its log."""
    from rich.table import Table

    con = _console()
    con.print(f"study '{name}', trial {trial}: {len(rows)} container run(s)")
    t = Table()
    for col in ("container", "exit", "time", "peak mem", "cpu", "log"):
        t.add_column(col, justify="left" if col == "container" else "right")
    for r in rows:
        state = ("OOM" if r["oom_killed"] else "killed" if r["killed"]
                 else _fmt(r["exit_code"]))
        t.add_row(r["container"], state,
                  f"{r['seconds']:.3f}s" if r["seconds"] is not None else "-",
                  mib(r["peak_memory_bytes"]),
                  f"{r['cpu_seconds']:.2f}s" if r["cpu_seconds"] is not None else "-",
                  r["log_path"] or "-")
    con.print(t)
    for r in rows:
        tail = (r["log_tail"] or "").rstrip().splitlines()[-3:]
        if tail:
            con.print(f"[bold]{r['container']}[/] log ends:", *(f"  {line}" for line in tail),
                      sep="\n", markup=True, highlight=False)



def mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f} MiB"



def _prior(summary: dict[str, Any] | None) -> str:
    """Where a study's prior came from, in a table cell."""
    if not summary:
        return ""
    where = "other workloads" if summary.get("workloads") else summary["study"]
    return f"{where} ({summary['used']}/{summary['trials']})"


def studies(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table()
    priors = any(r.get("warm_start") for r in rows)
    for col in ("study", "direction", "trials", "complete", "pruned", "fail", "running", "best",
                *(("prior",) if priors else ())):
        t.add_column(col, justify="left" if col in ("study", "direction", "prior")
                     else "right")
    for r in rows:
        t.add_row(r["study"], r["direction"], *(str(r[k]) for k in
                  ("trials", "complete", "pruned", "fail", "running")), _fmt(r["best"]),
                  *((_prior(r.get("warm_start")),) if priors else ()))
    _console().print(t)

