"""The numbers behind noisy results: statistics over repeats, aggregates over workloads,
intervals and whether two configurations can be told apart."""

from __future__ import annotations

import math

import pytest

from tuner.errors import TrialFailed
from tuner.selection import interval, separate
from tuner.trial import combine, spread, summarize, workload_label


def test_statistic_and_spread():
    assert summarize([3.0, 1.0, 2.0, 100.0], "median") == 2.5
    assert summarize([1.0, 2.0, 3.0], "mean") == 2.0
    s = spread([2.0, 4.0, 6.0])
    assert s == {"n": 3, "min": 2.0, "max": 6.0, "cv": pytest.approx(0.5)}
    assert spread([5.0])["cv"] is None


def test_aggregates():
    values = {"size=small": 2.0, "size=big": 20.0}
    assert combine(values, "sum", None) == 22.0
    assert combine(values, "mean", None) == 11.0
    base = {"size=small": 4.0, "size=big": 10.0}
    # geomean of 0.5 and 2.0 is 1: one workload twice as fast, the other twice as slow.
    assert combine(values, "geomean-ratio-to-baseline", base) == pytest.approx(1.0)
    with pytest.raises(TrialFailed, match="no baseline"):
        combine(values, "geomean-ratio-to-baseline", None)
    assert workload_label({"size": "big", "n": 3}) == "size=big,n=3"
    assert workload_label({}) == "-"


def test_interval_is_a_t_interval():
    lo, hi = interval([10.0, 12.0])
    assert (lo + hi) / 2 == 11.0
    assert hi - lo == pytest.approx(2 * 12.706 * math.sqrt(2) / math.sqrt(2))
    assert interval([1.0]) is None
    many = [float(i % 5) for i in range(100)]
    lo, hi = interval(many)
    assert hi - lo == pytest.approx(2 * 1.96 * 1.4213 / 10, rel=1e-3)


def test_separate():
    a = {"ci": [1.0, 2.0]}
    assert separate(a, {"ci": [2.5, 3.0]}) is True
    assert separate(a, {"ci": [1.5, 3.0]}) is False
    assert separate(a, {"ci": None}) is None
    assert separate(a, None) is None
