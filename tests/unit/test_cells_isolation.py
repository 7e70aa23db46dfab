"""Cells cannot call up: separate buses per level, and a cell-side import closure without the
scheduler (rule 22 of docs/fidelity.md)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import oslo_messaging
import pytest

from altsim import memory_driver, rpc
from altsim.objects import Selection
from altsim_lab.testing import make_test_conf
from compute_sim.rpcapi import RPC_TOPIC as COMPUTE_TOPIC
from compute_sim.rpcapi import ComputeAPI
from scheduler.rpcapi import SchedulerAPI
from scheduler.service import build_scheduler_server

REPO = Path(__file__).resolve().parents[2]


class Buses:
    """memory:/// buses with unique vhosts, their transports and servers; all torn down."""

    def __init__(self) -> None:
        self.prefix = f"isolation-{uuid.uuid4().hex[:8]}"
        self.conf = make_test_conf()
        self.vhosts: list[str] = []
        self.transports: list[oslo_messaging.Transport] = []
        self.servers: list[oslo_messaging.MessageHandlingServer] = []

    def transport(self, level: str, notification: bool = False) -> oslo_messaging.Transport:
        vhost = f"{self.prefix}-{level}"
        if vhost not in self.vhosts:
            self.vhosts.append(vhost)
        get = rpc.get_notification_transport if notification else rpc.get_rpc_transport
        transport = get(self.conf, f"memory:///{vhost}")
        self.transports.append(transport)
        return transport

    def start(self, server: oslo_messaging.MessageHandlingServer) -> None:
        server.start()
        self.servers.append(server)

    def join(self) -> None:
        """Wait until every message sent on these buses has been handled."""
        memory_driver.join(*self.vhosts, timeout=5)

    def close(self) -> None:
        rpc.stop_servers(self.servers)
        for transport in self.transports:
            transport.cleanup()
        for vhost in self.vhosts:
            memory_driver.delete_vhost(vhost)


@pytest.fixture
def buses():
    b = Buses()
    yield b
    b.close()
    assert not set(b.vhosts) & set(memory_driver.list_vhosts())


def test_scheduler_on_the_api_bus_is_unreachable_from_a_cell_bus(world, buses):
    world.add_hosts("cell1", ["h1", "h2"])
    api = buses.transport("api")
    cell = buses.transport("cell1")
    buses.start(build_scheduler_server(make_test_conf(), api, world.placement, world.cell_dbs,
                                       buses.transport("api", notification=True)))
    spec = world.spec("web-1")

    with pytest.raises(oslo_messaging.MessagingTimeout):
        SchedulerAPI(cell, timeout=0.3).select_destinations({}, spec, [spec.instance_uuid])
    assert world.used_hosts() == set()  # nothing was scheduled behind our back

    lists = SchedulerAPI(api, timeout=5).select_destinations({}, spec, [spec.instance_uuid])
    assert [[s.service_host for s in lst] for lst in lists] == [["h1", "h2"]]
    assert isinstance(lists[0][0], Selection)


class RecordingCompute:
    def __init__(self) -> None:
        self.received: list[str] = []

    def build_and_run_instance(self, ctxt, instance, request_spec, retry, host_list, limits):
        self.received.append(instance.uuid)


def test_a_cast_on_one_cell_bus_never_reaches_a_compute_of_another_cell(world, buses):
    """The super conductor must route each cast through the chosen cell's transport: the same
    compute topic and server name on another cell's bus goes nowhere."""
    world.add_hosts("cell1", ["h1"])
    cell1, cell2 = buses.transport("cell1"), buses.transport("cell2")
    compute = RecordingCompute()
    buses.start(rpc.make_server(cell1, COMPUTE_TOPIC, "h1", [compute]))
    instance = world.create_instance("web-1")
    args = (instance, world.spec("web-1"), None, [], {})

    ComputeAPI(cell2).build_and_run_instance({}, "h1", *args)
    buses.join()  # had it reached cell1's compute, it would have been handled by now
    assert compute.received == []
    ComputeAPI(cell1).build_and_run_instance({}, "h1", *args)
    buses.join()
    assert compute.received == [instance.uuid]


def test_rule_22_cell_conductor_and_compute_do_not_import_the_scheduler():
    """Importing the cell conductor's endpoint, the simulated compute and the cell conductor's
    server builder in a fresh interpreter loads no `scheduler` module (so no scheduler RPC client
    can exist in a cell process).

    Not asserted: `altsim.db.api` *is* imported, through altsim.rpc, which imports CellMapping
    for CellRouter's type; the cell side never builds an ApiDatabase (see
    test_conductor_reschedule.py::test_rule_22_the_reschedule_task_is_built_without_api_db_or_scheduler).
    """
    code = ("import json, sys\n"
            "import conductor.cell_manager, conductor.tasks.reschedule, compute_sim.manager\n"
            "import compute_sim.service\n"
            "from conductor.service import build_cell_conductor_server\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=True)
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "conductor.cell_manager" in modules and "compute_sim.manager" in modules
    assert [m for m in modules if m == "scheduler" or m.startswith("scheduler.")] == []
    assert "conductor.tasks.schedule_and_build" not in modules  # the super side's task
    assert "conductor.super_manager" not in modules
