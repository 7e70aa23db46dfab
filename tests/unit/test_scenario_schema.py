"""The scenario file (altsim_lab/scenario/schema.py) and its `config:` block
(topology.service_conf)."""

from __future__ import annotations

import copy
import tracemalloc
from pathlib import Path

import pytest

from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.scenario.schema import CellSpec, ScenarioError, load_scenario, parse_scenario
from altsim_lab.scenario.topology import check_config, service_conf

SCENARIOS = Path(__file__).resolve().parents[2] / "etc" / "altsim" / "scenarios"
BASE = {
    "name": "schema-test",
    "seed": 4,
    "cells": [{"name": "cell1", "hosts": [
        {"name": "h1", "resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}},
        {"name": "h2", "resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}}]}],
    "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
    "requests": [{"name": "web", "flavor": "small", "count": 2, "num_instances": 2}],
}


def scenario(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def error_of(data, source="s.yaml") -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source)
    return str(caught.value)


def test_the_base_scenario_is_valid_and_names_its_instances():
    parsed = parse_scenario(scenario())
    assert parsed.instance_names() == ["web-1", "web-2", "web-3", "web-4"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_scenario_parses(path):
    assert load_scenario(path).name == path.stem


# -- unknown keys, named with their path ---------------------------------------------------------

@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d.update(sed=1), "s.yaml: sed: unknown key"),
    (lambda d: d["cells"][0].update(hostz=[]), "s.yaml: cells.0.hostz: unknown key"),
    (lambda d: d["cells"][0]["hosts"][1].update(ram=1), "s.yaml: cells.0.hosts.1.ram: unknown key"),
    (lambda d: d["requests"][0].update(flavour="small"), "requests.0.flavour: unknown key"),
    (lambda d: d.update(expect={"instances": {"web-1": {"stat": "ACTIVE"}}}),
     "expect.instances.web-1.stat: unknown key"),
    (lambda d: d.update(faults=[{"hosts": ["h1"], "action": "abort", "prob": 1}]),
     "faults.0.prob: unknown key"),
])
def test_an_unknown_key_is_named_with_its_path(mutate, path):
    data = scenario()
    mutate(data)
    assert path in error_of(data)


def test_unknown_flavor_is_named_with_the_known_ones():
    data = scenario(requests=[{"name": "web", "flavor": "small"},
                              {"name": "db", "flavor": "tiny"}])
    assert "requests.1.flavor: unknown flavor 'tiny' (known: small)" in error_of(data)


def test_duplicate_host_names_across_cells_are_rejected():
    data = scenario()
    data["cells"].append({"name": "cell2", "hosts": [
        {"name": "h2", "resources": {"VCPU": 1}}]})
    assert "cells: host names must be unique across cells: ['h2']" in error_of(data)


def test_generated_host_names_collide_with_explicit_ones_too():
    data = scenario()
    data["cells"].append({"name": "cell2", "host_count": 2, "host_resources": {"VCPU": 1}})
    data["cells"].append({"name": "cell3", "hosts": [
        {"name": "cell2-host-002", "resources": {"VCPU": 1}}]})
    assert "['cell2-host-002']" in error_of(data)


def test_duplicate_cell_names_and_cell0_are_rejected():
    data = scenario()
    data["cells"].append(copy.deepcopy(data["cells"][0]))
    assert "duplicate cell names" in error_of(data)
    data = scenario()
    data["cells"][0]["name"] = "cell0"
    assert "cell0 is reserved" in error_of(data)


# -- host_count -----------------------------------------------------------------------------------

def test_host_count_names_hosts_cell_host_nnn():
    cell = CellSpec(name="cell2", host_count=3, host_resources={"VCPU": 4},
                    host_allocation_ratio={"VCPU": 2.0})
    hosts = cell.all_hosts()
    assert [h.name for h in hosts] == ["cell2-host-001", "cell2-host-002", "cell2-host-003"]
    assert all(h.resources == {"VCPU": 4} and h.allocation_ratio == {"VCPU": 2.0}
               for h in hosts)


def test_host_count_widens_past_three_digits():
    names = [h.name for h in CellSpec(name="big", host_count=1000,
                                      host_resources={"VCPU": 1}).all_hosts()]
    assert names[0] == "big-host-0001" and names[-1] == "big-host-1000"
    assert len(set(names)) == 1000


@pytest.mark.parametrize(("cell", "text"), [
    ({"name": "c", "host_count": 2}, "cells.0: host_count needs host_resources"),
    ({"name": "c"}, "cells.0: a cell needs hosts or host_count"),
    ({"name": "c", "host_count": 1, "host_resources": {"VCPU": 1},
      "hosts": [{"name": "x", "resources": {"VCPU": 1}}]},
     "cells.0: give either hosts or host_count, not both"),
    ({"name": "c", "host_count": 0, "host_resources": {"VCPU": 1}}, "cells.0.host_count"),
    ({"name": "bad name", "host_count": 1, "host_resources": {"VCPU": 1}}, "cells.0.name"),
])
def test_cell_host_definitions_are_checked(cell, text):
    assert text in error_of(scenario(cells=[cell]))


# -- expectations ---------------------------------------------------------------------------------

def test_expect_naming_an_instance_that_does_not_exist_is_rejected():
    data = scenario(expect={"instances": {"web-4": {"status": "ACTIVE"},
                                          "web-5": {"status": "ERROR"}}})
    message = error_of(data)
    assert "expect.instances.web-5: no such instance" in message
    assert "web-4" not in message.replace("web-5", "")


def test_expect_values_are_checked():
    data = scenario(expect={"instances": {"web-1": {"status": "RUNNING"}}})
    assert "expect.instances.web-1.status" in error_of(data)


@pytest.mark.parametrize(("changes", "text"), [
    ({"requests": []}, "requests"),
    ({"flavors": {}}, "flavors"),
    ({"requests": [{"name": "web", "flavor": "small", "count": 0}]}, "requests.0.count"),
    ({"requests": [{"name": "a", "flavor": "small"}, {"name": "a", "flavor": "small"}]},
     "request names must be unique"),
    ({"faults": [{"hosts": ["h1"]}]}, "faults.0: a fault rule needs an action or latency_ms"),
])
def test_other_invalid_values_are_named(changes, text):
    assert text in error_of(scenario(**changes))


def test_a_scenario_that_is_not_a_mapping_is_rejected():
    assert error_of(["name"], "list.yaml") == (
        "list.yaml: a scenario must be a mapping, got list")


def test_load_scenario_names_the_file_for_bad_yaml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="bad.yaml: not valid YAML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="missing.yaml: cannot read"):
        load_scenario(tmp_path / "missing.yaml")


# -- config overrides -----------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "text"), [
    ({"scheduler.max_atempts": 3}, "config.scheduler.max_atempts: no such option"),
    ({"schedular.max_attempts": 3}, "config.schedular.max_attempts: no such option"),
    ({"no_such_default_option": 1}, "config.no_such_default_option: no such option"),
    ({"scheduler.max_attempts": 0}, "config.scheduler.max_attempts: invalid value 0"),
    ({"scheduler.max_attempts": "many"}, "config.scheduler.max_attempts: invalid value 'many'"),
    ({"conductor.role": "mayor"}, "config.conductor.role: invalid value 'mayor'"),
])
def test_a_bad_config_key_or_value_is_named(config, text):
    parsed = parse_scenario(scenario(config=config))
    with pytest.raises(ConfigOverrideError) as caught:
        service_conf(parsed, "x")
    assert str(caught.value).startswith(text)


def test_config_is_applied_with_seed_and_host():
    parsed = parse_scenario(scenario(config={
        "scheduler.max_attempts": 5,
        "filter_scheduler.static_host_weights": {"h1": 10, "h2": 20},
        "filter_scheduler.host_subset_size": 2}))
    conf = service_conf(parsed, "scheduler-x")
    assert (conf.host, conf.seed, conf.scheduler.max_attempts) == ("scheduler-x", 4, 5)
    assert conf.filter_scheduler.static_host_weights == {"h1": "10", "h2": "20"}
    assert conf.filter_scheduler.host_subset_size == 2


def test_one_scenarios_config_does_not_leak_into_another_scenarios_conf():
    first = parse_scenario(scenario(config={"scheduler.max_attempts": 1}))
    second = parse_scenario(scenario())
    service_conf(first, "first")
    assert service_conf(second, "second").scheduler.max_attempts == 3


@pytest.mark.parametrize(("config", "text"), [
    ({"filter_scheduler.enabled_filters": ["ComputeFilter", "Bogus"]},
     "config.filter_scheduler.enabled_filters: unknown name 'Bogus'"),
    ({"filter_scheduler.weight_classes": ["HeavyWeigher"]},
     "config.filter_scheduler.weight_classes: unknown name 'HeavyWeigher'"),
    ({"filter_scheduler.static_host_weights": {"h1": "lots"}},
     "config.filter_scheduler.static_host_weights: weights must be numbers"),
])
def test_check_config_names_an_unknown_filter_weigher_or_bad_weight(config, text):
    parsed = parse_scenario(scenario(config=config))
    with pytest.raises(ConfigOverrideError) as caught:
        check_config(parsed)
    assert str(caught.value).startswith(text)


# -- bounds, checked without listing what is generated ---------------------------------------------

def test_generated_host_names_are_recognised_from_the_name_alone():
    cell = CellSpec(name="cell2", host_count=12, host_resources={"VCPU": 1})
    assert [cell.generates(name) for name in (
        "cell2-host-001", "cell2-host-012", "cell2-host-013", "cell2-host-000", "cell2-host-1",
        "cell2-host-0001", "cell3-host-001", "cell2-host-00a")] == [
        True, True, False, False, False, False, False, False]
    assert list(cell.host_names()) == [h.name for h in cell.all_hosts()]


def test_instance_names_are_recognised_from_the_name_alone():
    parsed = parse_scenario(scenario(requests=[
        {"name": "web", "flavor": "small", "count": 2, "num_instances": 2},
        {"name": "web-1", "flavor": "small"}]))
    names = parsed.instance_names()
    assert all(parsed.has_instance(name) for name in names)
    assert not any(parsed.has_instance(name) for name in (
        "web-0", "web-5", "web-01", "web-1-2", "db-1", "web", "web-", "web-+1"))


def test_a_scenario_at_its_bounds_is_checked_without_listing_its_hosts():
    """100,000 generated hosts and 100,000 instances: checking them lists none of them (the
    memory peak shows it; the time it takes is a benchmark's business, not a test's)."""
    data = scenario(
        cells=[{"name": f"c{n}", "host_count": 10_000, "host_resources": {"VCPU": 1}}
               for n in range(10)],
        requests=[{"name": "web", "flavor": "small", "count": 50_000, "num_instances": 2}],
        faults=[{"hosts": ["c9-host-10000", "c9-host-1000?"], "action": "abort"}],
        expect={"instances": {"web-100000": {"status": "ACTIVE"}}},
        config={"filter_scheduler.static_host_weights": {"c0-host-00001": 5}})
    tracemalloc.start()
    try:
        check_config(parse_scenario(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, f"{peak / 2**20:.1f} MiB"  # listing the names takes 12+ MiB


@pytest.mark.parametrize(("changes", "text"), [
    ({"requests": [{"name": "web", "flavor": "small", "count": 100_000_000}]},
     "requests.0: count 100000000 x num_instances 1 is 100000000 instances: a run has at most "
     "100000 instances"),
    ({"requests": [{"name": "a", "flavor": "small", "count": 60_000},
                   {"name": "b", "flavor": "small", "num_instances": 60_000}]},
     "requests: 120000 instances in all (count x num_instances, summed): a run has at most "
     "100000 instances"),
    ({"cells": [{"name": "c", "host_count": 10_001, "host_resources": {"VCPU": 1}}]},
     "cells.0.host_count: 10001 hosts: a cell has at most 10000 hosts"),
    ({"faults": [{"hosts": ["h1", "h3"], "action": "abort"}]},
     "faults.0.hosts: 'h3' matches no host of the scenario"),
    ({"faults": [{"hosts": ["h*"], "latency_ms": 1}, {"hosts": ["x?"], "action": "hang"}]},
     "faults.1.hosts: 'x?' matches no host of the scenario"),
])
def test_bounds_and_host_patterns_are_named(changes, text):
    assert text in error_of(scenario(**changes))


def test_a_static_weight_for_a_host_that_does_not_exist_is_refused():
    parsed = parse_scenario(scenario(config={
        "filter_scheduler.static_host_weights": {"h1": 10, "h9": 20}}))
    with pytest.raises(ConfigOverrideError, match="config.filter_scheduler.static_host_weights: "
                                                  "'h9' matches no host of the scenario"):
        check_config(parsed)


@pytest.mark.parametrize(("content", "text"), [
    (b"name: x\n\x00\n", "not a text file (it holds NUL bytes)"),
    (b"\xff\xfe\x00n", "not a text file (not UTF-8)"),
    (b"# " + b"x" * (16 * 2**20), "larger than 16 MiB"),
])
def test_a_file_that_is_no_scenario_at_all_is_one_line(tmp_path, content, text):
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: {text}")


def test_a_fault_expectation_is_the_whole_message_where_fault_contains_is_a_part():
    from altsim_lab.scenario.expectations import check_expectations
    from altsim_lab.scenario.schema import Expectations

    report = {"summary": {}, "instances": [
        {"name": "web-1", "fault": {"message": "Build of instance U was re-scheduled: "
                                               "spawn failed"}}]}

    def ok(**wanted) -> bool:
        [check] = check_expectations(Expectations(instances={"web-1": wanted}), report)
        return check["ok"]

    assert ok(fault_contains="spawn failed")
    assert not ok(fault="spawn failed")
    assert ok(fault="Build of instance U was re-scheduled: spawn failed")


# -- traits, aggregates and flavor extra specs ---------------------------------------------------

def _with_traits(**host_changes):
    data = scenario()
    data["cells"][0]["hosts"][0].update(host_changes)
    return data


def test_traits_aggregates_and_extra_specs_parse():
    data = _with_traits(traits=["CUSTOM_X", "HW_CPU_X86_AVX2"], aggregates=["fast"])
    data["aggregates"] = {"fast": {"metadata": {"trait:CUSTOM_X": "required", "az": "a"}}}
    data["flavors"]["x"] = {"resources": {"VCPU": 1},
                            "extra_specs": {"trait:CUSTOM_X": "required"}}
    parsed = parse_scenario(data)
    assert parsed.cells[0].hosts[0].traits == ["CUSTOM_X", "HW_CPU_X86_AVX2"]
    assert parsed.flavors["x"].extra_specs == {"trait:CUSTOM_X": "required"}
    # The bare form is the resources
    assert parsed.flavors["small"].resources == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert parsed.flavors["small"].extra_specs == {}


@pytest.mark.parametrize(("data", "says"), [
    (_with_traits(traits=["CUSTOM_lower"]),
     "s.yaml: cells.0.hosts.0.traits.0: 'CUSTOM_lower' is neither a standard trait nor a "
     "custom one"),
    (_with_traits(traits=["HW_CPU_X86_AVX3"]), "'HW_CPU_X86_AVX3' is neither a standard"),
    (_with_traits(traits=["CUSTOM_X", "CUSTOM_X"]), "names listed twice: ['CUSTOM_X']"),
    (_with_traits(aggregates=["a b"]), "cells.0.hosts.0.aggregates.0"),
    (scenario(aggregates={"nobody": {"metadata": {}}}),
     "s.yaml: aggregates.nobody: no host is in it"),
    (scenario(aggregates={"x": {"metadata": {"trait:NOPE": "required"}}}),
     "s.yaml: aggregates.x.metadata: trait:NOPE: 'NOPE' is neither a standard trait"),
    (scenario(flavors={"small": {"resources": {"VCPU": 1},
                                 "extra_specs": {"trait:CUSTOM_X": "preferred"}}}),
     "flavors.small.extra_specs.trait:CUSTOM_X"),
    (scenario(flavors={"small": {"resources": {"VCPU": 1},
                                 "extra_specs": {"hw:cpu_policy": "required"}}}),
     "only trait:<NAME> keys are understood"),
    (scenario(cells=[{"name": "c", "hosts": [{"name": "h1", "resources": {"VCPU": 1}}],
                      "host_traits": ["CUSTOM_X"]}]),
     "host_traits and host_aggregates go with host_count"),
])
def test_bad_traits_aggregates_and_extra_specs_are_one_line_errors(data, says):
    message = error_of(data)
    assert says in message and "\n" not in message


def test_generated_hosts_take_the_cells_traits_and_aggregates():
    data = scenario(cells=[{"name": "c", "host_count": 2, "host_resources": {"VCPU": 2},
                            "host_traits": ["CUSTOM_X"], "host_aggregates": ["all"]}],
                    aggregates={"all": {"metadata": {"trait:CUSTOM_X": "required"}}})
    [cell] = parse_scenario(data).cells
    assert [(h.traits, h.aggregates) for h in cell.all_hosts()] == [
        (["CUSTOM_X"], ["all"]), (["CUSTOM_X"], ["all"])]
