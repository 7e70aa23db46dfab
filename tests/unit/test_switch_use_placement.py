"""[scheduler] use_placement = false: each compute's own tracker, compute nodes that report
usage, a scheduler that reads them, and a build that does not fit rescheduled by the compute
(compute_sim/tracker.py, compute_sim/resources.py, altsim/db/cell.py, scheduler/host_manager.py,
scheduler/selector.py, altsim_lab/scenario/tracker_usage.py)."""

from __future__ import annotations

import threading

from altsim.events import BUILD_EVENT
from altsim.objects import RetryInfo
from altsim_lab.scenario.tracker_usage import TrackerUsage
from altsim_lab.testing import (
    SMALL,
    FakeConductorAPI,
    FakeNotifier,
    Loopback,
    ScriptedPlacement,
    instance_uuid,
    make_test_conf,
)
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.manager import ComputeManager
from compute_sim.resources import TrackerResources
from compute_sim.tracker import ResourceTracker
from placement_sim.exceptions import PlacementUnavailable
from scheduler.host_manager import HostManager

# Without placement nothing but a resource filter keeps the scheduler off a full host (as
# the RamFilter and DiskFilter of pre-Pike Nova's default filters).
NO_PLACEMENT = {"scheduler.use_placement": False,
                "filter_scheduler.enabled_filters": ["ComputeFilter", "ResourceFilter"]}
TWO_SLOTS = {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}
INSUFFICIENT = "Insufficient compute resources: Free VCPU 0 < requested 1."


def tracker_of(world, host: str) -> ResourceTracker:
    return ResourceTracker(world.hosts[host], world.cell_db_of(host))


def node_usage(world, host: str) -> dict[str, int]:
    return TrackerUsage([world.cell_db_of(host)]).get_usages(world.rp(host))


# -- the tracker ---------------------------------------------------------------------------------

def test_the_tracker_takes_what_fits_and_refuses_the_rest_with_novas_reason(world):
    world.add_host("h1", **TWO_SLOTS)
    tracker = tracker_of(world, "h1")
    assert tracker.claim("a", SMALL.resources) is None
    assert tracker.claim("b", SMALL.resources) is None
    assert tracker.claim("c", SMALL.resources) == INSUFFICIENT
    assert tracker.used() == TWO_SLOTS
    assert tracker.release("a") and not tracker.release("c")
    assert tracker.claim("c", SMALL.resources) is None


def test_the_tracker_reports_claims_and_usage_in_the_cell_db_moving_the_stamp(world):
    world.add_host("h1", **TWO_SLOTS)
    cell_db, tracker = world.cell_db_of("h1"), tracker_of(world, "h1")
    before = cell_db.compute_node_rows()[0]
    tracker.claim("a", SMALL.resources)
    assert cell_db.compute_node_rows()[0] != before
    assert node_usage(world, "h1") == SMALL.resources
    assert cell_db.list_resource_claims() == {"a": (world.rp("h1"), SMALL.resources)}
    tracker.release("a")
    assert node_usage(world, "h1") == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert cell_db.list_resource_claims() == {}


def test_concurrent_claims_never_exceed_the_capacity(world):
    world.add_host("h1", VCPU=5, MEMORY_MB=100000, DISK_GB=1000)
    tracker, results = tracker_of(world, "h1"), []
    threads = [threading.Thread(target=lambda n=n: results.append(
        tracker.claim(f"i{n}", SMALL.resources))) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 5
    assert tracker.used()["VCPU"] == 5 == node_usage(world, "h1")["VCPU"]


# -- the scheduler -------------------------------------------------------------------------------

def test_host_states_come_from_the_compute_nodes_reported_usage(world):
    world.add_hosts("cell1", ["h1", "h2"], **TWO_SLOTS)
    tracker_of(world, "h1").claim("a", SMALL.resources)
    states = {s.host: s.free_resources for s in HostManager(world.cell_dbs).get_node_host_states()}
    assert states == {"h1": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}, "h2": TWO_SLOTS}


def test_the_scheduler_never_asks_placement_and_returns_hosts_without_claims(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"], VCPU=1, MEMORY_MB=512, DISK_GB=1)
    tracker_of(world, "h1").claim("other", SMALL.resources)  # h1 reports itself full
    down = ScriptedPlacement(world.placement, candidates_error=PlacementUnavailable("down"))
    manager = world.scheduler_manager(make_test_conf(NO_PLACEMENT), placement=down)
    [host_list] = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")])
    assert [s.service_host for s in host_list] == ["h2", "h3"]  # filters and weighers as ever
    assert [s.allocation_request for s in host_list] == [None, None]
    assert down.claims == [] and world.used_hosts() == set()


# -- the compute ---------------------------------------------------------------------------------

def compute(world, host: str, rules=()) -> tuple[ComputeManager, FakeConductorAPI,
                                                 ResourceTracker]:
    conductor_api, tracker = FakeConductorAPI(), tracker_of(world, host)
    return ComputeManager(world.hosts[host], world.cell_db_of(host), world.placement,
                          conductor_api, FakeNotifier(), FaultInjector(list(rules), 0),
                          sleep=lambda s: None,
                          resources=TrackerResources(tracker)), conductor_api, tracker


def test_a_build_that_does_not_fit_is_rescheduled_by_the_compute(world):
    world.add_hosts("cell1", ["h1", "h2"], VCPU=1, MEMORY_MB=512, DISK_GB=1)
    manager, conductor_api, tracker = compute(world, "h1")
    first, second = world.create_instance("a"), world.create_instance("b")
    retry = RetryInfo(hosts=[("h1", "h1")])
    manager.build_and_run_instance({}, first, world.spec("a"), retry, [], {})
    manager.build_and_run_instance({}, second, world.spec("b"), retry,
                                   [world.selection("h2", allocation_request=None)], {})
    assert world.row(first)["vm_state"] == "active"
    [cast] = conductor_api.build_instances_casts
    assert (cast.instance.uuid, cast.retry.exc_reason) == (second.uuid, INSUFFICIENT)
    [event] = [e for e in world.events(second) if e.event == BUILD_EVENT]
    assert (event.result, event.reason) == ("rescheduled", INSUFFICIENT)
    # Counted, as Nova's RESCHEDULED is: in the row once the periodic task writes it (a
    # refused claim writes nothing).
    assert world.failed_builds("h1") == 0
    assert tracker.update_available_resource()
    assert world.failed_builds("h1") == 1
    assert node_usage(world, "h1") == SMALL.resources  # the refused build took nothing


def test_a_failed_spawn_gives_the_resources_back(world):
    world.add_hosts("cell1", ["h1"], **TWO_SLOTS)
    manager, _, _ = compute(world, "h1", [FaultRule(hosts=["h1"], action="abort")])
    instance = world.create_instance("a")
    manager.build_and_run_instance({}, instance, world.spec("a"), None, [], {})
    assert world.row(instance)["vm_state"] == "error"
    assert node_usage(world, "h1")["VCPU"] == 0
    assert world.cell_db_of("h1").list_resource_claims() == {}


# -- the whole build path and the report's view --------------------------------------------------

def test_the_build_path_without_placement_leaves_nothing_in_placement(world):
    world.add_hosts("cell1", ["h1", "h2"], VCPU=1, MEMORY_MB=512, DISK_GB=1)
    loop = Loopback(world, make_test_conf(NO_PLACEMENT))
    uuids = loop.build(["a", "b"])
    assert {world.row(u)["vm_state"] for u in uuids} == {"active"}
    assert world.used_hosts() == set()  # placement holds nothing
    usage = TrackerUsage(world.cell_dbs.values())
    assert {h: usage.get_allocations_for_consumer(u) for u, h in zip(
        uuids, ("h1", "h2"), strict=True)} == {
        "h1": {world.rp("h1"): SMALL.resources}, "h2": {world.rp("h2"): SMALL.resources}}
    assert set(usage.get_provider_allocations(world.rp("h1"))) == {uuids[0]}
    assert sorted(p["name"] for p in usage.list_resource_providers()) == ["h1", "h2"]


def test_two_answers_before_any_build_send_the_second_to_a_full_host_which_reschedules(world):
    world.add_hosts("cell1", ["h1", "h2"], VCPU=1, MEMORY_MB=512, DISK_GB=1)
    conf = make_test_conf({**NO_PLACEMENT, "filter_scheduler.static_host_weights":
                           {"h1": "20", "h2": "10"}})
    loop = Loopback(world, conf)
    # Both requests are scheduled before either build starts (as concurrent requests are).
    for names in (["a"], ["b"]):
        build_requests, specs = world.new_request(names)
        loop.schedule_and_build({}, build_requests, specs)
    while loop.queue:
        loop.queue.popleft()()
    assert loop.spawn_hosts(instance_uuid("a")) == [("h1", "active")]
    assert loop.spawn_hosts(instance_uuid("b")) == [("h1", "rescheduled"), ("h2", "active")]
