"""Parameters -> Optuna distributions, grids and environment values."""

from __future__ import annotations

import textwrap

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tuner.errors import JobError
from tuner.job import parse_job
from tuner.space import Space, format_env


def space(params: str) -> Space:
    text = f"parameters:\n{textwrap.indent(textwrap.dedent(params), '  ')}" \
           "spec: {containers: {score: {image: x}}}\n"
    job = parse_job(text, "job.yaml", environ={})
    return Space(job, job.source)


def test_distributions():
    s = space("""
        n: {range: {min: 1, max: 10}}
        b: {range: {min: 20000, max: 40500, step: 1000}}
        r: {range: {min: 0.1, max: 0.9, step: 0.1}}
        lr: {range: {min: 0.001, max: 1.0, log: true}}
        mode: {enum: [fast, safe]}
    """)
    d = s.distributions()
    assert d["n"] == IntDistribution(1, 10)
    assert d["b"] == IntDistribution(20000, 40000, step=1000)  # ragged top dropped
    assert d["r"] == FloatDistribution(0.1, 0.9, step=0.1)
    assert d["lr"] == FloatDistribution(0.001, 1.0, log=True)
    assert d["mode"] == CategoricalDistribution(["fast", "safe"])


def test_grid_values_are_clean():
    s = space("""
        r: {range: {min: 0.1, max: 0.95, step: 0.1}}
        n: {range: {min: 2, max: 9, step: 3}}
        mode: {enum: [a, b]}
    """)
    g = s.grid()
    assert g["r"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert g["n"] == [2, 5, 8]
    assert all(type(v) is int for v in g["n"])
    assert s.grid_size == 9 * 3 * 2 == len(s.grid_points())
    assert len({tuple(p.items()) for p in s.grid_points()}) == 54


def test_continuous_float_has_no_grid():
    s = space("r: {range: {min: 0.1, max: 0.9}}\n")
    assert s.grid_size is None
    with pytest.raises(JobError) as exc:
        s.grid()
    assert exc.value.message.startswith("job.yaml: parameters.r.range: a float range without a step")


def test_huge_grid_refused():
    s = space("""
        a: {range: {min: 1, max: 1000}}
        b: {range: {min: 1, max: 1000}}
    """)
    with pytest.raises(JobError, match="the grid has 1000000 points"):
        s.grid()


def test_env_values():
    s = space("""
        numChunk: {range: {min: 1, max: 10}}
        ratio: {range: {min: 0.1, max: 0.9, step: 0.1}}
        flag: {enum: [true, false]}
        size: {inject: {env: DATA}, enum: [300m, 4g]}
    """)
    env = s.env({"numChunk": 3, "ratio": 0.30000000000000004, "flag": True, "size": "4g"})
    assert env == {"NUM_CHUNK": "3", "RATIO": "0.3", "FLAG": "true", "DATA": "4g"}
    assert format_env(2.0) == "2.0" and format_env(1e-05) == "1e-05"


def test_defaults_first_value_or_given():
    s = space("""
        n: {range: {min: 1, max: 10}, default: 4}
        r: {range: {min: 0.5, max: 0.9, step: 0.1}}
        mode: {enum: [fast, safe]}
    """)
    assert s.defaults() == {"n": 4, "r": 0.5, "mode": "fast"}


def test_sampled_values_fit_space_with_optuna():
    # What the samplers propose must clean to values on the job's grid.
    s = space("""
        r: {range: {min: 0.1, max: 0.9, step: 0.1}}
        n: {range: {min: 3, max: 30, step: 3}}
    """)
    from tuner.optimize import suggest

    grid = s.grid()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask()
        params = suggest(trial, s)
        assert params["r"] in grid["r"] and params["n"] in grid["n"]
        study.tell(trial, 0.0)
