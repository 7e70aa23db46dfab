"""The cross-check's own logic, without Nova: plans, options, faults, names, comparison, table.

(The cross-check itself, through real Nova, is tests/crosscheck/, run with ALTSIM_CROSSCHECK=1.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim_lab.nova_api import instance_uuid_for
from altsim_lab.scenario.schema import load_scenario, parse_scenario
from compute_sim.faults import FaultInjector, FaultRule
from crosscheck import check, known, table
from crosscheck.compare import CATEGORIES, compare
from crosscheck.nova_side.faults import Faults
from crosscheck.nova_side.names import instance_name, request_server_name
from crosscheck.options import NOVA_DEFAULT_WEIGHERS, STATIC_WEIGHER, nova_options
from crosscheck.plan import TIME_SCALE, build_plan
from crosscheck.venv import _is_current, pinned_version

EXAMPLES = Path(__file__).resolve().parents[2] / "etc" / "altsim" / "scenarios"


def _scenario(**changes: Any) -> Any:
    data = {"name": "s", "seed": 3,
            "cells": [{"name": "cell1", "hosts": [
                {"name": "host1", "resources": {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 40}},
                {"name": "host2", "resources": {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 40},
                 "allocation_ratio": {"VCPU": 2.0}}]}],
            "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
            "requests": [{"name": "web", "flavor": "small", "count": 2, "num_instances": 2}]}
    data.update(changes)
    return parse_scenario(data)


# -- faults: the Nova side's restatement against compute_sim's ---------------------------------

_rules = st.lists(st.fixed_dictionaries({
    "hosts": st.lists(st.sampled_from(["h1", "h2", "h*", "*", "x"]), min_size=1, max_size=2),
    "action": st.sampled_from(["reschedule", "abort", None]),
    "first": st.one_of(st.none(), st.integers(1, 3)),
    "probability": st.one_of(st.none(), st.floats(0.0, 1.0)),
    "latency_ms": st.one_of(st.none(), st.floats(0.0, 50.0),
                            st.tuples(st.floats(0.0, 10.0), st.floats(10.0, 20.0))),
}), max_size=4)


@settings(max_examples=150, deadline=None)
@given(rules=_rules, seed=st.integers(0, 2 ** 32), spawns=st.lists(
    st.tuples(st.sampled_from(["h1", "h2", "x"]), st.sampled_from(["u1", "u2", "u3"]),
              st.integers(1, 3)), max_size=12))
def test_nova_side_faults_decide_as_compute_sim(rules, seed, spawns):
    """Every spawn, in any order, gets the same action, reason and latency from the Nova
    side's stdlib restatement as from compute_sim.faults (time scale 1)."""
    valid = []
    for rule in rules:
        try:
            valid.append(FaultRule(**{k: v for k, v in rule.items() if v is not None}))
        except ValueError:
            continue
    ours = FaultInjector(valid, seed)
    theirs = Faults([rule.model_dump(mode="json") for rule in valid], seed)
    for host, uuid, attempt in spawns:
        expected, got = ours.decide(host, uuid, attempt), theirs.decide(host, uuid, attempt)
        assert (got.action, got.reason) == (expected.action, expected.reason)
        assert got.latency_s == pytest.approx(expected.latency_s)


def test_nova_side_latency_is_stretched_by_the_time_scale():
    rules = [{"hosts": ["h1"], "latency_ms": 40}]
    assert Faults(rules, 0, time_scale=10).decide("h1", "u", 1).latency_s == pytest.approx(0.4)


# -- names ----------------------------------------------------------------------------------------

def test_instance_names_come_back_from_nova_display_names():
    single = request_server_name(["web-3"])
    assert instance_name(single, 0) == "web-3"
    multi = request_server_name(["db-1", "db-2"])
    # Nova's compute API appends -<launch index + 1> to every display name of a multi-create.
    assert instance_name(f"{multi}-1", 0) == "db-1"
    assert instance_name(f"{multi}-2", 1) == "db-2"


# -- options and plan -----------------------------------------------------------------------------

def _flags(options) -> dict:
    return {(group, name): value for group, name, value in options.flags}


def test_options_carry_altsims_values_under_novas_names():
    scenario = _scenario(config={"scheduler.max_attempts": 2,
                                 "filter_scheduler.static_host_weights": {"host1": 5},
                                 "filter_scheduler.static_weight_multiplier": 7.0,
                                 "filter_scheduler.build_failure_weight_multiplier": 3.0,
                                 "scheduler.workers": 2, "conductor.unclaim_by": "compute"})
    options = nova_options(scenario)
    flags = _flags(options)
    assert flags[("scheduler", "max_attempts")] == 2
    assert flags[(None, "reserved_host_memory_mb")] == 0
    assert flags[("quota", "driver")] == "nova.quota.NoopQuotaDriver"
    assert flags[("filter_scheduler", "weight_classes")] == [NOVA_DEFAULT_WEIGHERS,
                                                             STATIC_WEIGHER]
    # host2 has its own VCPU ratio: the compute-node ratio falls back to 1.0.
    assert flags[(None, "cpu_allocation_ratio")] == 1.0
    assert ("filter_scheduler", "enabled_filters") not in flags
    assert options.flags_after_setup == [("filter_scheduler",
                                          "build_failure_weight_multiplier", 3.0)]
    assert (options.static_weights, options.static_weight_multiplier) == ({"host1": 5.0}, 7.0)
    assert set(options.ignored) == {"scheduler.workers", "conductor.unclaim_by"}


def test_named_weighers_and_filters_are_mapped_one_for_one():
    scenario = _scenario(config={
        "filter_scheduler.weight_classes": ["StaticWeigher", "RAMWeigher"],
        "filter_scheduler.enabled_filters": ["ComputeFilter", "ResourceFilter"]})
    flags = _flags(nova_options(scenario))
    assert flags[("filter_scheduler", "weight_classes")] == [
        STATIC_WEIGHER, "nova.scheduler.weights.ram.RAMWeigher"]
    assert flags[("filter_scheduler", "enabled_filters")] == ["ComputeFilter"]


def test_plan_has_every_host_instance_and_altsims_fault_keys():
    scenario = _scenario(faults=[{"hosts": ["host1"], "action": "abort"}])
    plan = build_plan(scenario, 60)
    assert [h["name"] for h in plan["cells"][0]["hosts"]] == ["host1", "host2"]
    assert plan["cells"][0]["hosts"][1]["allocation_ratio"] == {"VCPU": 2.0}
    assert plan["instance_order"] == ["web-1", "web-2", "web-3", "web-4"]
    assert plan["fault_keys"]["web-2"] == instance_uuid_for(3, "s", "web-2")
    assert plan["faults"][0]["reason"] == "simulated spawn failure"   # defaults filled in
    assert (plan["time_scale"], plan["timeout_s"]) == (TIME_SCALE, 60)


# -- comparison -----------------------------------------------------------------------------------

def _report(**instance: Any) -> dict:
    entry = {"name": "web-1", "uuid": "u", "status": "ACTIVE", "host": "host2", "cell": "cell1",
             "selection": ["host1", "host2"],
             "attempts": [{"host": "host1", "result": "rescheduled", "reason": "x",
                           "duration_s": 0.1},
                          {"host": "host2", "result": "active"}],
             "claim_failures": [], "fault": None,
             "allocations": {"host2": {"VCPU": 1}}}
    entry.update(instance)
    return {"instances": [entry],
            "hosts": [{"name": "host1", "cell": "cell1", "usage": {"VCPU": 0},
                       "failed_builds": 1},
                      {"name": "host2", "cell": "cell1", "usage": {"VCPU": 1},
                       "failed_builds": 0}],
            "summary": {"active": 1, "error": 0, "building": 0, "reschedules": 1,
                        "claim_failures": 0, "leaked_allocations": 0}}


def test_equal_reports_agree_whatever_the_fields_only_one_side_has():
    nova = _report()
    nova["instances"][0]["uuid"] = "another"
    del nova["instances"][0]["attempts"][0]["duration_s"]
    comparison = compare("reschedule-once", _report(), nova)
    assert comparison.agrees and comparison.compared == list(CATEGORIES)


def test_a_mismatch_names_category_key_and_both_values():
    fault = {"code": 500, "message": "Build of instance 1b4e28ba-2fa1-11d2-883f-0016d3cca427 x"}
    nova_fault = {"code": 500,
                  "message": "Build of instance 6fa459ea-ee8a-3ca4-894e-db77e160355e y"}
    comparison = compare("reschedule-once", _report(fault=fault), _report(fault=nova_fault))
    [mismatch] = comparison.mismatches
    assert (mismatch.category, mismatch.key) == ("fault", "web-1")
    assert mismatch.altsim["message"] == "Build of instance <uuid> x"
    assert mismatch.nova["message"] == "Build of instance <uuid> y"
    assert mismatch.known is None and comparison.unexpected == [mismatch]


def test_a_known_difference_is_tagged_and_a_missing_one_is_stale(monkeypatch):
    # (There is none today: one as the first cross-check had it, before altsim followed Nova.)
    monkeypatch.setattr(known, "KNOWN_DIFFERENCES", [known.KnownDifference(
        "1", "with max_attempts = 1 Nova's fault is the bare reason", "...",
        {"max-attempts-1": frozenset({"fault"})})])
    ours = _report(fault={"code": 500, "message": "Build of instance u was re-scheduled: x"})
    theirs = _report(fault={"code": 500, "message": "x"})
    comparison = compare("max-attempts-1", ours, theirs)
    assert [m.known for m in comparison.mismatches] == ["1"]
    assert not comparison.unexpected and not comparison.stale_known
    assert compare("max-attempts-1", ours, copy.deepcopy(ours)).stale_known == ["1"]


def test_categories_not_compared_for_a_scenario_are_left_out():
    theirs = _report(host="host1", allocations={"host1": {"VCPU": 1}})
    comparison = compare("one-cell-concurrent", _report(), theirs)
    assert "host" not in comparison.compared and "host" in comparison.not_compared
    assert "spread" in comparison.not_compared and comparison.mismatches == []


def test_known_names_real_scenarios_and_categories():
    names = {path.stem for path in check.scenario_paths()}
    assert set(known.EXCLUDED) <= names and set(known.NOT_COMPARED) <= names
    for categories in known.NOT_COMPARED.values():
        assert set(categories) <= set(CATEGORIES)
    for difference in known.KNOWN_DIFFERENCES:
        assert set(difference.shows) <= names
        for categories in difference.shows.values():
            assert categories <= set(CATEGORIES)


def test_scenario_names_match_their_files():
    """crosscheck.known keys scenarios by name; resolve() finds them by file stem."""
    for path in check.scenario_paths():
        assert load_scenario(path).name == path.stem
    assert check.resolve("abort") == EXAMPLES / "abort.yaml"
    with pytest.raises(FileNotFoundError, match="no such scenario"):
        check.resolve("nope")


# -- table and venv -------------------------------------------------------------------------------

def test_table_is_written_between_the_markers_only(tmp_path):
    page = tmp_path / "fidelity.md"
    page.write_text(f"# Title\n\n{table.START}\nold\n{table.END}\n\nafter\n")
    agreeing = check.Outcome("reschedule-once",
                             comparison=compare("reschedule-once", _report(), _report()))
    table.write([agreeing, check.Outcome("legacy-retry", excluded="no such switch")], page)
    text = page.read_text()
    assert text.startswith("# Title\n\n") and text.endswith(f"{table.END}\n\nafter\n")
    assert "old" not in text
    assert f"Nova {pinned_version('nova')}" in text
    assert f"| `reschedule-once` | all {len(CATEGORIES)} categories | agrees |" in text
    assert "| `legacy-retry` | nothing | not compared: no such switch |" in text


def test_table_refuses_a_page_without_markers(tmp_path):
    page = tmp_path / "fidelity.md"
    page.write_text("# no markers\n")
    with pytest.raises(table.TableError, match="no section marked"):
        table.write([], page)


def test_pins_and_a_venv_without_stamp_is_not_current(tmp_path):
    assert pinned_version("nova") == "34.0.0"
    assert pinned_version("openstack-placement") == "16.0.0"
    assert not _is_current(tmp_path / "venv")
