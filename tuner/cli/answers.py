"""Commands that answer questions about a finished study: importance, effect, report, dashboard.

Thin like the rest of the CLI: options -> one call into tuner.reports (or tuner.sweep) ->
rendering. Heavy imports stay inside the functions, so `--help` and `validate` stay fast.
"""

from __future__ import annotations

import click

from .output import console as _console
from .output import dump as _dump
from .output import storage_option, study_option
from .render import answers as render


@click.command()
@storage_option
@study_option
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: {param: share}, shares summing to 1 (overall, fANOVA; with "
                   "--among-best, PED-ANOVA's); {} when there is too little evidence; a list "
                   "of {workload, trials, importance, among_best, ...} when trials ran "
                   "several workloads.")
@click.option("--among-best", is_flag=True,
              help="Lead with what matters among the best configurations (PED-ANOVA over the "
                   "top 10%, the question optuna-dashboard's chart answers).")
def importance(storage: str | None, study: str | None, as_json: bool, among_best: bool) -> None:
    """Which parameters matter, two ways: overall (each one's share of the score's variation
    over every trial: fANOVA, seeded) and among the best (what still sets the best 10% of
    trials apart: PED-ANOVA, the chart optuna-dashboard draws).

    \b
    Example:
      tuner importance
      tuner importance --study tracelog --json
      tuner importance --json --among-best
    """
    from .. import app

    name, groups = app.importance(storage, study)
    if as_json:
        if len(groups) == 1:
            g = groups[0]
            _dump(g.among_best if among_best else g.shares)
            for line in ([g.note] if g.note else []) + (
                    [f"never varied (no evidence): {', '.join(g.constant)}"] if g.constant
                    else []):
                click.echo(f"tuner: {line}", err=True)
        else:
            _dump([g.to_dict() for g in groups])
        return
    con = _console()
    for g in groups:
        render.importance(con, name, g, among_best)


@click.command()
@click.argument("param")
@storage_option
@study_option
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: marginal, neighbours, noise, verdict, edge.")
@click.option("--measure", is_flag=True,
              help="First run real trials that vary only PARAM around the best configuration "
                   "(added to the study), then answer from them.")
@click.option("--steps", type=click.IntRange(min=1, max=10), default=2, show_default=True,
              help="With --measure: values of PARAM to run below and above the best's.")
@click.option("--results", default="results", show_default=True,
              type=click.Path(file_okay=False), help="With --measure: folder for trial files.")
def effect(param: str, storage: str | None, study: str | None, as_json: bool, measure: bool,
           steps: int, results: str) -> None:
    """Would raising PARAM help? Scores per value, the trials around the best configuration
    that differ mainly in PARAM, and a verdict (helps, hurts, flat, unclear) with its evidence.

    \b
    Example:
      tuner effect numChunk
      tuner effect numChunk --measure --steps 3
      tuner effect ratio --json | jq .verdict
    """
    from .. import app
    from .progress import TrialProgress

    with TrialProgress(_console(stderr=True), enabled=not as_json and measure) as progress:
        name, e, ran = app.effect(storage, study, param, measure=measure, steps=steps,
                                  results=results, on_event=progress.update)
    if measure and not as_json:
        _console().print(f"measured: {ran} trial(s) varying only {param} around the best")
    if as_json:
        _dump(e.to_dict())
    else:
        render.effect(e, name)


@click.command()
@storage_option
@study_option
@click.option("-o", "--output", default="report.html", show_default=True,
              type=click.Path(dir_okay=False), help="The HTML file to write.")
def report(storage: str | None, study: str | None, output: str) -> None:
    """Write one self-contained HTML report of a study: best vs default, history, importance,
    effects, slices, contour, parallel coordinates, trials with failure reasons, profiles.

    It needs no network to open: the chart library is inside the file.

    \b
    Example:
      tuner report -o report.html
      tuner report --study tracelog -o /tmp/tracelog.html
    """
    from .. import app

    path, trials = app.report(storage, study, output)
    size = path.stat().st_size / 1e6
    _console().print(f"wrote {path} ({trials} trial(s), {size:.1f} MB): open it in a browser")


@click.command()
@storage_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 exposes it to the network).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--results", default="results", show_default=True,
              type=click.Path(file_okay=False), help="Folder holding the trials' logs.")
@click.option("--artifact-dir", default=None, type=click.Path(file_okay=False),
              help="Where the dashboard keeps uploaded logs [default: RESULTS/.artifacts].")
def dashboard(storage: str | None, host: str, port: int, results: str,
              artifact_dir: str | None) -> None:
    """Browse every study of a storage in optuna-dashboard, with each trial's logs attached.

    Logs in RESULTS/<study>/<trial>/*.log not yet uploaded are uploaded first. Ctrl-C stops it.

    \b
    Example:
      tuner dashboard
      tuner dashboard --storage sqlite:///grid.db --port 8081
    """
    from .. import app

    d = app.dashboard(storage, results, artifact_dir)
    con = _console(stderr=True)
    con.print(f"logs: {d.uploaded_files} new file(s) from {d.uploaded_trials} trial(s) uploaded "
              f"to {d.artifacts}")
    if d.notes:
        con.print(f"importance: {d.notes} study note(s) written: the dashboard's chart is "
                  f"PED-ANOVA (what matters among the best); the note lists tuner's overall "
                  f"answer beside it")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    con.print(f"serving {d.url} at [bold]http://{shown}:{port}/dashboard/[/] (Ctrl-C stops)")
    try:
        d.serve(host, port)
    except KeyboardInterrupt:  # the way to stop a server: not an interrupted study
        pass
    con.print("dashboard stopped")


COMMANDS = [importance, effect, report, dashboard]
