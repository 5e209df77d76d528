"""Metrics, objectives and constraints in the job file, and the pure parts of choosing under
them: constraint parsing and violation, Pareto fronts."""

from __future__ import annotations

import textwrap

import pytest

from tuner.errors import JobError
from tuner.job import parse_job
from tuner.job.goals import goals_of, metric_units, parse_constraint
from tuner.selection import dominates, pareto_front

JOB = """
objective: {direction: maximize, container: main, regex: 'total ([0-9.]+)', progress: 'rate ([0-9.]+)'}
metrics:
  p99_ms: {regex: 'p99 ([0-9.]+)ms'}
  rss: {container: main, file: rss.txt}
objectives:
  - {name: score, direction: maximize}
  - {name: p99_ms, direction: minimize}
constraints: ['p99_ms <= 20', 'peak_memory <= 1g', 'cpu_seconds.main < 30s']
parameters:
  x: {range: {min: 1, max: 5}}
spec: {containers: {main: {image: x, output: /out}}}
"""


def job(text: str):
    return parse_job(textwrap.dedent(text), "job.yaml")


def error(text: str) -> str:
    with pytest.raises(JobError) as exc:
        job(text)
    return exc.value.message


def test_a_job_with_metrics_objectives_and_constraints_loads():
    j = job(JOB)
    assert (j.objective.progress.regex, j.objective.progress.container) == \
        ("rate ([0-9.]+)", "main")
    assert j.metrics["p99_ms"].container == "main"  # the objective's container by default
    g = goals_of(j)
    assert g.names == ("score", "p99_ms") and g.directions == ("maximize", "minimize")
    assert g.multi and g.needed == {"p99_ms", "peak_memory", "cpu_seconds.main"}
    assert [(c.name, c.op, c.bound) for c in g.constraints] == [
        ("p99_ms", "<=", 20), ("peak_memory", "<=", 1024**3), ("cpu_seconds.main", "<", 30)]


def test_progress_may_come_from_another_container():
    text = JOB.replace("progress: 'rate ([0-9.]+)'}", "progress: {container: side, regex: 'r (.+)'}}")
    text = text.replace("{main: {image: x, output: /out}}", "{main: {image: x, output: /out}, side: {image: y}}")
    assert job(text).objective.progress.container == "side"
    assert "objective.progress.container: no container named 'sde'; did you mean 'side'?" in \
        error(text.replace("container: side", "container: sde"))
    assert "objective.progress.regx: unknown key 'regx'; did you mean 'regex'?" in \
        error(text.replace("regex: 'r (.+)'", "regx: 'r (.+)'"))


def test_without_objectives_the_score_is_the_one_objective():
    j = job(JOB.replace("objectives:\n  - {name: score, direction: maximize}\n"
                        "  - {name: p99_ms, direction: minimize}\n", ""))
    g = goals_of(j)
    assert g.names == ("score",) and g.directions == ("maximize",) and not g.multi


@pytest.mark.parametrize("text, value, kept, violation", [
    ("p99_ms <= 20", 10, True, -0.5),
    ("p99_ms <= 20", 20, True, 0.0),
    ("p99_ms <= 20", 30, False, 0.5),
    ("p99_ms >= 20", 30, True, -0.5),
    ("p99_ms < 20", 20, False, None),  # on the bound of a strict inequality: outside
    ("p99_ms > 0", 5, True, -5.0),  # a zero bound: the plain difference
])
def test_constraint_violation_is_relative_and_zero_or_less_when_kept(text, value, kept,
                                                                     violation):
    c = parse_constraint(text, {"p99_ms": None})
    assert c.holds(value) is kept
    if violation is not None:
        assert c.violation(value) == pytest.approx(violation)
    else:
        assert c.violation(value) > 0


def test_constraint_bounds_take_the_metric_unit():
    units = metric_units(job(JOB))
    assert parse_constraint("peak_memory <= 512m", units).bound == 512 * 1024**2
    assert parse_constraint("cpu_seconds >= 1m30s", units).bound == 90
    assert parse_constraint("peak_memory.main <= 1000", units).bound == 1000


@pytest.mark.parametrize("constraint, expected", [
    ("p99 <= 20", "constraints.0: 'p99 <= 20': no metric named 'p99'; did you mean 'p99_ms'?"),
    ("p99_ms => 20", "constraints.0: 'p99_ms => 20': unknown operator '=>'; did you mean '>='?"),
    ("p99_ms == 20", "unknown operator '=='; use one of <= >= < >"),
    ("peak_memory <= 1x", "'1x' is not a number or a size like 512m or 1g"),
    ("p99_ms", "'p99_ms' is not a constraint; write it like 'p99_ms <= 20'"),
])
def test_bad_constraints_name_file_line_and_field(constraint, expected):
    text = JOB.replace("constraints: ['p99_ms <= 20', 'peak_memory <= 1g', "
                       "'cpu_seconds.main < 30s']", f"constraints: ['{constraint}']")
    message = error(text)
    assert message.startswith("job.yaml:9: constraints.0: ")
    assert expected in message


def test_unknown_objective_and_metric_problems_are_job_errors():
    assert "job.yaml:8: objectives.1.name: no metric named 'p99'; did you mean 'p99_ms'?" in \
        error(JOB.replace("{name: p99_ms, direction", "{name: p99, direction"))
    assert "objectives.1.direction" in error(JOB.replace("direction: minimize}",
                                                         "direction: lower}"))
    assert "metrics.p99_ms: regex does not compile" in error(
        JOB.replace("'p99 ([0-9.]+)ms'", "'p99 ([0-9.]+ms'"))
    assert "job.yaml:2: objective: progress does not compile" in error(
        JOB.replace("'rate ([0-9.]+)'", "'rate ([0-9.]+'"))
    assert "metrics.peak_memory: 'peak_memory' is built in" in error(
        JOB.replace("  rss: {container: main, file: rss.txt}",
                    "  peak_memory: {regex: 'x ([0-9]+)'}"))
    assert "metrics.rss.container: no container named 'mian'; did you mean 'main'?" in error(
        JOB.replace("rss: {container: main", "rss: {container: mian"))
    assert "metrics.rss: give either regex or file" in error(
        JOB.replace("{container: main, file: rss.txt}", "{container: main}"))


def test_dominance_and_the_pareto_front():
    dirs = ["maximize", "minimize"]
    assert dominates([10, 5], [9, 5], dirs) and not dominates([10, 5], [10, 5], dirs)
    assert not dominates([10, 6], [9, 5], dirs)  # better on one, worse on the other
    items = [("a", [10, 6]), ("b", [9, 5]), ("c", [8, 7]), ("d", [10, 6]), ("e", [7, 1])]
    # c is beaten by a and b; the equal a and d both stay (neither beats the other)
    assert [k for k, _ in pareto_front(items, dirs)] == ["a", "b", "d", "e"]
    assert [k for k, _ in pareto_front(items, ["minimize", "minimize"])] == ["e"]
