"""The compute's simulation-control endpoint (compute_sim/simulation.py): a run-time fault rule
is installed for the builds after it; a host added at run time is served, registered and kept
up by the process (compute_sim/service.py); a malformed rule or host, or a host name already
taken, is refused, naming what is wrong, and changes nothing."""

from __future__ import annotations

import pytest

from altsim.objects import PayloadError
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.host import SimulatedHost
from compute_sim.rpcapi import SIMULATION_NAMESPACE
from compute_sim.simulation import SimulationEndpoint

CTXT = {"request_id": "req-test"}


def endpoint(injector: FaultInjector, periodic_rows: int = 0,
             added: list[SimulatedHost] | None = None) -> SimulationEndpoint:
    return SimulationEndpoint(injector, lambda: periodic_rows,
                              (added if added is not None else []).append)


def test_a_rule_applies_to_the_builds_after_it_its_first_counted_from_then() -> None:
    injector = FaultInjector([], seed=0)
    assert injector.decide("host1", "before", 1).action == "succeed"
    rule = FaultRule(hosts=["host1"], action="reschedule", first=1, reason="boom")

    endpoint(injector).add_fault_rule(CTXT, rule.model_dump(mode="json"))

    first = injector.decide("host1", "after", 1)
    assert (first.action, first.reason) == ("reschedule", "boom")
    assert injector.decide("host1", "later", 1).action == "succeed"  # times=1: spent
    assert injector.decide("host2", "other", 1).action == "succeed"


def test_a_latency_range_survives_the_wire_form() -> None:
    injector = FaultInjector([], seed=0)
    rule = FaultRule(hosts=["host1"], latency_ms=(10.0, 20.0))
    endpoint(injector).add_fault_rule(CTXT, rule.model_dump(mode="json"))  # a list on the wire
    assert 0.010 <= injector.decide("host1", "vm", 1).latency_s <= 0.020


@pytest.mark.parametrize(("rule", "named"), [
    ("host1", "rule must be a mapping of a fault rule's keys, got str"),
    (None, "got NoneType"),
    ([{"hosts": ["host1"], "action": "abort"}], "got list"),
    ({"action": "abort"}, "hosts: Field required"),
    ({"hosts": [], "action": "abort"}, "hosts: List should have at least 1 item"),
    ({"hosts": ["host1"], "action": "explode"}, "action: Input should be 'reschedule'"),
    ({"hosts": ["host1"], "action": "abort", "first": 0}, "first: Input should be greater"),
    ({"hosts": ["host1"], "action": "abort", "colour": "red"}, "colour: unknown key"),
    ({"hosts": ["host1"]}, "a fault rule needs an action or latency_ms"),
    ({"hosts": ["host1"], "latency_ms": [20, 10]}, "latency_ms range must be [low, high]"),
])
def test_a_malformed_rule_is_refused_naming_the_problem_and_changes_nothing(
        rule: object, named: str) -> None:
    injector = FaultInjector([], seed=0)

    with pytest.raises(PayloadError) as refused:
        endpoint(injector).add_fault_rule(CTXT, rule)

    assert str(refused.value).startswith("add_fault_rule: ")
    assert named in str(refused.value)
    decision = injector.decide("host1", "vm", 1)
    assert (decision.action, decision.latency_s) == ("succeed", 0.0)


def test_the_periodic_task_runs_when_asked_and_says_how_many_rows_it_wrote() -> None:
    assert endpoint(FaultInjector([], seed=0), periodic_rows=3).update_available_resource(
        CTXT) == 3


def test_it_answers_only_in_its_own_namespace() -> None:
    """A build (default namespace) never reaches it, nor it a build's method."""
    target = SimulationEndpoint.target
    assert (target.namespace, target.version) == (SIMULATION_NAMESPACE, "1.1")
    assert not hasattr(SimulationEndpoint, "build_and_run_instance")


def test_a_host_spec_reaches_the_process_as_the_host_it_simulates() -> None:
    added: list[SimulatedHost] = []
    spec = {"name": "host9", "resources": {"VCPU": 4, "MEMORY_MB": 2048, "DISK_GB": 10},
            "allocation_ratio": {"VCPU": 2.0}, "reserved": {"MEMORY_MB": 512},
            "traits": ["CUSTOM_GPU"], "aggregates": ["gpu-hosts"]}

    endpoint(FaultInjector([], seed=0), added=added).add_host(CTXT, spec)

    assert added == [SimulatedHost("host9", {"VCPU": 4, "MEMORY_MB": 2048, "DISK_GB": 10},
                                   {"VCPU": 2.0}, {"MEMORY_MB": 512}, ("CUSTOM_GPU",),
                                   ("gpu-hosts",))]


GOOD_RESOURCES = {"VCPU": 4, "MEMORY_MB": 2048, "DISK_GB": 10}


@pytest.mark.parametrize(("spec", "named"), [
    ("host9", "spec must be a mapping of a host's keys, got str"),
    (None, "got NoneType"),
    ([{"name": "host9", "resources": GOOD_RESOURCES}], "got list"),
    ({"resources": GOOD_RESOURCES}, "name: Field required"),
    ({"name": "", "resources": GOOD_RESOURCES}, "name: String should have at least 1"),
    ({"name": "host9"}, "resources: Field required"),
    ({"name": "host9", "resources": {"VCPU": 0}}, "resources.VCPU: Input should be greater"),
    ({"name": "host9", "resources": {"vcpu": 1}}, "resources.vcpu"),
    ({"name": "host9", "resources": GOOD_RESOURCES, "colour": "red"}, "colour: unknown key"),
    ({"name": "host9", "resources": GOOD_RESOURCES, "reserved": {"VCPU": 5}},
     "reserved.VCPU: 5 is more than the total 4"),
    ({"name": "host9", "resources": GOOD_RESOURCES, "traits": ["GPU"]},
     "'GPU' is neither a standard trait nor a custom one"),
])
def test_a_malformed_host_is_refused_naming_the_problem_and_adds_nothing(
        spec: object, named: str) -> None:
    added: list[SimulatedHost] = []

    with pytest.raises(PayloadError) as refused:
        endpoint(FaultInjector([], seed=0), added=added).add_host(CTXT, spec)

    assert str(refused.value).startswith("add_host: spec")
    assert named in str(refused.value)
    assert added == []
