"""The super conductor's build (conductor/tasks/schedule_and_build.py and tasks/cell0.py).

Real API DB, cell DBs and cell0 in tmp_path; the scheduler and compute RPC APIs are recorders.
"""

from __future__ import annotations

import oslo_messaging
import pytest

from altsim.events import SCHEDULE_EVENT
from altsim.exceptions import NoValidHost
from altsim.objects import CELL0_UUID, RequestSpec, RetryInfo, VmState
from altsim_lab.testing import (
    FakeComputeAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    instance_uuid,
    make_test_conf,
)
from conductor.tasks.attempts import Attempts
from conductor.tasks.cell0 import BuryInCell0
from conductor.tasks.schedule_and_build import ScheduleAndBuild


class Harness:
    def __init__(self, world, scheduler_api: FakeSchedulerAPI,
                 max_attempts: int | Attempts = 3, claim_with=None,
                 unclaim_with=None) -> None:
        self.world = world
        self.scheduler_api = scheduler_api
        self.notifier = FakeNotifier()
        self.compute_apis: dict[str, FakeComputeAPI] = {}
        self.task = ScheduleAndBuild(world.api_db, world.cell_dbs, scheduler_api,
                                     self.compute_api_for,
                                     BuryInCell0(world.api_db, world.cell0_db, self.notifier),
                                     (max_attempts if isinstance(max_attempts, Attempts)
                                      else Attempts(max_attempts)), claim_with,
                                     unclaim_with)

    def compute_api_for(self, cell_uuid: str) -> FakeComputeAPI:
        return self.compute_apis.setdefault(cell_uuid, FakeComputeAPI(cell_uuid))

    def casts(self):
        return [(api.cell_uuid, cast) for api in self.compute_apis.values()
                for cast in api.casts]

    def run(self, names: list[str], **kwargs) -> list[str]:
        build_requests, specs = self.world.new_request(names, **kwargs)
        self.task({"request_id": "req-sb"}, build_requests, specs)
        return [spec.instance_uuid for spec in specs]


@pytest.fixture
def two_cells(world):
    world.add_hosts("cell1", ["a1", "a2", "a3"])
    world.add_hosts("cell2", ["b1", "b2"])
    return world


# -- rule 1 ---------------------------------------------------------------------------------------

def test_rule_01_one_select_destinations_call_with_alternates_in_instance_uuids_order(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    conf = make_test_conf()
    scheduler = FakeSchedulerAPI(delegate=world.scheduler_manager(conf))
    harness = Harness(world, scheduler)
    uuids = harness.run(["web-2", "web-1", "web-3"])
    [call] = scheduler.calls
    assert call["return_alternates"] is True
    assert call["instance_uuids"] == uuids
    assert isinstance(call["request_spec"], RequestSpec)
    assert call["request_spec"].instance_uuid == uuids[0]
    assert call["num_alternates"] is None  # max_attempts decides, on the scheduler
    # Each instance was cast to the host the scheduler claimed for it.
    casts = {cast.instance.uuid: cast.host for _, cast in harness.casts()}
    for uuid in uuids:
        assert world.allocations(uuid) == {casts[uuid]: {"VCPU": 1, "MEMORY_MB": 512,
                                                         "DISK_GB": 1}}


@pytest.mark.parametrize(("attempts", "passed"), [
    (Attempts(3), None),                      # alternates_from = config: max_attempts decides
    (Attempts(3, from_request=True), 5),      # alternates_from = request: the caller does
    (Attempts(3, from_request=True, legacy_retry=True), 0),  # legacy_retry: none at all
])
def test_rule_01_num_alternates_of_the_request_is_passed_only_when_the_request_decides(
        world, attempts, passed):
    world.add_hosts("cell1", ["h1"])
    scheduler = FakeSchedulerAPI(delegate=world.scheduler_manager(make_test_conf()))
    Harness(world, scheduler, attempts).run(["web-1"], num_alternates=5)
    assert scheduler.calls[0]["num_alternates"] == passed


# -- rule 12 --------------------------------------------------------------------------------------

def test_rule_12_instance_is_created_in_the_chosen_hosts_cell_and_cast_with_alternates_only(
        two_cells):
    world = two_cells
    lists = [[world.selection("a2"), world.selection("a1"), world.selection("a3")],
             [world.selection("b1"), world.selection("b2")]]
    harness = Harness(world, FakeSchedulerAPI(result=lists))
    uuid_a, uuid_b = harness.run(["web-1", "web-2"])
    cell1, cell2 = world.cell_uuid("cell1"), world.cell_uuid("cell2")

    # Created in the cell HostMapping gives for the chosen host, and only there.
    assert [r["uuid"] for r in world.cell_dbs[cell1].list_instance_rows()] == [uuid_a]
    assert [r["uuid"] for r in world.cell_dbs[cell2].list_instance_rows()] == [uuid_b]
    assert world.cell0_db.list_instance_rows() == []
    row = world.row(uuid_a, "cell1")
    assert (row["vm_state"], row["task_state"], row["availability_zone"]) == (
        "building", "scheduling", "nova")
    # Mapped, BuildRequests gone.
    assert world.api_db.instance_cells() == {uuid_a: cell1, uuid_b: cell2}
    assert not world.api_db.build_request_exists(uuid_a)
    assert not world.api_db.build_request_exists(uuid_b)
    # Cast on each cell's bus, to the chosen host, with the alternates only.
    casts = harness.casts()
    assert [(cell, c.host, [s.service_host for s in c.host_list]) for cell, c in casts] == [
        (cell1, "a2", ["a1", "a3"]), (cell2, "b1", ["b2"])]
    assert casts[0][1].instance.cell_uuid == cell1
    assert casts[0][1].request_spec.instance_uuid == uuid_a
    # The create action records the scheduling with the whole list.
    [event] = world.events(uuid_a, world.cell_dbs[cell1])
    assert (event.event, event.result, event.host) == (SCHEDULE_EVENT, "success", "a2")
    assert event.details == {"selection": ["a2", "a1", "a3"]}


def test_rule_12_a_chosen_host_without_host_mapping_buries_only_that_instance(two_cells):
    world = two_cells
    stray = world.selection("a1", service_host="unmapped-host", nodename="unmapped-host")
    lists = [[stray], [world.selection("b1")]]
    harness = Harness(world, FakeSchedulerAPI(result=lists))
    uuid_a, uuid_b = harness.run(["web-1", "web-2"])
    assert [r["uuid"] for r in world.cell0_db.list_instance_rows()] == [uuid_a]
    assert world.api_db.instance_cells() == {uuid_a: CELL0_UUID,
                                             uuid_b: world.cell_uuid("cell2")}
    assert [c.host for _, c in harness.casts()] == ["b1"]
    assert "unmapped-host" in world.cell0_db.list_faults()[uuid_a].message


# -- rule 13 --------------------------------------------------------------------------------------

def test_rule_13_first_compute_gets_retry_with_one_attempt_and_the_chosen_host_and_limits(
        two_cells):
    world = two_cells
    chosen = world.selection("a1", limits={"memory_mb": 16384.0, "vcpu": 8.0})
    harness = Harness(world, FakeSchedulerAPI(result=[[chosen, world.selection("a2")]]))
    harness.run(["web-1"])
    [(_, cast)] = harness.casts()
    assert cast.retry == RetryInfo(num_attempts=1, hosts=[("a1", "a1")])
    assert cast.retry.exc_reason is None
    assert cast.limits == {"memory_mb": 16384.0, "vcpu": 8.0}


# -- rule 14 --------------------------------------------------------------------------------------

def test_rule_14_max_attempts_1_sends_no_retry(two_cells):
    """altsim has no forced hosts/nodes (no AZ `zone:host` syntax), so max_attempts == 1 is the
    only way retries are disabled."""
    world = two_cells
    harness = Harness(world, FakeSchedulerAPI(result=[[world.selection("a1")]]),
                      max_attempts=1)
    harness.run(["web-1"])
    [(_, cast)] = harness.casts()
    assert cast.retry is None
    assert cast.host_list == []


# -- rule 11 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    NoValidHost(),
    oslo_messaging.MessagingTimeout("Timed out waiting for a reply"),
    RuntimeError("scheduler exploded"),
], ids=["no-valid-host", "timeout", "any-error"])
def test_rule_11_scheduler_failure_buries_every_instance_in_cell0(two_cells, error):
    world = two_cells
    harness = Harness(world, FakeSchedulerAPI(error=error))
    uuids = harness.run(["web-1", "web-2", "web-3"])

    rows = {r["uuid"]: r for r in world.cell0_db.list_instance_rows()}
    assert set(rows) == set(uuids)
    faults = world.cell0_db.list_faults()
    events = world.cell0_db.list_events()
    for uuid in uuids:
        assert (rows[uuid]["vm_state"], rows[uuid]["task_state"]) == (VmState.ERROR.value,
                                                                       None)
        assert faults[uuid].message == str(error)
        assert faults[uuid].code == 500
        [event] = events[uuid]
        assert (event.event, event.result) == (SCHEDULE_EVENT, "failed")
        assert not world.api_db.build_request_exists(uuid)
        assert world.api_db.instance_cells()[uuid] == CELL0_UUID
    # Nothing reached a cell or a compute.
    assert harness.casts() == []
    for cell_db in world.cell_dbs.values():
        assert cell_db.list_instance_rows() == []
    errors = harness.notifier.of_type("compute_task.build_instances.error")
    assert sorted(p["instance_uuid"] for p in errors) == sorted(uuids)
    assert {p["cell_uuid"] for p in errors} == {CELL0_UUID}
    assert set(harness.notifier.priorities("compute_task.build_instances.error")) == {"error"}


def test_rule_11_no_valid_host_from_the_real_scheduler_leaves_no_allocation(world):
    world.add_hosts("cell1", ["h1"], VCPU=1)
    scheduler = FakeSchedulerAPI(delegate=world.scheduler_manager(make_test_conf()))
    harness = Harness(world, scheduler)
    uuids = harness.run(["trio-1", "trio-2"])
    assert {r["uuid"] for r in world.cell0_db.list_instance_rows()} == set(uuids)
    assert world.cell0_db.list_faults()[uuids[0]].message.startswith("No valid host was found")
    assert world.used_hosts() == set()
    assert harness.casts() == []
    assert instance_uuid("trio-1") == uuids[0]


class ReplyLostScheduler(FakeSchedulerAPI):
    """Places and claims as the real scheduler does; then its reply never comes back (lost to
    a broker restart, say) and the call times out."""

    def select_destinations(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().select_destinations(*args, **kwargs)
        raise oslo_messaging.MessagingTimeout("Timed out waiting for a reply")


@pytest.mark.parametrize("unclaim", [True, False], ids=["unclaimed", "no-placement-client"])
def test_rule_11_a_lost_scheduler_reply_buries_and_drops_the_schedulers_claims(world, unclaim):
    world.add_hosts("cell1", ["h1", "h2"])
    scheduler = ReplyLostScheduler(delegate=world.scheduler_manager(make_test_conf()))
    harness = Harness(world, scheduler, unclaim_with=world.placement if unclaim else None)
    uuids = harness.run(["web-1", "web-2"])
    assert {r["uuid"] for r in world.cell0_db.list_instance_rows()} == set(uuids)
    # The scheduler did claim; only the conductor's clean-up stops the claims outliving the
    # buried instances (without a client to do it, they stay: what audit would report).
    assert world.used_hosts() == (set() if unclaim else {"h1", "h2"})
