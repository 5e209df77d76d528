"""`tuner profile`: top functions of a profile, how they move with a parameter, two trials'
difference."""

from __future__ import annotations

import click

from .output import dump as _dump
from .output import json_option, storage_option, study_option
from .render import profiles as render


@click.group()
def profile() -> None:
    """Read CPU and memory profiles (pprof protobuf, or folded stacks).

    \b
    Example:
      tuner profile top cpu.pprof -n 10
    """


SAMPLE_HELP = ("Sample type by name or number, as pprof's -sample_index: cpu, samples, "
               "alloc_space, alloc_objects, inuse_space, inuse_objects")


@profile.command("top")
@click.argument("file", type=click.Path(dir_okay=False, exists=True), required=False)
@click.option("--trial", type=int, default=None, help="A stored trial instead of a FILE.")
@click.option("--container", default=None, help="With --trial: one container [default: all].")
@click.option("-n", "count", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many functions to show.")
@click.option("--sample-index", default=None,
              help=SAMPLE_HELP + " [default: the profile's; with --trial: cpu].")
@storage_option
@study_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: sample_type, unit, total, "
                                                      "functions [{name, flat, cum}].")
def profile_top(file: str | None, trial: int | None, container: str | None, count: int,
                sample_index: str | None, storage: str | None, study: str | None,
                as_json: bool) -> None:
    """The functions that cost most: flat and cum as `go tool pprof -top` computes them.

    From a profile FILE (pprof protobuf, gzipped or not, or folded stacks), or from the
    summaries stored for a trial (--trial N; its containers added up unless --container).

    \b
    Example:
      tuner profile top results/tracelog/3/c1.heap.pb.gz --sample-index inuse_space
      tuner profile top --trial 3 --container c1 -n 10 --json
    """
    if (file is None) == (trial is None):
        raise click.UsageError("give a profile FILE or --trial N (one of them)")
    if trial is not None:
        from .. import app

        data = app.profile_answer("trial_top", storage, study, number=trial,
                                  container=container, sample_type=sample_index or "cpu",
                                  n=count)
        where = f"trial {trial}" + (f", container {container}" if container else "")
    else:
        from .. import app

        data = app.profile_file_top(file, sample_index, count)
        where = file
    if as_json:
        _dump(data)
        return
    render.top(data, where)


def _stored_profile_options(command):
    """--container and --sample-index, for the commands that read stored profiles."""
    command = click.option("--sample-index", default="cpu", show_default=True,
                           help=SAMPLE_HELP + ".")(command)
    return click.option("--container", default=None,
                        help="One container [default: all added up].")(command)


@profile.command("compare")
@click.option("--param", required=True, help="The parameter whose values are compared.")
@_stored_profile_options
@click.option("-n", "count", type=click.IntRange(min=1), default=6, show_default=True,
              help="Functions shown per value.")
@storage_option
@study_option
@json_option("groups and movers.")
def profile_compare(param: str, container: str | None, sample_index: str, count: int,
                    storage: str | None, study: str | None, as_json: bool) -> None:
    """How the top functions change with a parameter: share and cost per value.

    For each value of PARAM (or a bin of values), the functions that dominate the chosen
    sample type across the complete trials with that value, and the functions whose share
    moves most between values.

    \b
    Example:
      tuner profile compare --param numChunk
      tuner profile compare --param batchSize --sample-index alloc_space --container b
    """
    from .. import app

    data = app.profile_answer("compare", storage, study, param=param, container=container,
                              sample_type=sample_index, n=count)
    if as_json:
        _dump(data)
        return
    render.compare(data, param, container)

@profile.command("diff")
@click.argument("trial_a", type=int)
@click.argument("trial_b", type=int)
@_stored_profile_options
@click.option("-n", "count", type=click.IntRange(min=1), default=15, show_default=True,
              help="How many functions to show.")
@storage_option
@study_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def profile_diff(trial_a: int, trial_b: int, container: str | None, sample_index: str,
                 count: int, storage: str | None, study: str | None, as_json: bool) -> None:
    """What changed between two trials' profiles, function by function.

    \b
    Example:
      tuner profile diff 0 12
      tuner profile diff 0 12 --sample-index inuse_space --container b
    """
    from .. import app

    data = app.profile_answer("diff", storage, study, a=trial_a, b=trial_b,
                              container=container, sample_type=sample_index, n=count)
    if as_json:
        _dump(data)
        return
    render.diff(data, trial_a, trial_b)

# The answers (importance, effect, report, dashboard) live in their own module.


COMMANDS = [profile]
