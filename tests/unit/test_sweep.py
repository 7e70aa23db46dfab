"""Unit tests of `altsim sweep`'s pieces: --set parsing, the cross product and its seeds, the CSV
rows and the per-point summary (means with min-max). No run starts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from altsim_lab.scenario.schema import load_scenario
from altsim_lab.sweep.grid import Axis, SweepError, parse_axes, parse_axis, plan_runs, points
from altsim_lab.sweep.rows import CsvWriter, columns, run_row
from altsim_lab.sweep.summary import Spread, format_spread, shown, summarize

SCENARIO = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios" / "max-attempts-1.yaml"


def summary(**values: object) -> dict:
    base = {"instances": 4, "active": 3, "error": 1, "building": 0, "reschedules": 2,
            "claim_failures": 0, "leaked_allocations": 0, "duration_s": 0.1,
            "builds_per_s": 30.0, "time_to_active_p50_s": 0.01, "time_to_active_p95_s": 0.02,
            "messages": 14}
    return {**base, **values}


# -- --set ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "axis"), [
    ("scheduler.max_attempts=1,3", Axis("scheduler.max_attempts", (1, 3))),
    ("scheduler.max_attempts = 2", Axis("scheduler.max_attempts", (2,))),
    ("filter_scheduler.static_host_weights={host1: 30},{host1: 10, host2: 5}",
     Axis("filter_scheduler.static_host_weights", ({"host1": 30}, {"host1": 10, "host2": 5}))),
    ('filter_scheduler.enabled_filters="ComputeFilter,RamFilter",ComputeFilter',
     Axis("filter_scheduler.enabled_filters", ("ComputeFilter,RamFilter", "ComputeFilter"))),
    ("debug=true,false", Axis("debug", (True, False))),
])
def test_set_values_are_read_as_yaml(text, axis):
    assert parse_axis(text) == axis


@pytest.mark.parametrize(("text", "message"), [
    ("scheduler.max_attempts", "--set 'scheduler.max_attempts': expected group.option=value"),
    ("=1,2", "--set '=1,2': expected group.option=value"),
    ("scheduler.max_attempts=", "--set scheduler.max_attempts: no value given"),
    ("scheduler.max_attempts=1,,3", "--set scheduler.max_attempts: cannot read the values"),
    ("scheduler.max_attempts=1,3,1", "--set scheduler.max_attempts: a value is given twice"),
])
def test_a_malformed_set_is_named(text, message):
    with pytest.raises(SweepError) as caught:
        parse_axis(text)
    assert str(caught.value).startswith(message)


def test_the_same_option_twice_is_refused():
    with pytest.raises(SweepError, match="--set scheduler.max_attempts: given twice"):
        parse_axes(["scheduler.max_attempts=1", "scheduler.max_attempts=3"])


# -- cross product and seeds ----------------------------------------------------------------------

def test_points_are_the_cross_product_first_axis_slowest():
    axes = [Axis("a.x", (1, 2)), Axis("b.y", ("p", "q", "r"))]
    assert points(axes) == [{"a.x": 1, "b.y": "p"}, {"a.x": 1, "b.y": "q"},
                            {"a.x": 1, "b.y": "r"}, {"a.x": 2, "b.y": "p"},
                            {"a.x": 2, "b.y": "q"}, {"a.x": 2, "b.y": "r"}]


def test_each_point_runs_repeat_times_with_successive_seeds_from_the_scenarios():
    # Given max-attempts-1 (seed 5, its own config sets max_attempts and host weights)
    scenario = load_scenario(SCENARIO)
    axes = parse_axes(["scheduler.max_attempts=1,3", "filter_scheduler.host_subset_size=1,2"])
    # When the sweep is planned with three repeats
    runs = plan_runs(scenario, axes, repeat=3)
    # Then there are 2 x 2 points x 3 seeds, seeds 5, 6, 7 for each point in turn
    assert len(runs) == 12
    assert [r.seed for r in runs] == [5, 6, 7] * 4
    assert [r.point for r in runs[::3]] == points(axes)
    # and each run's scenario is the original with the point over its config, and its seed
    last = runs[-1]
    assert last.scenario.seed == 7
    assert last.scenario.config == {**scenario.config, "scheduler.max_attempts": 3,
                                    "filter_scheduler.host_subset_size": 2}
    assert last.scenario.requests == scenario.requests
    assert scenario.seed == 5 and scenario.config["scheduler.max_attempts"] == 1


@pytest.mark.parametrize(("text", "message"), [
    ("scheduler.max_attempts=1,0", "--set scheduler.max_attempts=0: config.scheduler."
                                   "max_attempts: invalid value 0"),
    ("scheduler.max_atempts=1", "--set scheduler.max_atempts=1: config.scheduler."
                                "max_atempts: no such option"),
    ("filter_scheduler.enabled_filters=ComputeFilter,Bogus",
     "--set filter_scheduler.enabled_filters=Bogus: config.filter_scheduler.enabled_filters:"
     " unknown name 'Bogus'"),
])
def test_a_value_no_service_accepts_is_named_before_anything_runs(text, message):
    with pytest.raises(SweepError) as caught:
        plan_runs(load_scenario(SCENARIO), parse_axes([text]), repeat=1)
    assert str(caught.value).startswith(message)


def test_a_scenario_path_sets_that_field_of_the_scenario_and_nothing_else():
    # Given max-attempts-1, whose one fault rule fails host1's first spawn
    scenario = load_scenario(SCENARIO)
    # When a sweep varies the rule's probability and the request's count
    runs = plan_runs(scenario, parse_axes(["faults.0.probability=0.1,0.5",
                                           "requests.0.count=2"]), repeat=1)
    # Then each run's scenario has those values where the paths point, the config untouched
    assert [r.scenario.faults[0].probability for r in runs] == [0.1, 0.5]
    assert {r.scenario.requests[0].count for r in runs} == {2}
    assert all(r.scenario.config == scenario.config for r in runs)
    assert [r.point for r in runs] == [{"faults.0.probability": 0.1, "requests.0.count": 2},
                                       {"faults.0.probability": 0.5, "requests.0.count": 2}]
    assert runs[0].scenario.faults[0].hosts == scenario.faults[0].hosts


@pytest.mark.parametrize(("text", "message"), [
    ("faults.3.probability=0.5",
     "--set faults.3.probability: faults has 1 entry (numbered from 0), not '3'"),
    ("faults.0.probabilty=0.5",
     "--set faults.0.probabilty: faults.0 has no 'probabilty' (it has action, first, hosts,"),
    ("flavors.large.VCPU=2", "--set flavors.large.VCPU: flavors has no 'large' (it has small)"),
    ("faults.0.probability=1.5",
     "--set faults.0.probability=1.5: faults.0.probability: Input should be less than or "
     "equal to 1"),
    ("requests.0.flavor=tiny", "--set requests.0.flavor=tiny: requests.0.flavor: unknown "
                               "flavor 'tiny'"),
    ("seed=1,2", "--set seed: the seeds come from --repeat"),
])
def test_a_bad_scenario_path_or_value_is_named(text, message):
    with pytest.raises(SweepError) as caught:
        plan_runs(load_scenario(SCENARIO), parse_axes([text]), repeat=1)
    assert str(caught.value).startswith(message)


def test_repeat_must_be_positive():
    with pytest.raises(SweepError, match="--repeat: must be at least 1, got 0"):
        plan_runs(load_scenario(SCENARIO), parse_axes(["scheduler.max_attempts=1"]), 0)


# -- CSV rows -------------------------------------------------------------------------------------

def test_columns_are_the_options_then_seed_then_the_numbers():
    assert columns(["scheduler.max_attempts"]) == [
        "scheduler.max_attempts", "seed", "instances", "active", "error", "reschedules",
        "claim_failures", "error_rate", "time_to_active_p50_s", "time_to_active_p95_s",
        "builds_per_s", "messages"]


def test_a_row_copies_the_summary_and_computes_the_error_rate():
    row = run_row({"scheduler.max_attempts": 3}, 42, summary())
    assert row == {"scheduler.max_attempts": 3, "seed": 42, "instances": 4, "active": 3,
                   "error": 1, "reschedules": 2, "claim_failures": 0, "error_rate": 0.25,
                   "time_to_active_p50_s": 0.01, "time_to_active_p95_s": 0.02,
                   "builds_per_s": 30.0, "messages": 14}


def test_unknown_numbers_stay_empty_in_the_csv_and_values_are_written_as_given():
    stream = io.StringIO()
    writer = CsvWriter(stream, ["filter_scheduler.static_host_weights", "debug"])
    writer.write(run_row({"filter_scheduler.static_host_weights": {"h1": 2}, "debug": True}, 1,
                         summary(active=0, error=4, time_to_active_p50_s=None,
                                 time_to_active_p95_s=None, messages=None)))
    header, line = stream.getvalue().splitlines()
    assert header.startswith("filter_scheduler.static_host_weights,debug,seed,")
    assert line == '"{""h1"":2}",true,1,4,0,4,2,0,1.0,,,30.0,'


def test_a_run_without_instances_has_no_error_rate():
    assert run_row({}, 1, summary(instances=0, active=0, error=0))["error_rate"] is None


# -- per-point summary ----------------------------------------------------------------------------

def test_summary_per_point_is_mean_with_min_and_max_in_first_seen_order():
    rows = [run_row({"o.k": 3}, 1, summary(error=0, reschedules=4)),
            run_row({"o.k": 1}, 1, summary(error=4, reschedules=0)),
            run_row({"o.k": 3}, 2, summary(error=2, reschedules=2)),
            run_row({"o.k": 1}, 2, summary(error=2, reschedules=0))]
    first, second = summarize(rows, ["o.k"])
    assert (first.point, first.runs, second.point) == ({"o.k": 3}, 2, {"o.k": 1})
    assert first.metrics["error_rate"] == Spread(0.25, 0.0, 0.5, 2)
    assert first.metrics["reschedules_per_instance"] == Spread(0.75, 0.5, 1.0, 2)
    assert second.metrics["error_rate"] == Spread(0.75, 0.5, 1.0, 2)
    assert second.metrics["messages"] == Spread(14.0, 14.0, 14.0, 2)
    # 14 messages over 3 ACTIVE instances in every run
    assert second.metrics["messages_per_active"] == Spread(14 / 3, 14 / 3, 14 / 3, 2)


def test_messages_per_active_is_unknown_without_counts_or_without_an_active_instance():
    rows = [run_row({"o.k": 1}, 1, summary(messages=None)),
            run_row({"o.k": 2}, 1, summary(active=0, error=4))]
    uncounted, none_active = summarize(rows, ["o.k"])
    assert uncounted.metrics["messages_per_active"] is None
    assert none_active.metrics["messages_per_active"] is None


def test_summary_ignores_unknown_values_and_is_none_when_all_are():
    rows = [run_row({"o.k": 1}, 1, summary(time_to_active_p50_s=None)),
            run_row({"o.k": 1}, 2, summary(time_to_active_p50_s=0.03)),
            run_row({"o.k": 2}, 1, summary(time_to_active_p95_s=None))]
    one, two = summarize(rows, ["o.k"])
    assert one.metrics["time_to_active_p50_s"] == Spread(0.03, 0.03, 0.03, 1)
    assert two.metrics["time_to_active_p95_s"] is None


def test_points_with_dict_values_group_together():
    rows = [run_row({"w": {"a": 1}}, seed, summary()) for seed in (1, 2)]
    (only,) = summarize(rows, ["w"])
    assert only.runs == 2


@pytest.mark.parametrize(("name", "spread", "text", "pair"), [
    ("error_rate", Spread(0.25, 0.0, 0.5, 2), "25% (0-50)", ("25", "0-50")),
    ("time_to_active_p50_s", Spread(0.0125, 0.0125, 0.0125, 2), "12 ms", ("12", "")),
    ("time_to_active_p95_s", Spread(0.0035, 0.001, 0.006, 2), "3.5 ms (1-6)", ("3.5", "1-6")),
    ("reschedules_per_instance", Spread(0.5, 0.25, 0.75, 2), "0.50 (0.25-0.75)",
     ("0.50", "0.25-0.75")),
    ("messages", None, "-", ("-", "")),
])
def test_spreads_are_shown_in_display_units(name, spread, text, pair):
    assert format_spread(name, spread) == text
    assert shown(name, spread) == pair
