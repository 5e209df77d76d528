"""Chart axes in the job's units: round ticks, labelled as the job writes sizes and durations."""

from __future__ import annotations

import plotly.graph_objects as go

from tuner.format import fmt
from tuner.reports.charts import label_units, unit_ticks

M = 2**20


def test_ticks_are_round_values_of_the_unit():
    def shown(lo, hi, unit):
        return [fmt(t, unit) for t in unit_ticks(lo, hi, unit)]

    assert shown(16 * M, 1024 * M, "bytes") == ["256m", "512m", "768m", "1g"]
    assert shown(1 * M, 64 * M, "bytes") == ["16m", "32m", "48m", "64m"]
    assert shown(30, 3600, "seconds") == ["15m", "30m", "45m", "60m"]
    assert shown(0.1, 2, "seconds") == ["0.5s", "1s", "1.5s", "2s"]
    assert unit_ticks(5, 5, "bytes") == [5]


def test_axes_named_after_a_sized_parameter_are_relabelled():
    class T:  # a trial, as far as the charts read one
        def __init__(self, wm):
            self.params, self.distributions = {"workMem": wm, "mode": "a"}, {}

    fig = go.Figure(go.Scatter(x=[M, 64 * M], y=[1, 2]))
    fig.update_layout(xaxis_title="workMem", yaxis_title="Objective Value")
    label_units(fig, {"workMem": "bytes"}, [T(M), T(64 * M)])
    assert list(fig.layout.xaxis.ticktext) == ["16m", "32m", "48m", "64m"]
    assert fig.layout.yaxis.ticktext is None
