"""Commands that run and read studies: validate, optimize, best, trials, runs, studies,
cleanup."""

from __future__ import annotations

import math
from typing import Any

import click

from ..format import fmt as _fmt
from ..format import params_text as _params_text
from .output import console as _console
from .output import dump as _dump
from .output import json_option, printable as _printable, storage_option, study_option


@click.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the search space as JSON.")
def validate(job: str, as_json: bool) -> None:
    """Check JOB without Docker or a database, and show its search space.

    \b
    Example:
      tuner validate jobs/tracelog.yaml
    """
    from .. import app

    v = app.validate(job)
    dims = [{"name": d.name, "env": d.env, "kind": d.kind, "role": d.role,
             "values": d.values if d.count is not None and d.count <= 1000 else None,
             "count": d.count, "unit": d.unit,
             "range": None if d.kind == "enum" else d.describe(),
             "default": d.default} for d in v.space.dims.values()]
    spec = v.job.spec
    size = v.space.grid_size
    printable_size = size is None or size < 10**30
    if as_json:
        _dump({"job": v.job.source, "name": v.job.name, "parameters": dims,
               "grid_size": size if printable_size else None,
               "grid_size_log10": None if size is None else round(math.log10(max(size, 1)), 3),
               "containers": list(spec.containers),
               "until": spec.until, "timeout": spec.timeout,
               "objective": v.job.objective.model_dump(),
               "metrics": {k: m.model_dump() for k, m in v.job.metrics.items()},
               "objectives": [g.model_dump() for g in v.job.objectives or []] or None,
               "constraints": list(v.job.constraints)})
        return
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ..job.model import format_duration, format_size
    from ..space import MAX_GRID

    def text(value: Any) -> Text:  # the job's own words: never markup, always printable
        return Text(_printable(str(value)))

    def count(n: int) -> str:
        return f"{n:,}" if n < 10**30 else f"about 10^{int(math.log10(n))}"

    con = _console()
    obj = v.job.objective
    source = f"regex {obj.regex!r}" if obj.regex else f"file {obj.file}"
    con.print(f"[bold]{escape(_printable(v.job.source))}[/] is valid: study "
              f"[bold]{escape(_printable(str(v.job.name)))}[/], "
              + (f"{obj.direction} the score from " if not v.job.objectives else "the score from ")
              + f"{escape(_printable(str(obj.container)))} ({escape(_printable(source))})")
    for name, m in v.job.metrics.items():
        where = f"regex {m.regex!r}" if m.regex else f"file {m.file}"
        con.print(text(f"metric {name}: from {m.container} ({where})"))
    if v.job.objectives:
        con.print(text("objectives (Pareto front): " if len(v.job.objectives) > 1 else
                       "objective: ")
                  + text(", ".join(f"{g.direction} {g.name}" for g in v.job.objectives)))
    if v.job.constraints:
        con.print(text(f"constraints: {'; '.join(v.job.constraints)}"))
    if obj.progress is not None:
        con.print(text(f"progress: regex {obj.progress.regex!r} in {obj.progress.container}'s "
                       f"log while it runs (trials clearly worse at the same step are pruned)"))
    con.print("[bold]parameters[/]")
    t = Table()
    for col in ("name", "env", "kind", "values", "count", "default"):
        t.add_column(col)
    for d in v.space.dims.values():
        kind = d.kind + (f" (workload: {v.space.workload[d.name]})" if d.role == "workload"
                         else "")
        default = "-" if d.default is None else d.show(d.default) if d.kind != "enum" \
            else _fmt(d.default)
        t.add_row(text(d.name), text(d.env), text(kind), text(d.describe()),
                  count(d.count) if d.count is not None else "continuous", text(default))
    con.print(t)
    con.print("[bold]containers[/]")
    c = Table()
    for col in ("name", "image", "cpu", "ram", "output"):
        c.add_column(col)
    for name, ct in spec.containers.items():
        c.add_row(text(name), text(ct.image), _fmt(ct.cpu),
                  format_size(ct.ram) if ct.ram else "-", text(ct.output or "-"))
    con.print(c)
    end = f"when {spec.until} exits" if spec.until else "when all containers exit"
    grid = f"{count(size)} points" if size is not None else "none (a float range has no step)"
    if size is not None and size > MAX_GRID:
        grid += f" (too many for --sampler grid, over {MAX_GRID:,}: use TPE)"
    con.print(text(f"a trial ends {end}, or is killed after {format_duration(spec.timeout)}; "
                   f"grid: {grid}"))
    if v.files:
        con.print("[bold]files[/] (rendered per trial, mounted read-only)")
        for cname, path, rel in v.files:
            con.print(text(f"  {cname}:{path}  <- {rel}"))
    job = v.job
    workloads = len(v.space.workload_points())
    runs = workloads * (job.warmup + job.repeat)
    if runs > 1:
        con.print(f"each trial runs the containers {runs} times: {workloads} workload "
                  f"value(s) x ({job.warmup} warm-up + {job.repeat} measured); its value is "
                  f"the {job.objective.aggregate} over "
                  f"workloads of the {job.statistic} of the repeats")


@click.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--sampler", type=click.Choice(["tpe", "grid", "random", "nsga2"]),
              default="tpe", show_default=True,
              help="How the next trial's parameters are chosen (nsga2: NSGA-II, for several "
                   "objectives).")
@click.option("--n-trials", type=click.IntRange(min=1), default=None,
              help="Trials to run now [default: 20; grid: every point not yet run].")
@click.option("--seed", type=int, default=None, help="Seed for the sampler.")
@storage_option
@click.option("--study", default=None, help="Study name [default: the job's name].")
@click.option("--results", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Folder for each trial's logs and files.")
@click.option("--repeat", type=click.IntRange(min=1), default=None,
              help="Runs per trial; its value is their median [default: the job's repeat:].")
@click.option("--workload", "workloads", multiple=True, metavar="NAME=V[,V]",
              help="Measure only these values of a workload parameter [default: all].")
@click.option("--rebaseline", type=click.IntRange(min=1), default=None, metavar="N",
              help="Re-measure the default configuration every N trials (machine drift).")
@click.option("--confirm", type=click.IntRange(min=0), default=0, metavar="K",
              help="At the end, re-run the K best configurations and the default side by side, "
                   "and choose on those numbers.")
@click.option("--confirm-runs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rounds of --confirm: each runs every checked configuration once, in a "
                   "shuffled order.")
@click.option("--race", is_flag=True,
              help="Racing: a new configuration runs once; only one that could still beat the "
                   "best so far within the measured noise runs again, side by side with it; "
                   "at the end the best and the default run --confirm-runs rounds.")
@click.option("--max-runs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Budget in container runs (repeats, workloads and final rounds count).")
@click.option("--stop-when-done", is_flag=True,
              help="With --race: stop once max(10, 3 x knobs) candidates in a row came to "
                   "nothing (clearly worse, or lost their race): more is not expected to show.")
@click.option("--target", type=float, default=None,
              help="Stop once a trial scores this well (or better).")
@click.option("--timeout", "timeout", default=None, metavar="DURATION",
              help="Stop starting trials after this long, e.g. 30m or 2h.")
@click.option("--pruner", type=click.Choice(["median", "halving"]), default="median",
              show_default=True,
              help="How a trial whose progress values are clearly worse than earlier trials' "
                   "at the same step is stopped early (needs objective.progress).")
@click.option("--no-prune", is_flag=True, help="Never stop a trial early.")
@click.option("--runner", type=click.Choice(["docker", "swarm"]), default="docker",
              show_default=True,
              help="Where trials run: the local engine, or the nodes of a Docker swarm (run "
                   "from a manager; one trial per node at a time).")
@click.option("--parallel", type=click.IntRange(min=1), default=None, metavar="N",
              help="--runner swarm: trials at once, each on a node of its own "
                   "[default: every usable node].")
@click.option("--node-label", "node_labels", multiple=True, metavar="KEY=VALUE",
              help="--runner swarm: only nodes with this label "
                   "(`docker node update --label-add KEY=VALUE NODE`); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print only the best result, as JSON.")
def optimize(job: str, sampler: str, n_trials: int | None, seed: int | None,
             storage: str | None, study: str | None, results: str, repeat: int | None,
             workloads: tuple[str, ...], rebaseline: int | None, confirm: int,
             confirm_runs: int, race: bool, max_runs: int | None, stop_when_done: bool,
             target: float | None,
             timeout: str | None,
             pruner: str, no_prune: bool, runner: str, parallel: int | None,
             node_labels: tuple[str, ...], as_json: bool) -> None:
    """Run trials of JOB, each one real run of its containers, and print the best.

    Running it again on the same storage and study continues the study. A new study's first
    trial is the default configuration: the best is shown against it.

    \b
    Example:
      tuner optimize jobs/tracelog.yaml --n-trials 30
      tuner optimize jobs/tracelog.yaml --sampler grid --storage sqlite:///grid.db
      tuner optimize jobs/tracelog.yaml --repeat 3 --confirm 3 --timeout 20m
      tuner optimize jobs/tracelog.yaml --race --max-runs 100
      tuner optimize jobs/tracelog.yaml --workload dataSize=small --target 0.8
      tuner optimize job.yaml --pruner halving       (a job with objective.progress)
      tuner optimize jobs/tracelog.yaml --runner swarm --sampler grid --node-label bench=yes
    """
    from .. import app
    from ..progress import TrialProgress

    options = app.Options(sampler=sampler, n_trials=n_trials, seed=seed, repeat=repeat,
                          workload=_workloads(workloads), rebaseline=rebaseline,
                          confirm=confirm, confirm_runs=confirm_runs, target=target,
                          timeout=_duration(timeout), prune=not no_prune, pruner=pruner,
                          runner=runner, parallel=parallel,
                          node_labels=_node_labels(node_labels), race=race,
                          max_runs=max_runs, stop_when_done=stop_when_done)
    with TrialProgress(_console(stderr=True), enabled=not as_json) as progress:
        result = app.optimize(job, options=options, storage=storage, study=study,
                              results=results, on_event=progress.update)
    if as_json:
        _dump(result.best)
        return
    con = _console()
    if result.best is None:
        con.print(f"study {result.study}: no complete trial yet; see `tuner trials`")
        return
    ran = f"{result.ran} trial(s) run now" if result.ran or sampler != "grid" \
        else "every grid point had already run (another worker, or an earlier run)"
    _print_best(con, result.best, f"{ran}; study '{result.study}' in {result.storage}")


def _workloads(items: tuple[str, ...]) -> dict[str, list[str]] | None:
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise click.BadParameter(f"'{item}' is not NAME=VALUE[,VALUE]",
                                     param_hint="--workload")
        out.setdefault(name, []).extend(v for v in values.split(",") if v)
    return out or None


def _node_labels(items: tuple[str, ...]) -> dict[str, str] | None:
    import re

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        # Swarm's constraint syntax: node.labels.KEY==VALUE, so no spaces or '=' in KEY.
        if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", key) or not value \
                or re.search(r"[\s,=]", value):
            raise click.BadParameter(f"'{item}' is not KEY=VALUE (letters, digits, '.', '_', "
                                     f"'-'; no spaces, commas or '=' in the value)",
                                     param_hint="--node-label")
        out[key] = value
    return out or None


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from ..job.model import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeout") from None


def _print_best(con: Any, best: dict[str, Any], caption: str = "") -> None:
    """The best configuration, beside the default one when the study measured it."""
    from rich.table import Table

    if best.get("front") is not None:
        _print_front(con, best, caption)
        return
    base = best.get("baseline")
    label = (best.get("objectives") or [{"name": "score"}])[0]["name"]
    if best.get("chosen_on"):
        _print_chosen(con, best, label, caption)
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
        t.add_row(name, *([_metric(base, name)] if base else []), _metric(best, name))
    con.print(t)
    _print_feasibility(con, best)
    if best.get("change_vs_baseline") is not None and not best.get("chosen_on"):
        con.print(f"the best configuration's {label} is "
                  f"{100 * best['change_vs_baseline']:+.1f}% against the default's")
    drift = best.get("baseline_drift")
    if drift and best.get("drift") is not None:
        values = ", ".join(_fmt(d["value"]) for d in drift)
        con.print(f"the default configuration re-measured: {values} "
                  f"(drift {100 * best['drift']:+.1f}%)")
    confirmed = best.get("confirmed")
    if confirmed:
        from ..reports.confidence import confirmation_verdict

        w = confirmed["winner"]
        con.print(f"[bold]after confirmation[/]: {_params_text(w['params'], units)}")
        for line in confirmation_verdict(confirmed):
            con.print(f"  {line}")
    _print_noise(con, best)


def _print_chosen(con: Any, best: dict[str, Any], label: str, caption: str) -> None:
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
    from ..reports.confidence import race_text

    if race_text(best.get("confirmed")):
        con.print(f"  {race_text(best.get('confirmed'))}")


def _print_noise(con: Any, best: dict[str, Any]) -> None:
    from ..reports.confidence import noise_text

    text = noise_text(best.get("noise"))
    if text:
        con.print(f"noise: {text}")


def _shown_metrics(best: dict[str, Any]) -> list[str]:
    """The metrics worth a row: the job's own and the trial's totals (not per container); the
    score too when an objective is not the score."""
    named = [o["name"] for o in best.get("objectives") or []]
    return [n for n in (best.get("metrics") or {})
            if "." not in n and (n != "score" or "score" not in named and named)]


def _metric(row: dict[str, Any] | None, name: str) -> str:
    value = ((row or {}).get("metrics") or {}).get(name)
    if value is not None and name.split(".")[0] == "peak_memory":
        return _mib(value)
    if value is not None and name.split(".")[0] == "cpu_seconds":
        return f"{value:.2f}s"
    return _fmt(value)


def _print_feasibility(con: Any, best: dict[str, Any]) -> None:
    if best.get("constraints") is None:
        return
    base = best.get("baseline") or {}
    kept = "; ".join(best["constraints"])
    con.print(f"constraints: {kept}: {best['feasible']} complete trial(s) kept them, "
              f"{best['infeasible']} did not (infeasible); only a feasible one is named best"
              + ("; the default configuration did not keep them"
                 if base.get("feasible") is False else ""))


def _print_front(con: Any, best: dict[str, Any], caption: str) -> None:
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
    _print_feasibility(con, best)
    confirmed = best.get("confirmed")
    if confirmed:
        from ..reports.confidence import confirmation_verdict

        w = confirmed["winner"]
        con.print(f"[bold]after confirmation[/] (judged on {objectives[0]['name']}): "
                  f"{_params_text(w['params'], units)}")
        for line in confirmation_verdict(confirmed):
            con.print(f"  {line}")


@click.command()
@storage_option
@study_option
@click.option("--per-workload", is_flag=True,
              help="Also the best configuration for each workload value, and what one "
                   "configuration for all of them costs.")
@json_option("study, number, value, params.")
def best(storage: str | None, study: str | None, per_workload: bool, as_json: bool) -> None:
    """Show the best trial of a study, beside the default configuration.

    When the study confirmed its top configurations (--confirm), the confirmed winner with
    its 95% interval, and whether it is distinguishable from the runner-up and the baseline.
    With several objectives, the Pareto front; with constraints, only a configuration that
    kept them, and how many trials did not.

    \b
    Example:
      tuner best --study tracelog
      tuner best --json | jq .params
      tuner best --per-workload
    """
    from .. import app

    result = app.best(storage, study, per_workload=per_workload)
    if as_json:
        _dump(result)
        return
    con = _console()
    _print_best(con, result, f"study '{result['study']}'")
    if per_workload:
        from rich.table import Table

        t = Table()
        for col in ("workload", "best trial", "its score", "overall best there", "cost"):
            t.add_column(col, justify="left" if col == "workload" else "right")
        for row in result["per_workload"]:
            cost = row["cost_of_one_config"]
            t.add_row(row["workload"], str(row["number"]), _fmt(row["value"]),
                      _fmt(row["overall_best_value"]),
                      f"{100 * cost:+.1f}%" if cost is not None else "-")
        con.print("per workload (cost: the overall best configuration against the workload's "
                  "own best):")
        con.print(t)


LAST = 200  # a table of 10,000 rows takes seconds to draw and nobody reads it


@click.command()
@storage_option
@study_option
@json_option("one object per trial (all of them).")
@click.option("--last", type=click.IntRange(min=1), default=LAST, show_default=True,
              help="Show only the latest N trials in the table; --all for every one.")
@click.option("--all", "show_all", is_flag=True, help="Show every trial in the table.")
def trials(storage: str | None, study: str | None, as_json: bool, last: int,
           show_all: bool) -> None:
    """List a study's trials: state, score, parameters, and why failed ones failed.

    \b
    Example:
      tuner trials --study tracelog
      tuner trials --all
      tuner trials --json | jq '.[] | select(.state == "FAIL") | .reason'
    """
    from .. import app

    name, rows = app.trials(storage, study)
    if as_json:
        _dump(rows)
        return
    from rich.table import Table

    from .. import app as _app

    params = list(dict.fromkeys(k for r in rows for k in r["params"]))
    objectives = _app.objective_names(storage, name)
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
                  *(_metric(r, m) for m in metrics), *feasible,
                  *(_fmt(r["params"].get(p)) for p in params), *noise, secs,
                  r["reason"] or "")
    _console().print(t)


@click.command()
@click.argument("trial", type=int)
@storage_option
@study_option
@json_option("one object per container.")
def runs(trial: int, storage: str | None, study: str | None, as_json: bool) -> None:
    """Show each container of one trial: exit, OOM, time, peak memory, CPU, log.

    \b
    Example:
      tuner runs 12
      tuner runs 12 --json | jq '.[] | {container, peak_memory_bytes}'
    """
    from .. import app

    name, rows = app.runs(storage, study, trial)
    if as_json:
        _dump(rows)
        return
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
                  _mib(r["peak_memory_bytes"]),
                  f"{r['cpu_seconds']:.2f}s" if r["cpu_seconds"] is not None else "-",
                  r["log_path"] or "-")
    con.print(t)
    for r in rows:
        tail = (r["log_tail"] or "").rstrip().splitlines()[-3:]
        if tail:
            con.print(f"[bold]{r['container']}[/] log ends:", *(f"  {line}" for line in tail),
                      sep="\n", markup=True, highlight=False)


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


@click.command()
@storage_option
@json_option("one object per study.")
def studies(storage: str | None, as_json: bool) -> None:
    """List the studies in a storage, with their trial counts and best scores.

    \b
    Example:
      tuner studies
      tuner studies --storage mysql+pymysql://tuner@db.example/tuner
    """
    from .. import app

    rows = app.studies(storage)
    if as_json:
        _dump(rows)
        return
    from rich.table import Table

    t = Table()
    for col in ("study", "direction", "trials", "complete", "pruned", "fail", "running", "best"):
        t.add_column(col, justify="left" if col in ("study", "direction") else "right")
    for r in rows:
        t.add_row(r["study"], r["direction"], *(str(r[k]) for k in
                  ("trials", "complete", "pruned", "fail", "running")), _fmt(r["best"]))
    _console().print(t)


@click.command()
@click.option("--study", default=None, help="Only this study's leftovers.")
@click.option("--all", "everything", is_flag=True,
              help="Also remove what live tuner processes run (stops their trials).")
def cleanup(study: str | None, everything: bool) -> None:
    """Remove containers and networks that dead tuner processes left on this host.

    Found by their labels; `optimize` does the same for its study when it starts. On a swarm
    manager, also the services, configs and overlay networks of their trials.

    \b
    Example:
      tuner cleanup
      tuner cleanup --study tracelog --all
    """
    from .. import app

    containers, networks, swarmed = app.cleanup(study, everything)
    gone = containers + networks + swarmed
    click.echo(f"removed {len(containers)} container(s) and {len(networks)} network(s)"
               + (f" and {len(swarmed)} swarm object(s)" if swarmed else "")
               + (": " + ", ".join(gone) if gone else ""))


COMMANDS = [validate, optimize, best, trials, runs, studies, cleanup]
