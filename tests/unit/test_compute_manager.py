"""The simulated compute (compute_sim/manager.py): success, reschedule, abort, failed_builds.

A real ComputeManager on a real cell DB and placement; the conductor API and the notifier are
recorders, the fault injector is real and the sleep is recorded instead of slept. Its tracker's
update_available_resource is called by hand where the periodic task would run.
"""

from __future__ import annotations

import pytest

from altsim.events import BUILD_EVENT
from altsim.objects import PayloadError, RetryInfo
from altsim_lab.testing import SMALL, FakeConductorAPI, FakeNotifier
from compute_sim.failed_builds import FlushedByTracker, WrittenWithOutcome
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.manager import ComputeManager
from compute_sim.resources import PlacementResources
from compute_sim.tracker import ResourceTracker


class Compute:
    """One compute host of a world with its recorders."""

    def __init__(self, world, host: str, rules: list[FaultRule], seed: int = 0,
                 flush: str = "tracker") -> None:
        """`flush`: [compute_sim] failed_builds_flush."""
        self.world = world
        self.host = host
        self.conductor_api = FakeConductorAPI()
        self.notifier = FakeNotifier()
        self.sleeps: list[float] = []
        simulated, cell_db = world.hosts[host], world.cell_db_of(host)
        self.tracker = ResourceTracker(simulated, cell_db, check_fit=False,
                                       keeps_failed_builds=flush == "tracker")
        self.manager = ComputeManager(
            simulated, cell_db, world.placement, self.conductor_api, self.notifier,
            FaultInjector(rules, seed), sleep=self.sleeps.append,
            resources=PlacementResources(world.placement, False, self.tracker),
            failed_builds=(FlushedByTracker(self.tracker) if flush == "tracker"
                           else WrittenWithOutcome(cell_db, simulated.node_uuid)))

    def build(self, instance, retry: RetryInfo | None, alternates: list[str] = ()) -> None:
        self.manager.build_and_run_instance(
            {"request_id": "req-c"}, instance, self.world.spec(instance.name), retry,
            [self.world.selection(h) for h in alternates], {})


def row_then_flushed(cell, compute: Compute) -> tuple[int, int]:
    """The host's failed_builds in its compute node row, then after the periodic task."""
    before = cell.failed_builds(compute.host)
    compute.tracker.update_available_resource()
    return before, cell.failed_builds(compute.host)


def retry_on(host: str) -> RetryInfo:
    return RetryInfo(num_attempts=1, hosts=[(host, host)])


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    return world


def reschedule_rule(reason: str = "libvirt error", **kwargs) -> FaultRule:
    return FaultRule(hosts=["h1"], action="reschedule", reason=reason, **kwargs)


# -- success and rule 27 --------------------------------------------------------------------------

def test_successful_build_goes_active_on_this_host(cell):
    compute = Compute(cell, "h1", [])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, retry_on("h1"), ["h2"])
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"], row["host"], row["node"]) == (
        "active", None, "h1", "h1")
    assert row["launched_at"] is not None
    assert compute.conductor_api.build_instances_casts == []
    assert cell.allocations(instance.uuid) == {"h1": SMALL.resources}
    assert [(e.event, e.result, e.host) for e in cell.events(instance)] == [
        (BUILD_EVENT, "active", "h1")]
    assert [p["instance_uuid"] for p in compute.notifier.of_type("instance.create.end")] == [
        instance.uuid]


def test_rule_27_failed_builds_reach_the_row_at_the_hosts_next_claim_or_periodic(cell):
    """Nova: _build_failed / _build_succeeded change the tracker's stats only; the row gets
    them with the tracker's next write (the next claim, or update_available_resource)."""
    compute = Compute(cell, "h1", [reschedule_rule(first=2)])
    compute.build(cell.create_instance("bad-1", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.failed_builds("h1") == 0  # counted in memory only
    compute.build(cell.create_instance("bad-2", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.failed_builds("h1") == 1  # bad-2's claim wrote bad-1's failure
    compute.build(cell.create_instance("good", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.failed_builds("h1") == 2  # good's claim wrote bad-2's; its success waits
    assert compute.tracker.update_available_resource()
    assert cell.failed_builds("h1") == 0  # the periodic task wrote the reset
    assert not compute.tracker.update_available_resource()  # nothing left to write
    assert cell.failed_builds("h2") == 0


def test_rule_27_with_immediate_flush_each_outcome_writes_the_count(cell):
    """[compute_sim] failed_builds_flush = immediate (altsim's former behaviour)."""
    compute = Compute(cell, "h1", [reschedule_rule(first=2)], flush="immediate")
    for n in (1, 2):
        compute.build(cell.create_instance(f"bad-{n}", claim_on="h1"), retry_on("h1"), ["h2"])
        assert cell.failed_builds("h1") == n
    compute.build(cell.create_instance("good", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.failed_builds("h1") == 0
    assert not compute.tracker.update_available_resource()  # the tracker keeps no count
    assert cell.failed_builds("h2") == 0


def test_every_claim_and_release_writes_the_hosts_usage_to_its_row(cell):
    """As Nova's ResourceTracker (instance_claim and abort_instance_claim call _update), with
    placement too: what the scheduler reads with [scheduler] host_view = compute_nodes."""
    compute = Compute(cell, "h1", [FaultRule(hosts=["h1"], action="reschedule", first=1,
                                             reason="spawn failed")])
    compute.build(cell.create_instance("bad", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.node_usage("h1") == dict.fromkeys(SMALL.resources, 0)  # claimed, given back
    compute.build(cell.create_instance("good", claim_on="h1"), retry_on("h1"), ["h2"])
    assert cell.node_usage("h1") == SMALL.resources


# -- rule 14 --------------------------------------------------------------------------------------

def test_rule_14_without_retry_a_reschedulable_failure_is_error_at_once(cell):
    compute = Compute(cell, "h1", [reschedule_rule("spawn failed")])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, None)
    assert compute.conductor_api.build_instances_casts == []
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"]) == ("error", None)
    # Nova's fault is the bare reason (fault_message=e.kwargs['reason']), not the
    # exception's "Build of instance U was re-scheduled: ..." text.
    assert cell.fault(instance) == "spawn failed"
    assert cell.allocations(instance.uuid) == {}
    assert set(cell.usage("h1").values()) == {0}
    assert row_then_flushed(cell, compute) == (0, 1)
    assert [(e.result, e.reason) for e in cell.events(instance)] == [("failed", "spawn failed")]
    [payload] = compute.notifier.of_type("instance.create.error")
    assert payload["fault"] == cell.fault(instance)


# -- rule 15 --------------------------------------------------------------------------------------

def test_rule_15_reschedule_casts_build_instances_with_the_remaining_alternates(cell):
    """altsim difference (as the Queens design describes it): the compute does NOT delete the
    instance's allocations before casting the reschedule; the cell conductor removes them (see
    test_conductor_reschedule.py). Everything else of rule 15 is the compute's job here too."""
    compute = Compute(cell, "h1", [reschedule_rule("port binding failed")])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, retry_on("h1"), ["h2", "h3"])

    [cast] = compute.conductor_api.build_instances_casts
    assert [s.service_host for s in cast.host_list] == ["h2", "h3"]
    assert cast.instance.uuid == instance.uuid
    assert cast.request_spec.instance_uuid == instance.uuid
    # The conductor counts the attempt; the compute only hands over the reason.
    assert cast.retry == RetryInfo(num_attempts=1, hosts=[("h1", "h1")],
                                   exc_reason="port binding failed")
    # Still building, back to scheduling, no host.
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"], row["host"], row["node"]) == (
        "building", "scheduling", None, None)
    assert row_then_flushed(cell, compute) == (0, 1)
    assert [(e.result, e.host, e.reason) for e in cell.events(instance)] == [
        ("rescheduled", "h1", "port binding failed")]
    # The difference from Nova: h1's allocation is still there until the cell conductor runs.
    assert cell.allocations(instance.uuid) == {"h1": SMALL.resources}
    assert compute.notifier.events == []  # not finished: no create.end/.error


def test_rule_15_reschedule_with_an_empty_host_list_still_goes_to_the_conductor(cell):
    """The compute does not judge the list; the cell conductor fails it (rule 18)."""
    compute = Compute(cell, "h1", [reschedule_rule()])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, retry_on("h1"), [])
    [cast] = compute.conductor_api.build_instances_casts
    assert cast.host_list == []


def test_rule_15_reschedule_nulls_the_availability_zone_too(cell):
    compute = Compute(cell, "h1", [reschedule_rule()])
    instance = cell.create_instance("web-1", claim_on="h1", availability_zone="az-h1")
    compute.build(instance, retry_on("h1"), ["h2"])
    assert cell.row(instance)["availability_zone"] is None


# -- rule 16 --------------------------------------------------------------------------------------

def test_rule_16_abort_never_reschedules_even_with_retry_and_alternates(cell):
    compute = Compute(cell, "h1", [FaultRule(hosts=["h*"], action="abort",
                                             reason="volume attach refused")])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, retry_on("h1"), ["h2", "h3"])
    assert compute.conductor_api.build_instances_casts == []
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"], row["host"]) == ("error", None, None)
    assert cell.fault(instance) == (f"Build of instance {instance.uuid} aborted: "
                                    f"volume attach refused")
    assert cell.allocations(instance.uuid) == {}
    assert set(cell.usage("h1").values()) == {0}
    assert row_then_flushed(cell, compute) == (0, 1)
    assert [(e.result, e.host) for e in cell.events(instance)] == [("aborted", "h1")]
    assert compute.notifier.of_type("instance.create.error")[0]["instance_uuid"] == instance.uuid


# -- latency --------------------------------------------------------------------------------------

def test_latency_is_slept_before_the_outcome_even_when_the_spawn_then_fails(cell):
    compute = Compute(cell, "h1", [reschedule_rule(), FaultRule(hosts=["h1"], latency_ms=250)])
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build(instance, retry_on("h1"), ["h2"])
    assert compute.sleeps == [0.25]
    assert len(compute.conductor_api.build_instances_casts) == 1


def test_no_latency_rule_means_no_sleep(cell):
    compute = Compute(cell, "h1", [])
    compute.build(cell.create_instance("web-1", claim_on="h1"), retry_on("h1"))
    assert compute.sleeps == []


# -- payload checks -------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "text"), [
    ("instance", {"uuid": "x"}, "instance must be a Instance"),
    ("request_spec", None, "request_spec must be a RequestSpec"),
    ("retry", {"num_attempts": 1}, "retry must be a RetryInfo or None"),
    ("host_list", ["h2"], "host_list must be a list of Selection"),
])
def test_build_and_run_instance_rejects_malformed_arguments_by_name(cell, field, value, text):
    compute = Compute(cell, "h1", [])
    instance = cell.create_instance("web-1", claim_on="h1")
    args = {"instance": instance, "request_spec": cell.spec("web-1"), "retry": retry_on("h1"),
            "host_list": [], "limits": {}, field: value}
    with pytest.raises(PayloadError, match=text):
        compute.manager.build_and_run_instance({}, **args)
    assert cell.row(instance)["vm_state"] == "building"
    assert cell.failed_builds("h1") == 0

