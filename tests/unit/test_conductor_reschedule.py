"""The cell conductor's reschedule (conductor/tasks/reschedule.py, conductor/cell_manager.py).

A real Reschedule on a real cell DB and placement, with a recording compute API and notifier.
It is built from what a cell conductor has: its cell DB, placement, its cell's compute API, a
notifier and max_attempts; no API DB and no scheduler exist in these tests at all (rule 22).
"""

from __future__ import annotations

import inspect
import uuid

import pytest

from altsim import memory_driver, rpc
from altsim.events import CLAIM_EVENT, CONDUCTOR_UNCLAIM_EVENT
from altsim.objects import PayloadError, RequestSpec, RetryInfo
from altsim_lab.testing import (
    SMALL,
    FakeComputeAPI,
    FakeNotifier,
    ScriptedPlacement,
    fill,
    make_test_conf,
)
from conductor.cell_manager import CellConductorManager
from conductor.service import build_cell_conductor_server
from conductor.tasks.attempts import Attempts
from conductor.tasks.reschedule import Reschedule
from placement_sim.exceptions import AllocationUpdateFailed, PlacementUnavailable
from placement_sim.store import PlacementStore

EXHAUSTED = ("Exceeded maximum number of retries. Exhausted all hosts available for retrying "
             "build failures for instance {uuid}.")


class CellConductor:
    def __init__(self, world, max_attempts: int = 3, placement=None) -> None:
        self.world = world
        self.compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
        self.notifier = FakeNotifier()
        self.placement = placement or world.placement
        self.task = Reschedule(world.cell_dbs[world.cell_uuid("cell1")], self.placement,
                               self.compute_api, self.notifier, Attempts(max_attempts))

    def reschedule(self, instance, retry: RetryInfo, alternates: list[str], **selection_kw):
        host_list = [self.world.selection(h, **selection_kw) for h in alternates]
        self.task({"request_id": "req-r"}, instance, self.world.spec(instance.name), retry,
                  host_list)

    @property
    def casts(self):
        return self.compute_api.casts

    def errors(self):
        return self.notifier.of_type("compute_task.build_instances.error")


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4"])
    return world


def failed_on(*hosts: str, reason: str = "spawn failed") -> RetryInfo:
    return RetryInfo(num_attempts=len(hosts), hosts=[(h, h) for h in hosts], exc_reason=reason)


def assert_error(world, conductor, instance, fault: str) -> None:
    row = world.row(instance)
    assert (row["vm_state"], row["task_state"]) == ("error", None)
    assert world.fault(instance) == fault
    assert conductor.casts == []
    [payload] = conductor.errors()
    assert (payload["instance_uuid"], payload["fault"]) == (instance.uuid, fault)


# -- rules 15 (altsim's unclaim), 17 and 19: the normal reschedule --------------------------------

def test_rule_15_the_cell_conductor_removes_the_failed_hosts_allocations(cell):
    """altsim difference, as the Queens design describes it: the cell conductor, not the
    compute, deletes the
    instance's allocations (all of them: only the failed host holds any) before claiming."""
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    assert set(cell.usage("h1").values()) == {0}
    assert cell.allocations(instance.uuid) == {"h2": SMALL.resources}


def test_rule_17_each_reschedule_increments_num_attempts_and_records_the_host(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    [cast] = conductor.casts
    assert cast.retry.num_attempts == 2
    assert cast.retry.hosts == [("h1", "h1"), ("h2", "h2")]
    assert cast.host == "h2"
    assert [s.service_host for s in cast.host_list] == ["h3"]


def test_rule_17_over_max_attempts_is_error_with_the_last_exception(cell):
    conductor = CellConductor(cell, max_attempts=3)
    instance = cell.create_instance("web-1", claim_on="h3")
    conductor.reschedule(instance, failed_on("h1", "h2", "h3", reason="hypervisor unreachable"),
                         ["h4"])
    assert_error(cell, conductor, instance,
                 f"Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for "
                 f"instance {instance.uuid}. Last exception: hypervisor unreachable")
    assert cell.allocations(instance.uuid) == {}  # rule 24
    assert set(cell.usage("h4").values()) == {0}  # the alternate was never claimed


def test_rule_17_the_attempt_at_max_attempts_is_still_allowed(cell):
    conductor = CellConductor(cell, max_attempts=3)
    instance = cell.create_instance("web-1", claim_on="h2")
    conductor.reschedule(instance, failed_on("h1", "h2"), ["h3"])
    [cast] = conductor.casts
    assert (cast.host, cast.retry.num_attempts) == ("h3", 3)


# -- rule 18 --------------------------------------------------------------------------------------

def test_rule_18_an_empty_host_list_is_error_exhausted(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), [])
    assert_error(cell, conductor, instance, EXHAUSTED.format(uuid=instance.uuid))
    assert cell.allocations(instance.uuid) == {}


# -- rules 19 and 20 ------------------------------------------------------------------------------

def test_rule_19_a_failed_claim_moves_to_the_next_alternate_and_is_recorded(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    filler = fill(cell.placement, cell.rp("h2"))
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3", "h4"])
    [cast] = conductor.casts
    assert cast.host == "h3"
    assert [s.service_host for s in cast.host_list] == ["h4"]
    assert cast.retry.hosts == [("h1", "h1"), ("h3", "h3")]
    assert cell.allocations(instance.uuid) == {"h3": SMALL.resources}
    assert list(cell.placement.get_provider_allocations(cell.rp("h2"))) == [filler]
    [event] = [e for e in cell.events(instance) if e.event == CLAIM_EVENT]
    assert (event.event, event.result, event.host) == (CLAIM_EVENT, "failed", "h2")
    assert conductor.errors() == []


def test_rule_19_placement_unreachable_on_a_claim_moves_to_the_next_alternate(cell):
    """Nova's claim_resources is @safe_connect: a connection failure is a False claim."""
    h2 = cell.rp("h2")

    class DownForH2(PlacementStore):
        def put_allocations(self, consumer_uuid, allocations, *args, **kwargs):
            if h2 in allocations:
                raise PlacementUnavailable("connection refused")
            return super().put_allocations(consumer_uuid, allocations, *args, **kwargs)

    store = DownForH2()
    from placement_sim.client import InProcessPlacementClient
    placement = InProcessPlacementClient(store, sleep=lambda s: None)
    for name in ("h2", "h3"):
        host = cell.hosts[name]
        placement.ensure_resource_provider(host.node_uuid, name, host.inventories())
    conductor = CellConductor(cell, placement=placement)
    instance = cell.create_instance("web-1")
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    assert [c.host for c in conductor.casts] == ["h3"]
    assert [e.host for e in cell.events(instance) if e.event == CLAIM_EVENT] == ["h2"]


def test_rule_19_an_alternate_without_allocation_request_is_taken_without_a_claim(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2"], allocation_request=None)
    assert [c.host for c in conductor.casts] == ["h2"]
    assert cell.allocations(instance.uuid) == {}


def test_rule_20_every_alternate_failing_to_claim_is_error_exhausted(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    for host in ("h2", "h3"):
        fill(cell.placement, cell.rp(host))
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    assert_error(cell, conductor, instance, EXHAUSTED.format(uuid=instance.uuid))
    assert [(e.event, e.result, e.host) for e in cell.events(instance)] == [
        (CONDUCTOR_UNCLAIM_EVENT, "deleted", "h1"),
        (CLAIM_EVENT, "failed", "h2"), (CLAIM_EVENT, "failed", "h3")]
    assert cell.allocations(instance.uuid) == {}  # rule 24


# -- rule 21 (beyond the brief's list, but altsim implements it) ----------------------------------

def test_rule_21_an_exception_from_an_alternate_claim_stops_the_reschedule(cell):
    error = AllocationUpdateFailed("x", "consumer generation conflict")
    placement = ScriptedPlacement(cell.placement, raise_on={cell.rp("h2"): error})
    conductor = CellConductor(cell, placement=placement)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    assert_error(cell, conductor, instance, str(error))
    assert [rp for _, rp, _ in placement.claims] == [cell.rp("h2")]  # h3 never tried
    assert cell.allocations(instance.uuid) == {}


# -- rule 22 --------------------------------------------------------------------------------------

def test_rule_22_the_reschedule_task_is_built_without_api_db_or_scheduler(world):
    """The cell conductor's task takes only cell-level collaborators. The one way a scheduler
    client can reach it is `reselect`, which only [scheduler] legacy_retry sets, and then the
    super conductor hosts the task (a cell conductor refuses that option); no parameter takes
    an API DB."""
    params = list(inspect.signature(Reschedule.__init__).parameters)
    assert params == ["self", "cell_db", "placement", "compute_api", "notifier", "attempts",
                      "unclaim", "reselect"]
    assert inspect.signature(Reschedule.__init__).parameters["reselect"].default is None
    assert list(inspect.signature(CellConductorManager.__init__).parameters) == [
        "self", "reschedule"]
    conf, vhost = make_test_conf(), f"rule22-{uuid.uuid4().hex[:8]}"
    transport = rpc.get_rpc_transport(conf, f"memory:///{vhost}")
    try:
        server = build_cell_conductor_server(conf, transport, transport, world.cell0_db,
                                             world.placement)
        [endpoint] = server.dispatcher.endpoints
        assert endpoint._reschedule._reselect is None
    finally:
        transport.cleanup()
        memory_driver.delete_vhost(vhost)


def test_rule_22_reschedule_works_with_only_cell_level_objects(cell):
    conductor = CellConductor(cell)
    for name, value in vars(conductor.task).items():
        assert "ApiDatabase" not in type(value).__name__, name
        assert "Scheduler" not in type(value).__name__, name
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2"])
    assert [c.host for c in conductor.casts] == ["h2"]


def test_rule_22_availability_zone_comes_from_the_selection(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1", availability_zone="az-1")
    conductor.reschedule(instance, failed_on("h1"), ["h2"], availability_zone="az-2")
    [cast] = conductor.casts
    assert cast.instance.availability_zone == "az-2"
    assert cell.row(instance)["availability_zone"] == "az-2"


# -- rule 23 --------------------------------------------------------------------------------------

def test_rule_23_after_a_reschedule_only_the_new_host_holds_the_instance(cell):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    fill(cell.placement, cell.rp("h2"))
    conductor.reschedule(instance, failed_on("h1"), ["h2", "h3"])
    assert cell.allocations(instance.uuid) == {"h3": SMALL.resources}
    for host in ("h1", "h2", "h4"):
        assert instance.uuid not in cell.placement.get_provider_allocations(cell.rp(host))


# -- rule 29 --------------------------------------------------------------------------------------

def test_rule_29_retry_is_not_part_of_the_request_spec(cell):
    """The retry travels beside the RequestSpec (its own RPC argument), never inside it, and
    the conductors never write the stored spec: it cannot be persisted."""
    assert "retry" not in RequestSpec.model_fields
    with pytest.raises(ValueError, match="retry"):
        RequestSpec(**cell.spec("x").model_dump(), retry={"num_attempts": 2})
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, failed_on("h1"), ["h2"])
    assert conductor.casts[0].request_spec == cell.spec("web-1")


# -- the endpoint ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "text"), [
    ("instance", "not an instance", "instance must be a Instance"),
    ("request_spec", {}, "request_spec must be a RequestSpec"),
    ("retry", None, "retry must be a RetryInfo"),
    ("host_list", "h2", "host_list must be a list of Selection"),
])
def test_cell_manager_rejects_malformed_arguments_by_name(cell, field, value, text):
    conductor = CellConductor(cell)
    instance = cell.create_instance("web-1", claim_on="h1")
    args = {"instance": instance, "request_spec": cell.spec("web-1"), "retry": failed_on("h1"),
            "host_list": [cell.selection("h2")], field: value}
    with pytest.raises(PayloadError, match=text):
        CellConductorManager(conductor.task).build_instances({}, **args)
    assert conductor.casts == []
    assert cell.allocations(instance.uuid) == {"h1": SMALL.resources}
