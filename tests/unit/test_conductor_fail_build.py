"""The step that ends a build in ERROR (conductor/tasks/fail_build.py), on its own.

A real FailBuild on a real cell DB and placement with a recording notifier. The three paths
that use it (reschedule, build-timeout sweep, cell0 burial) are tested in their own files;
these pin what they share: one conditional state change that decides a race, the events in
its transaction, the allocations deleted only after it, and one notification.
"""

from __future__ import annotations

import pytest

from altsim.events import BUILD_INSTANCES_ERROR
from altsim.objects import Fault
from altsim_lab.testing import FakeNotifier
from conductor.tasks.fail_build import Event, FailBuild, FailedBuild
from placement_sim.exceptions import PlacementUnavailable

FAULT = Fault(message="No valid host was found. ", details="NoValidHost")
EVENT = Event("conductor_example", "failed", host="h1", reason="why", details={"n": 1})


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", ["h1"])
    return world


class UnreachablePlacement:
    def delete_allocation_for_instance(self, consumer_uuid: str) -> bool:
        raise PlacementUnavailable("placement is down")


def ended(instance) -> FailedBuild:
    return FailedBuild(instance.uuid, instance.name, instance.cell_uuid)


def test_a_building_instance_ends_in_error_with_its_events_no_claim_and_one_notification(cell):
    # Given a build holding a claim on h1
    instance = cell.create_instance("web-1", claim_on="h1")
    notifier = FakeNotifier()
    fail_build = FailBuild(cell.cell_dbs[instance.cell_uuid], notifier, cell.placement)

    # When the step ends it
    assert fail_build({"request_id": "req-1"}, ended(instance), FAULT, [EVENT])

    # Then it is ERROR with the fault and the event, its claim is gone, and it is notified
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"]) == ("error", None)
    assert cell.cell_dbs[instance.cell_uuid].list_faults()[instance.uuid] == FAULT
    [event] = cell.events(instance)
    assert (event.event, event.result, event.host, event.reason, event.details) == (
        "conductor_example", "failed", "h1", "why", {"n": 1})
    assert cell.allocations(instance.uuid) == {}
    assert notifier.of_type(BUILD_INSTANCES_ERROR) == [{
        "instance_uuid": instance.uuid, "name": "web-1", "cell_uuid": instance.cell_uuid,
        "state": "error", "fault": FAULT.message}]
    assert notifier.priorities(BUILD_INSTANCES_ERROR) == ["error"]


def test_without_placement_the_allocations_are_left_to_whoever_holds_them(cell):
    instance = cell.create_instance("web-1", claim_on="h1")
    fail_build = FailBuild(cell.cell_dbs[instance.cell_uuid], FakeNotifier())
    assert fail_build({}, ended(instance), FAULT)
    assert cell.row(instance)["vm_state"] == "error"
    assert list(cell.allocations(instance.uuid)) == ["h1"]


def test_an_instance_no_longer_building_is_left_exactly_as_it_is(cell):
    # Given a build that went ACTIVE first (the race the conditional UPDATE decides)
    instance = cell.create_instance("web-1", claim_on="h1")
    cell_db = cell.cell_dbs[instance.cell_uuid]
    cell_db.update_instance(instance.uuid, vm_state="active", task_state=None)
    notifier = FakeNotifier()

    # When the step tries to end it
    done = FailBuild(cell_db, notifier, cell.placement)({}, ended(instance), FAULT,
                                                        [EVENT])

    # Then nothing is written, deleted or sent
    assert done is False
    assert cell.row(instance)["vm_state"] == "active"
    assert cell.fault(instance) is None and cell.events(instance) == []
    assert list(cell.allocations(instance.uuid)) == ["h1"]
    assert notifier.of_type(BUILD_INSTANCES_ERROR) == []


def test_an_unreachable_placement_still_ends_and_notifies_the_build(cell):
    instance = cell.create_instance("web-1", claim_on="h1")
    notifier = FakeNotifier()
    fail_build = FailBuild(cell.cell_dbs[instance.cell_uuid], notifier, UnreachablePlacement())
    assert fail_build({}, ended(instance), FAULT)
    assert cell.row(instance)["vm_state"] == "error"
    assert [p["instance_uuid"] for p in notifier.of_type(BUILD_INSTANCES_ERROR)] == [
        instance.uuid]


def test_record_joins_the_callers_transaction_and_rolls_back_with_it(cell):
    # Given the caller's own transaction around record (as the cell0 burial has)
    instance = cell.create_instance("web-1")
    cell_db = cell.cell_dbs[instance.cell_uuid]
    fail_build = FailBuild(cell_db, FakeNotifier())

    # When that transaction fails after record
    with pytest.raises(RuntimeError), cell_db.begin() as conn:
        assert fail_build.record(instance.uuid, FAULT, [EVENT], conn=conn,
                                 only_if_building=False)
        raise RuntimeError("the caller's next write failed")

    # Then neither the ERROR nor its fault nor its event was kept
    assert cell.row(instance)["vm_state"] == "building"
    assert cell.fault(instance) is None and cell.events(instance) == []
