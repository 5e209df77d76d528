"""The pure logic of warm start (tuner/warmstart.py): matching an earlier study's trials to
this job's space, ranks within a source, the prior fading, its agreement with the study."""

from __future__ import annotations

import textwrap

import pytest

from tuner.job import parse_job
from tuner.space import Space
from tuner.warmstart import (Prior, Source, agreement, fading, match, nearest_rank,
                             quantiles, sources_of)


def space(params: str) -> Space:
    text = f"parameters:\n{textwrap.indent(textwrap.dedent(params), '  ')}" \
           "spec: {containers: {score: {image: x}}}\n"
    job = parse_job(text, "job.yaml", environ={})
    return Space(job, job.source)


SPACE = """
    threads: {range: {min: 1, max: 16}, default: 1}
    cache: {range: {min: 0, max: 1000, step: 50}, default: 0}
    mode: {enum: [a, b, c], default: a}
"""
KINDS = {"threads": "int", "cache": "int", "mode": "enum", "workers": "int", "size": "int"}


def src(value: float, number: int = -1, group: str = "g", **params) -> Source:
    return Source(params, value, {n: KINDS[n] for n in params}, number, group)


def test_every_fitting_trial_is_kept_ranked_within_its_group_best_first():
    m = match([src(3.0, 0, threads=2, cache=100, mode="b"),
               src(1.0, 1, threads=8, cache=500, mode="c"),
               src(2.0, 2, threads=4, cache=0, mode="a")], space(SPACE))
    assert [(p.number, p.rank) for p in m.priors] == [(1, 0.0), (2, 0.5), (0, 1.0)]
    assert m.total == 3 and m.dropped == {} and m.params_dropped == {}
    assert m.priors[0].params == {"threads": 8, "cache": 500, "mode": "c"}


def test_a_renamed_parameter_is_dropped_with_its_reason_the_rest_kept():
    m = match([src(1.0, 0, workers=4, cache=100, mode="b"),
               src(2.0, 1, workers=8, cache=200, mode="a")], space(SPACE))
    assert m.params_dropped == {"workers": "not a parameter of this job"}
    assert m.new_params == ["threads"]
    assert [p.params for p in m.priors] == [{"cache": 100, "mode": "b"},
                                            {"cache": 200, "mode": "a"}]


def test_a_workload_parameter_is_not_a_knob_to_learn_from():
    sp = space(SPACE + "    size: {role: workload, enum: [1, 2]}\n")
    m = match([src(1.0, 0, threads=2, size=1)], sp)
    assert m.params_dropped == {"size": "a workload parameter here"}
    assert [p.params for p in m.priors] == [{"threads": 2}]


def test_a_narrowed_range_drops_the_trials_outside_and_says_why():
    sp = space(SPACE.replace("max: 16", "max: 8"))
    m = match([src(1.0, 0, threads=12, cache=0, mode="a"),
               src(2.0, 1, threads=16, cache=0, mode="a"),
               src(3.0, 2, threads=8, cache=0, mode="a")], sp)
    assert m.dropped == {"threads outside 1 .. 8": 2}
    assert [p.number for p in m.priors] == [2]
    assert m.priors[0].rank == 0.0  # ranked among what is kept


def test_a_value_off_the_new_step_is_dropped():
    sp = space(SPACE.replace("step: 50", "step: 100"))
    m = match([src(1.0, 0, cache=150), src(2.0, 1, cache=200)], sp)
    assert m.dropped == {"cache not on the step 100": 1}
    assert [p.params for p in m.priors] == [{"cache": 200}]


def test_a_removed_enum_value_drops_those_trials():
    sp = space(SPACE.replace("[a, b, c]", "[a, c]"))
    m = match([src(1.0, 0, mode="b"), src(2.0, 1, mode="b"), src(3.0, 2, mode="c")], sp)
    assert m.dropped == {"mode=b is not a choice here": 2}
    assert [p.params for p in m.priors] == [{"mode": "c"}]


def test_an_int_that_became_an_enum_drops_the_parameter_not_the_trials():
    sp = space(SPACE.replace("threads: {range: {min: 1, max: 16}, default: 1}",
                             "threads: {enum: [1, 2, 4, 8, 16]}"))
    m = match([src(1.0, 0, threads=2, mode="b"), src(2.0, 1, threads=3, mode="c")], sp)
    assert m.params_dropped == {"threads": "was int, is enum here"}
    assert m.dropped == {}
    assert [p.params for p in m.priors] == [{"mode": "b"}, {"mode": "c"}]


def test_an_int_may_become_a_float():
    sp = space(SPACE.replace("threads: {range: {min: 1, max: 16}",
                             "threads: {range: {min: 1.0, max: 16.0}"))
    m = match([src(1.0, 0, threads=2)], sp)
    assert m.params_dropped == {} and m.priors[0].params == {"threads": 2.0}


def test_a_trial_with_nothing_in_common_is_dropped():
    m = match([src(1.0, 0, workers=4), src(2.0, 1, threads=4)], space(SPACE))
    assert m.dropped == {"no parameter in common": 1}
    assert len(m.priors) == 1


def test_groups_are_ranked_apart_other_scales_do_not_mix():
    m = match([src(100.0, 0, "8 clients", threads=2), src(200.0, 1, "8 clients", threads=4),
               src(1.0, 2, "32 clients", threads=8), src(2.0, 3, "32 clients", threads=16)],
              space(SPACE))
    assert sorted((p.number, p.rank) for p in m.priors) == [(0, 0.0), (1, 1.0), (2, 0.0),
                                                           (3, 1.0)]


def test_seeds_are_the_best_distinct_points_completed_with_defaults_default_excluded():
    m = match([src(1.0, 0, threads=1), src(2.0, 1, threads=4), src(3.0, 2, threads=4),
               src(4.0, 3, threads=8), src(5.0, 4, threads=2)], space(SPACE), seeds=2)
    assert m.seeds == [{"threads": 4, "cache": 0, "mode": "a"},
                       {"threads": 8, "cache": 0, "mode": "a"}]
    assert m.summary()["seeds"] == 2 and m.summary()["used"] == 5


def test_quantiles_best_zero_worst_one_ties_share_their_middle_rank():
    assert quantiles([5.0]) == [0.0]
    assert quantiles([3.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    assert quantiles([1.0, 2.0, 2.0, 3.0, 9.0]) == [0.0, 0.375, 0.375, 0.75, 1.0]
    assert quantiles([7.0, 7.0, 7.0]) == [0.5, 0.5, 0.5]


def priors(n: int) -> list[Prior]:
    return [Prior({"threads": i + 1}, i / (n - 1), i, "g") for i in range(n)]


def test_fading_keeps_an_even_spread_fewer_as_the_study_learns():
    ps = priors(20)
    assert fading(ps, 0, horizon=20) == ps
    half = fading(ps, 10, horizon=20)
    assert [p.number for p in half] == list(range(0, 20, 2))  # best to worst, evenly
    assert [p.number for p in fading(ps, 15, horizon=20)] == [0, 4, 8, 12, 16]
    assert fading(ps, 20, horizon=20) == [] and fading(ps, 50, horizon=20) == []


def test_fading_scales_with_trust():
    ps = priors(20)
    assert len(fading(ps, 0, horizon=20, trust=0.5)) == 10
    assert len(fading(ps, 10, horizon=20, trust=0.5)) == 5
    assert fading(ps, 0, horizon=20, trust=0.0) == []


def test_agreement_one_when_the_prior_orders_rightly_zero_at_a_coin_or_worse():
    assert agreement([0.0, 0.5, 1.0], [1.0, 2.0, 3.0]) == 1.0
    assert agreement([0.0, 0.5, 1.0], [3.0, 2.0, 1.0]) == 0.0  # reversed: no trust
    # 5 of 6 pairs right: 2 * 5/6 - 1
    assert agreement([0.0, 0.2, 0.4, 0.6], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(2 / 3)
    # 4 right, 2 wrong: 1/3; a coin (3 and 3) is 0
    assert agreement([0.0, 0.2, 0.4, 0.6], [2.0, 3.0, 1.0, 4.0]) == pytest.approx(1 / 3)


def test_agreement_none_until_three_pairs_tell_ties_count_for_nothing():
    assert agreement([0.0, 1.0], [1.0, 2.0]) is None
    assert agreement([0.5, 0.5, 0.5, 1.0], [1.0, 2.0, 3.0, 3.0]) is None  # 2 pairs tell
    assert agreement([0.5, 0.5, 0.0, 1.0], [1.0, 2.0, 0.0, 3.0]) == 1.0


def test_nearest_rank_is_the_rank_of_the_closest_earlier_trial():
    ps = [Prior({"threads": 2, "mode": "a"}, 0.0, 0, "g"),
          Prior({"threads": 64, "mode": "a"}, 1.0, 1, "g"),
          Prior({"threads": 4, "mode": "b"}, 0.5, 2, "g")]
    log = {"threads": (1, 64, True), "mode": None}
    assert nearest_rank({"threads": 3, "mode": "a"}, ps, log) == 0.0
    assert nearest_rank({"threads": 40, "mode": "a"}, ps, log) == 1.0
    assert nearest_rank({"threads": 4, "mode": "b"}, ps, log) == 0.5
    # on a linear scale 40 is nearer to 64 too, and 20 nearer to 2 or 4 than to 64
    assert nearest_rank({"threads": 20, "mode": "a"}, ps,
                        {"threads": (1, 64, False), "mode": None}) == 0.0
    assert nearest_rank({}, [], log) == 0.5  # nothing known: the middle


def test_sources_of_keeps_finished_single_values_in_minimising_terms():
    from optuna.distributions import CategoricalDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    dists = {"threads": IntDistribution(1, 16), "mode": CategoricalDistribution(["a", "b"])}
    done = create_trial(params={"threads": 4, "mode": "b"}, distributions=dists, value=10.0)
    done.number = 3
    failed = create_trial(params={"threads": 2, "mode": "a"}, distributions=dists,
                          state=TrialState.FAIL)
    inf = create_trial(params={"threads": 2, "mode": "a"}, distributions=dists,
                       value=float("inf"))
    [s] = sources_of([done, failed, inf], maximize=True, group="earlier")
    assert (s.params, s.value, s.kinds, s.number, s.group) == (
        {"threads": 4, "mode": "b"}, -10.0, {"threads": "int", "mode": "enum"}, 3, "earlier")
    assert sources_of([done], maximize=False, group="g")[0].value == 10.0
