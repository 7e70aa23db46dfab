"""[scheduler] claim_in = conductor: the scheduler returns hosts without claiming them and the
super conductor claims, falling down the list (scheduler/selector.py,
conductor/tasks/schedule_and_build.py, conductor/tasks/claims.py, conductor/tasks/cell0.py).
"""

from __future__ import annotations

from altsim.events import CLAIM_EVENT, SCHEDULE_EVENT
from altsim.exceptions import NoValidHost
from altsim.objects import CELL0_UUID
from altsim_lab.testing import (
    SMALL,
    FakeComputeAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    Loopback,
    ScriptedPlacement,
    fill,
    instance_uuid,
    make_test_conf,
)
from conductor import wiring
from conductor.tasks.cell0 import BuryInCell0
from placement_sim.exceptions import AllocationUpdateFailed

ONE_SLOT = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
CONDUCTOR = {"scheduler.claim_in": "conductor",
             "filter_scheduler.static_host_weights": {"h1": "30", "h2": "20", "h3": "10"}}


class SuperConductor:
    """The super conductor's build task as the service builder wires it for a conf."""

    def __init__(self, world, conf, scheduler_api, placement=None) -> None:
        self.world = world
        self.notifier = FakeNotifier()
        self.compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
        self.task = wiring.schedule_and_build(
            conf, world.api_db, world.cell_dbs, scheduler_api, lambda cell: self.compute_api,
            BuryInCell0(world.api_db, world.cell0_db, self.notifier),
            placement or world.placement)

    def run(self, names: list[str]) -> list[str]:
        build_requests, specs = self.world.new_request(names)
        self.task({"request_id": "req-claim"}, build_requests, specs)
        return [spec.instance_uuid for spec in specs]

    def casts(self) -> list[tuple[str, list[str]]]:
        return [(c.host, [s.service_host for s in c.host_list]) for c in self.compute_api.casts]


# -- the scheduler ----------------------------------------------------------------------------

def test_the_scheduler_returns_the_chosen_host_and_alternates_unclaimed(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    manager = world.scheduler_manager(make_test_conf(CONDUCTOR))
    [host_list] = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")])
    assert [s.service_host for s in host_list] == ["h1", "h2", "h3"]
    assert all(s.allocation_request is not None for s in host_list)  # for the conductor
    assert world.used_hosts() == set()


def test_a_multi_create_still_spreads_over_the_schedulers_own_copies(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"], **ONE_SLOT)
    # No static weights: the resource weighers see what "a" consumed (without a resource
    # filter, as Nova's defaults, nothing else would turn "b" away from a full h1).
    manager = world.scheduler_manager(make_test_conf({"scheduler.claim_in": "conductor"}))
    lists = manager.select_destinations({}, world.spec("a", num_instances=2),
                                        [instance_uuid("a"), instance_uuid("b")])
    assert [[s.service_host for s in lst] for lst in lists] == [["h1", "h3"], ["h2", "h3"]]
    assert world.used_hosts() == set()


def test_two_requests_before_any_claim_are_handed_the_same_last_slot(world):
    """The race of the Boston-summit plan: nothing is claimed between the two answers."""
    world.add_hosts("cell1", ["h1", "h2", "h3"], **ONE_SLOT)
    manager = world.scheduler_manager(make_test_conf(CONDUCTOR))
    first = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")])
    second = manager.select_destinations({}, world.spec("b"), [instance_uuid("b")])
    assert first[0][0].service_host == second[0][0].service_host == "h1"


def test_the_scheduler_claims_as_before_by_default(world):
    world.add_hosts("cell1", ["h1", "h2"])
    manager = world.scheduler_manager(make_test_conf())
    manager.select_destinations({}, world.spec("a"), [instance_uuid("a")])
    assert world.allocations(instance_uuid("a")) == {"h1": SMALL.resources}


# -- the super conductor ------------------------------------------------------------------------

def test_the_super_conductor_claims_the_chosen_host(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    lists = [[world.selection(h) for h in ("h1", "h2", "h3")]]
    conductor = SuperConductor(world, make_test_conf(CONDUCTOR), FakeSchedulerAPI(result=lists))
    [uuid] = conductor.run(["web-1"])
    assert world.allocations(uuid) == {"h1": SMALL.resources}
    assert conductor.casts() == [("h1", ["h2", "h3"])]
    assert [e.event for e in world.events(uuid, world.cell_db_of("h1"))] == [SCHEDULE_EVENT]


def test_a_lost_claim_falls_to_the_next_alternate_which_is_consumed_and_recorded(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    fill(world.placement, world.rp("h1"))
    lists = [[world.selection(h) for h in ("h1", "h2", "h3")]]
    conductor = SuperConductor(world, make_test_conf(CONDUCTOR), FakeSchedulerAPI(result=lists))
    [uuid] = conductor.run(["web-1"])
    assert world.allocations(uuid) == {"h2": SMALL.resources}
    assert conductor.casts() == [("h2", ["h3"])]  # h1 is not handed on
    events = world.events(uuid, world.cell_db_of("h1"))
    assert [(e.event, e.result, e.host) for e in events] == [
        (CLAIM_EVENT, "failed", "h1"), (SCHEDULE_EVENT, "success", "h2")]
    assert events[1].details == {"selection": ["h1", "h2", "h3"]}  # what the scheduler said


def test_an_instance_none_of_whose_hosts_can_be_claimed_is_buried_in_cell0(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    for host in ("h1", "h2"):
        fill(world.placement, world.rp(host))
    lists = [[world.selection("h1"), world.selection("h2")], [world.selection("h3")]]
    conductor = SuperConductor(world, make_test_conf(CONDUCTOR), FakeSchedulerAPI(result=lists))
    doomed, fine = conductor.run(["web-1", "web-2"])
    row = world.row(doomed)
    assert (row["vm_state"], world.api_db.instance_cells()[doomed]) == ("error", CELL0_UUID)
    assert world.cell0_db.list_faults()[doomed].message == str(NoValidHost())
    events = world.events(doomed)
    assert [(e.event, e.host) for e in events] == [
        (CLAIM_EVENT, "h1"), (CLAIM_EVENT, "h2"), (SCHEDULE_EVENT, None)]
    assert events[-1].details == {"selection": ["h1", "h2"]}
    assert world.allocations(doomed) == {}
    # only that instance: the other one of the request still builds
    assert conductor.casts() == [("h3", [])]
    assert world.allocations(fine) == {"h3": SMALL.resources}


def test_an_exception_from_a_claim_buries_without_trying_further_hosts(world):
    world.add_hosts("cell1", ["h1", "h2"])
    error = AllocationUpdateFailed("x", "consumer generation conflict")
    placement = ScriptedPlacement(world.placement, raise_on={world.rp("h1"): error})
    lists = [[world.selection("h1"), world.selection("h2")]]
    conductor = SuperConductor(world, make_test_conf(CONDUCTOR), FakeSchedulerAPI(result=lists),
                               placement)
    [uuid] = conductor.run(["web-1"])
    assert world.api_db.instance_cells()[uuid] == CELL0_UUID
    assert [c[1] for c in placement.claims] == [world.rp("h1")]
    assert conductor.casts() == []


def test_with_claim_in_scheduler_the_super_conductor_never_claims(world):
    world.add_hosts("cell1", ["h1", "h2"])
    placement = ScriptedPlacement(world.placement)
    lists = [[world.selection("h1"), world.selection("h2")]]
    conductor = SuperConductor(world, make_test_conf(), FakeSchedulerAPI(result=lists),
                               placement)
    conductor.run(["web-1"])
    assert placement.claims == []
    assert conductor.casts() == [("h1", ["h2"])]


def test_the_whole_build_path_in_conductor_mode_leaves_one_allocation(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"], **ONE_SLOT)
    loop = Loopback(world, make_test_conf(CONDUCTOR))
    uuids = loop.build(["a", "b", "c"])
    assert {h for uuid in uuids for h in world.allocations(uuid)} == {"h1", "h2", "h3"}
    assert [loop.spawn_hosts(uuid) for uuid in uuids] == [
        [("h1", "active")], [("h2", "active")], [("h3", "active")]]
