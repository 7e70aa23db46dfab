"""A host added to a running compute process (ComputeSimService.add_host, what the `simulation`
call add_host does): served on its own queue, registered in placement and the cell DB, kept up
and written like a host given at start; a name already taken is refused and changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from altsim import memory_driver, rpc
from altsim.rpc import new_context
from altsim_lab.testing import make_test_conf
from compute_sim.faults import FaultInjector
from compute_sim.heartbeat import Heartbeat
from compute_sim.host import SimulatedHost
from compute_sim.hosts_file import HostSpec
from compute_sim.rpcapi import SimulationAPI
from compute_sim.service import ComputeSimService, HostExists
from placement_sim.exceptions import PlacementUnavailable

NEW = SimulatedHost("h3", {"VCPU": 4, "MEMORY_MB": 2048, "DISK_GB": 10}, traits=("CUSTOM_X",))


@pytest.fixture
def running(world) -> Iterator[Callable[..., tuple[ComputeSimService, SimulationAPI]]]:
    """A started compute process for cell1's h1 and h2 on an in-memory bus, and a client of
    its simulation controls on that bus; stopped after the test."""
    made = []

    def start(placement: object = None, **overrides: object
              ) -> tuple[ComputeSimService, SimulationAPI]:
        conf = make_test_conf({"update_resources_interval": 0, **overrides})
        url = f"memory:///test-add-host-{len(made)}"
        transport = rpc.get_rpc_transport(conf, url)
        notifications = rpc.get_notification_transport(conf, url)
        service = ComputeSimService(conf, transport, notifications,
                                    world.cell_dbs[world.cell_uuid("cell1")],
                                    placement or world.placement,
                                    [world.hosts[h] for h in ("h1", "h2")],
                                    FaultInjector([], 0))
        service.start()
        made.append((service, transport, notifications, url))
        return service, SimulationAPI(transport, timeout=10)

    world.add_hosts("cell1", ["h1", "h2"])
    yield start
    for service, transport, notifications, url in made:
        service.stop()
        transport.cleanup()
        notifications.cleanup()
        memory_driver.delete_vhost(url.rpartition("/")[2])


def nodes(world) -> dict[str, bool]:
    return {n.host: n.disabled for n in world.cell_dbs[world.cell_uuid("cell1")]
            .list_compute_nodes()}


def test_an_added_host_is_registered_and_served_like_one_given_at_start(running, world):
    service, api = running()

    service.add_host(NEW)

    # in placement, with its inventory and traits, and in the cell DB
    inventories = world.placement.get_inventories(NEW.node_uuid)["inventories"]
    assert {rc: record["total"] for rc, record in inventories.items()} == NEW.resources
    assert world.store.get_provider_traits(NEW.node_uuid)["traits"] == ["CUSTOM_X"]
    assert nodes(world) == {"h1": False, "h2": False, "h3": False}
    # served on its own queue: a call to h3 is answered by the process
    assert api.update_available_resource(new_context(), "h3") == 0
    # and its tracker is the process's: the periodic task writes its failed build
    service.trackers[-1].build_failed()
    assert service.update_available_resource() == 1
    assert next(n.failed_builds for n in world.cell_dbs[world.cell_uuid("cell1")]
                .list_compute_nodes() if n.host == "h3") == 1
    assert [h.name for h in service.hosts] == ["h1", "h2", "h3"]
    assert service.heartbeat.node_uuids == (world.rp("h1"), world.rp("h2"), NEW.node_uuid)


def test_a_host_is_added_over_the_bus_through_any_host_of_the_process(running, world):
    _, api = running()
    spec = HostSpec(name="h3", resources={"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 5})

    api.add_host(new_context(), "h2", spec)

    assert "h3" in nodes(world)
    assert api.update_available_resource(new_context(), "h3") == 0


@pytest.mark.parametrize("name", ["h1", "h2"])
def test_a_host_of_the_process_is_refused(running, world, name):
    service, _ = running()
    before = world.placement.list_resource_providers()

    with pytest.raises(HostExists, match=f"a host named '{name}' already exists in this cell"):
        service.add_host(SimulatedHost(name, {"VCPU": 1}))

    assert world.placement.list_resource_providers() == before
    assert len(service.servers) == 1 and [h.name for h in service.hosts] == ["h1", "h2"]


def test_a_host_of_the_cell_db_or_of_another_cell_is_refused(running, world):
    world.add_host("other-process", "cell1")  # in the cell DB, not served by this process
    world.add_host("elsewhere", "cell2")  # another cell: its provider is in placement
    service, _ = running()

    with pytest.raises(HostExists, match="'other-process' already exists in this cell"):
        service.add_host(SimulatedHost("other-process", {"VCPU": 1}))
    with pytest.raises(HostExists, match="'elsewhere' already has a resource provider"):
        service.add_host(SimulatedHost("elsewhere", {"VCPU": 1}))

    assert "elsewhere" not in nodes(world)
    assert world.placement.get_inventories(world.rp("elsewhere"))["inventories"]["VCPU"][
        "total"] == 8  # the other cell's host's inventory, untouched


class RefusingProvider:
    """The world's placement, but down whenever host `name` registers."""

    def __init__(self, placement: Any, name: str) -> None:
        self._placement = placement
        self._name = name

    def ensure_resource_provider(self, uuid: str, name: str, inventories: dict) -> None:
        if name == self._name:
            raise PlacementUnavailable(f"placement is down (registering {name})")
        self._placement.ensure_resource_provider(uuid, name, inventories)

    def __getattr__(self, name: str) -> object:
        return getattr(self._placement, name)


def test_a_host_placement_cannot_register_is_not_served_and_the_rest_are(running, world):
    service, api = running(placement=RefusingProvider(world.placement, "h3"))

    with pytest.raises(PlacementUnavailable, match="registering h3"):
        service.add_host(NEW)

    assert "h3" not in nodes(world)
    assert len(service.servers) == 1 and len(service.trackers) == 2
    assert NEW.node_uuid not in service.heartbeat.node_uuids
    assert api.update_available_resource(new_context(), "h1") == 0  # still serving


def test_without_placement_the_host_is_in_the_cell_db_only(running, world):
    service, _ = running(**{"scheduler.use_placement": False})
    providers = len(world.placement.list_resource_providers())

    service.add_host(NEW)

    assert "h3" in nodes(world)
    assert len(world.placement.list_resource_providers()) == providers


class BeatsRecorded:
    """A cell DB's heartbeat, noting each beat's nodes and telling when one had `wanted`."""

    def __init__(self, wanted: str) -> None:
        self.beats: list[list[str]] = []
        self.wanted = wanted
        self.seen = threading.Event()

    def heartbeat(self, node_uuids: list[str]) -> None:
        self.beats.append(list(node_uuids))
        if self.wanted in node_uuids:
            self.seen.set()


def test_a_node_added_to_the_heartbeat_is_beaten_for_from_then_on():
    cell_db = BeatsRecorded(wanted="b")
    heartbeat = Heartbeat(cell_db, ["a"], interval_s=0.01)  # type: ignore[arg-type]
    heartbeat.start()
    try:
        heartbeat.add("b")
        assert cell_db.seen.wait(10), f"no beat for b, beats: {cell_db.beats[-3:]}"
    finally:
        heartbeat.stop()
    assert cell_db.beats[-1] == ["a", "b"]
    assert heartbeat.node_uuids == ("a", "b")
