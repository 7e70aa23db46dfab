"""[conductor] unclaim_by: who deletes a failed build's allocations before the reschedule, the
cell conductor (the Queens design) or the compute (Nova master) (compute_sim/resources.py,
compute_sim/manager.py, conductor/tasks/reschedule.py)."""

from __future__ import annotations

from typing import Any

import pytest

from altsim.events import COMPUTE_UNCLAIM_EVENT as COMPUTE_UNCLAIM
from altsim.events import CONDUCTOR_UNCLAIM_EVENT as CONDUCTOR_UNCLAIM
from altsim.objects import RetryInfo
from altsim_lab.testing import (
    SMALL,
    FakeComputeAPI,
    FakeConductorAPI,
    FakeNotifier,
    Loopback,
    make_test_conf,
)
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.manager import ComputeManager
from compute_sim.resources import PlacementResources
from compute_sim.tracker import ResourceTracker
from conductor import wiring

COMPUTE = {"conductor.unclaim_by": "compute"}


class CountingPlacement:
    """The world's placement, counting allocation deletes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.deleted: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def delete_allocation_for_instance(self, consumer_uuid: str) -> bool:
        self.deleted.append(consumer_uuid)
        return self._inner.delete_allocation_for_instance(consumer_uuid)


def failing_compute(world, host: str, unclaim: bool, seen_at_cast: list) -> ComputeManager:
    def at_cast(cast) -> None:  # what placement holds when the reschedule leaves the compute
        seen_at_cast.append(world.allocations(cast.instance.uuid))

    return ComputeManager(
        world.hosts[host], world.cell_db_of(host), world.placement, FakeConductorAPI(at_cast),
        FakeNotifier(), FaultInjector([FaultRule(hosts=[host], action="reschedule")], 0),
        sleep=lambda s: None, resources=PlacementResources(
            world.placement, unclaim, ResourceTracker(world.hosts[host], world.cell_db_of(host),
                                                      check_fit=False)))


@pytest.mark.parametrize(("unclaim", "held_at_cast", "events"), [
    (True, {}, [(COMPUTE_UNCLAIM, "deleted", "h1")]),     # unclaim_by = compute
    (False, {"h1": SMALL.resources}, []),                 # left to the cell conductor
], ids=["compute", "cell_conductor"])
def test_the_compute_unclaims_before_it_casts_the_reschedule(world, unclaim, held_at_cast,
                                                             events):
    world.add_hosts("cell1", ["h1", "h2"])
    instance = world.create_instance("web-1", claim_on="h1")
    seen: list = []
    failing_compute(world, "h1", unclaim, seen).build_and_run_instance(
        {}, instance, world.spec("web-1"), RetryInfo(hosts=[("h1", "h1")]),
        [world.selection("h2")], {})
    assert seen == [held_at_cast]
    assert [(e.event, e.result, e.host) for e in world.events(instance)
            if e.event == COMPUTE_UNCLAIM] == events


def test_with_unclaim_by_compute_the_cell_conductor_does_not_delete(world):
    world.add_hosts("cell1", ["h1", "h2"])
    placement = CountingPlacement(world.placement)
    compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
    task = wiring.reschedule(make_test_conf(COMPUTE), world.cell_dbs[world.cell_uuid("cell1")],
                             placement, compute_api, FakeNotifier())
    instance = world.create_instance("web-1")  # the compute has unclaimed already
    task({}, instance, world.spec("web-1"), RetryInfo(hosts=[("h1", "h1")]),
         [world.selection("h2")])
    assert placement.deleted == []
    assert [c.host for c in compute_api.casts] == ["h2"]
    assert world.allocations(instance.uuid) == {"h2": SMALL.resources}
    assert CONDUCTOR_UNCLAIM not in [e.event for e in world.events(instance)]


def test_with_unclaim_by_cell_conductor_it_deletes_and_records_it(world):
    world.add_hosts("cell1", ["h1", "h2"])
    placement = CountingPlacement(world.placement)
    task = wiring.reschedule(make_test_conf(), world.cell_dbs[world.cell_uuid("cell1")],
                             placement, FakeComputeAPI(), FakeNotifier())
    instance = world.create_instance("web-1", claim_on="h1")
    task({}, instance, world.spec("web-1"), RetryInfo(hosts=[("h1", "h1")]),
         [world.selection("h2")])
    assert placement.deleted == [instance.uuid]
    assert [(e.event, e.result, e.host) for e in world.events(instance)] == [
        (CONDUCTOR_UNCLAIM, "deleted", "h1")]


def test_either_way_the_same_end_state_and_nothing_left_behind(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    weights = {"filter_scheduler.static_host_weights": {"h1": "30", "h2": "20", "h3": "10"},
               "filter_scheduler.weight_classes": ["StaticWeigher"]}  # h1 first each time
    ends = {}
    for unclaim_by in ("cell_conductor", "compute"):
        conf = make_test_conf({**weights, "conductor.unclaim_by": unclaim_by})
        loop = Loopback(world, conf, [FaultRule(hosts=["h1"], action="reschedule")])
        [uuid] = loop.build([f"web-{unclaim_by}"])
        unclaims = [e.event for e in world.events(uuid, world.cell_db_of("h1"))
                    if e.event in (COMPUTE_UNCLAIM, CONDUCTOR_UNCLAIM)]
        ends[unclaim_by] = (loop.spawn_hosts(uuid), world.allocations(uuid), unclaims)
    assert ends["cell_conductor"][:2] == ends["compute"][:2] == (
        [("h1", "rescheduled"), ("h2", "active")], {"h2": SMALL.resources})
    assert ends["cell_conductor"][2] == [CONDUCTOR_UNCLAIM]
    assert ends["compute"][2] == [COMPUTE_UNCLAIM]
    assert set(world.usage("h1").values()) == {0}
