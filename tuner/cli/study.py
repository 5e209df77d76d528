"""Commands that run and read studies: validate, optimize, best, trials, runs, studies,
cleanup."""

from __future__ import annotations

import math

import click

from ..app import PRUNERS, RUNNERS, SAMPLERS
from .render import study as render
from .output import console as _console
from .output import dump as _dump
from .output import json_option, storage_option, study_option


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
    spec = v.job.spec
    size = v.space.grid_size
    printable_size = size is None or size < 10**30
    if as_json:
        _dump({"job": v.job.source, "name": v.job.name, "parameters": v.dims,
               "grid_size": size if printable_size else None,
               "grid_size_log10": None if size is None else round(math.log10(max(size, 1)), 3),
               "containers": list(spec.containers),
               "until": spec.until, "timeout": spec.timeout,
               "objective": v.job.objective.model_dump(),
               "metrics": {k: m.model_dump() for k, m in v.job.metrics.items()},
               "objectives": [g.model_dump() for g in v.job.objectives or []] or None,
               "constraints": list(v.job.constraints)})
        return
    render.validation(v)

@click.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--sampler", type=click.Choice(SAMPLERS),
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
@click.option("--warm-start", "warm_start", default=None, metavar="STUDY",
              help="Start from an earlier study's trials (a prior the sampler learns from, "
                   "never results): its best configurations run first.")
@click.option("--warm-start-storage", default=None, metavar="URL",
              help="The --warm-start study's storage, when it is not --storage's.")
@click.option("--target", type=float, default=None,
              help="Stop once a trial scores this well (or better).")
@click.option("--timeout", "timeout", default=None, metavar="DURATION",
              help="Stop starting trials after this long, e.g. 30m or 2h.")
@click.option("--pruner", type=click.Choice(PRUNERS), default="median",
              show_default=True,
              help="How a trial whose progress values are clearly worse than earlier trials' "
                   "at the same step is stopped early (needs objective.progress).")
@click.option("--no-prune", is_flag=True, help="Never stop a trial early.")
@click.option("--runner", type=click.Choice(RUNNERS), default="docker",
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
             warm_start: str | None, warm_start_storage: str | None, target: float | None,
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
      tuner optimize jobs/tracelog.yaml --study big --warm-start small
      tuner optimize jobs/tracelog.yaml --workload dataSize=small --target 0.8
      tuner optimize job.yaml --pruner halving       (a job with objective.progress)
      tuner optimize jobs/tracelog.yaml --runner swarm --sampler grid --node-label bench=yes
    """
    from .. import app
    from .progress import TrialProgress

    options = app.Options(sampler=sampler, n_trials=n_trials, seed=seed, repeat=repeat,
                          workload=_workloads(workloads), rebaseline=rebaseline,
                          confirm=confirm, confirm_runs=confirm_runs, target=target,
                          timeout=timeout, prune=not no_prune, pruner=pruner,
                          runner=runner, parallel=parallel,
                          node_labels=_node_labels(node_labels), race=race,
                          max_runs=max_runs, stop_when_done=stop_when_done,
                          warm_start=warm_start, warm_start_storage=warm_start_storage)
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
    render.best(con, result.best, f"{ran}; study '{result.study}' in {result.storage}")


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
    render.best(con, result, f"study '{result['study']}'")
    if per_workload:
        render.per_workload(con, result["per_workload"])

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
    objectives, units = app.labels(storage, name)
    render.trials(name, rows, objectives, units, last, show_all)

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
    render.runs(name, trial, rows)

@click.command()
@storage_option
@json_option("one object per study.")
def studies(storage: str | None, as_json: bool) -> None:
    """List the studies in a storage, with their trial counts and best scores.

    \b
    Example:
      tuner studies
      tuner studies --storage postgresql://tuner@db.example/tuner
    """
    from .. import app

    rows = app.studies(storage)
    if as_json:
        _dump(rows)
        return
    render.studies(rows)

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
