"""The re-measure arithmetic of bench/racing_postgres.py: per-round ratios to the default and
a distribution-free interval for their median (the bench itself needs PostgreSQL)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_racing_postgres", Path(__file__).resolve().parents[2] / "bench" / "racing_postgres.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_ten_values_give_the_second_and_ninth():
    med, lo, hi = bench.median_interval([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])
    assert (med, lo, hi) == (5.5, 2, 9)


def test_too_few_values_give_their_range():
    assert bench.median_interval([3.0, 1.0]) == (2.0, 1.0, 3.0)
    assert bench.median_interval([4.0]) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError):
        bench.median_interval([])


def test_the_interval_covers_the_true_median_at_least_95_percent():
    rng = random.Random(7)
    trials = 4000
    held = 0
    for _ in range(trials):
        _, lo, hi = bench.median_interval([rng.gauss(0, 1) for _ in range(10)])
        held += lo <= 0 <= hi
    assert held / trials >= 0.95  # 97.9% in theory for 10 values
    assert held / trials <= 0.995  # and not the whole range


def test_ratios_skip_rounds_where_either_run_failed():
    rounds = [{"default": 100.0, "a": 150.0}, {"a": 140.0}, {"default": 200.0, "a": 100.0},
              {"default": 100.0}]
    assert bench.round_ratios(rounds, "a") == [1.5, 0.5]
    assert bench.round_ratios(rounds, "default") == [1.0, 1.0, 1.0]
