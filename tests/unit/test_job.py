"""The job file: what loads, and the one-sentence errors for what does not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tuner.errors import JobError
from tuner.job import env_name, load_job, parse_job
from tuner.job.model import DEFAULT_SCORE_REGEX, parse_duration, parse_size

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """
parameters:
  numChunk: {range: {min: 1, max: 10}}
spec:
  containers:
    score: {image: x}
"""


def job(text: str, **env):
    return parse_job(textwrap.dedent(text), "job.yaml", environ=env)


def error(text: str, **env) -> str:
    with pytest.raises(JobError) as exc:
        job(text, **env)
    return exc.value.message


def test_seed_example_loads():
    j = load_job(ROOT / "jobs" / "seed-example.yaml")
    assert list(j.parameters) == ["numChunk", "batchPerReq", "batchSize", "dataSize"]
    assert list(j.spec.containers) == ["c1", "c2", "b", "score"]
    assert j.spec.containers["c1"].cpu == 2 and j.spec.containers["c1"].ram == 4 * 1024**3
    assert j.spec.timeout == 20
    assert j.name == "seed-example"


def test_defaults_fill_in():
    j = job(MINIMAL)
    assert j.name == "job"  # from the file name
    assert j.objective.container == "score"
    assert j.objective.direction == "minimize"
    assert j.objective.regex == DEFAULT_SCORE_REGEX and j.objective.file is None
    assert j.spec.timeout == 600 and j.spec.until is None


def test_score_file_default_when_container_has_output():
    j = job(MINIMAL.replace("{image: x}", "{image: x, output: /out}"))
    assert j.objective.file == "score.txt" and j.objective.regex is None


def test_env_names():
    assert env_name("numChunk", None) == "NUM_CHUNK"
    assert env_name("batchPerReq", None) == "BATCH_PER_REQ"
    assert env_name("data-size", None) == "DATA_SIZE"
    assert env_name("x", "MY_X") == "MY_X"


def test_unknown_key_did_you_mean_with_line():
    text = MINIMAL.replace("{image: x}", "{image: x, cpus: 2}")
    assert error(text) == ("job.yaml:6: spec.containers.score.cpus: unknown key 'cpus'; "
                           "did you mean 'cpu'?")


def test_unknown_top_level_key():
    assert "unknown key 'paramters'; did you mean 'parameters'?" in error(
        MINIMAL + "paramters: {}\n")


@pytest.mark.parametrize("fragment, expected", [
    ("{image: x, ram: 4q}", "spec.containers.score.ram: '4q' is not a size"),
    ("{image: x, cpu: 0}", "spec.containers.score.cpu: must be greater than 0 (got 0)"),
    ("{image: x, output: out}", "spec.containers.score.output: 'out' must be an absolute path"),
    ("{cpu: 1}", "spec.containers.score.image: is required"),
    ("{image: x, may_fial: true}", "spec.containers.score.may_fial: unknown key 'may_fial'; "
                                   "did you mean 'may_fail'?"),
    ("{image: x, may_fail: 1}", "spec.containers.score.may_fail: must be a valid boolean"),
])
def test_container_errors(fragment, expected):
    assert expected in error(MINIMAL.replace("{image: x}", fragment))


@pytest.mark.parametrize("param, expected", [
    ("{range: {min: 5, max: 1}}", "parameters.p.range: min (5) is greater than max (1)"),
    ("{range: {min: 1, max: 5}, enum: [1]}", "give either range"),
    ("{}", "give either range"),
    ("{enum: []}", "parameters.p.enum: must have at least 1 item"),
    ("{enum: [a, a]}", "enum lists a value twice"),
    ("{range: {min: 0, max: 5, log: true}}", "a log range needs min > 0"),
    ("{range: {min: 1, max: 5, step: 0}}", "step: must be greater than 0"),
    ("{enum: [a, b], default: c}", "parameters.p.default: 'c' is not one of the enum values"),
    ("{range: {min: 1, max: 9, step: 2}, default: 4}", "4 is not on the range's step grid"),
    ("{range: {min: 1, max: 9}, default: 10}", "10 is outside the range 1..9"),
    ("{range: {min: 1, max: 9}, role: input}", "parameters.p.role: must be 'knob' or 'workload'"),
])
def test_parameter_errors(param, expected):
    text = f"""
    parameters:
      p: {param}
    spec:
      containers:
        score: {{image: x}}
    """
    assert expected in error(text)


def test_cross_field_errors_reported_together():
    text = """
    objective: {container: scor, file: s.txt}
    parameters:
      numChunk: {range: {min: 1, max: 2}}
    spec:
      containers:
        score: {image: x, env: {NUM_CHUNK: 3}}
      until: nope
    """
    message = error(text)
    assert "job.yaml:2: objective.container: no container named 'scor'; did you mean 'score'?" \
        in message
    assert "spec.until: no container named 'nope'" in message
    assert "spec.containers.score.env.NUM_CHUNK: is also set by parameter 'numChunk'" in message


def test_score_file_needs_output():
    text = MINIMAL + "objective: {file: score.txt}\n"
    assert "objective.file: container 'score' has no output:" in error(text)


def test_bad_regex():
    assert "objective: regex does not compile" in error(MINIMAL + "objective: {regex: '(['}\n")


def test_env_interpolation():
    text = MINIMAL.replace("{image: x}", "{image: '${REG:-local}/x:${TAG}'}")
    assert job(text, TAG="7").spec.containers["score"].image == "local/x:7"
    assert job(text, TAG="7", REG="r").spec.containers["score"].image == "r/x:7"
    assert "${TAG} is not set in the environment" in error(text)
    dollars = MINIMAL.replace("{image: x}", "{image: x, command: 'echo $$HOME'}")
    assert job(dollars).spec.containers["score"].command == "echo $HOME"


def test_yaml_syntax_error_has_line():
    message = error("parameters:\n  a: [1, 2\nspec: {}\n")
    assert message.startswith("job.yaml:") and "not valid YAML" in message


def test_not_a_mapping():
    assert "a job file is a mapping" in error("- 1\n- 2\n")


def test_missing_file(tmp_path):
    with pytest.raises(JobError, match="no such file"):
        load_job(tmp_path / "nope.yaml")


def test_sizes_and_durations():
    assert parse_size("4g") == 4 * 1024**3
    assert parse_size("512m") == 512 * 1024**2
    assert parse_size("1.5k") == 1536
    assert parse_size(100) == 100
    assert parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_duration(20) == 20
    for bad in ("20 seconds", "s", "1x"):
        with pytest.raises(ValueError):
            parse_duration(bad)
