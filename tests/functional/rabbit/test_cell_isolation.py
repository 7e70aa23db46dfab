"""Cells cannot call up, over a real broker: each level has its own vhost, compute queues live
only in their cell's vhost, and a call from a cell's bus to the scheduler goes nowhere."""

from __future__ import annotations

import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import oslo_messaging
import pytest

from altsim import rpc
from altsim.objects import Flavor, RequestSpec
from altsim_lab.deploy.launcher import LaunchedDeployment
from altsim_lab.scenario.runner import _free_port, run_scenario
from altsim_lab.scenario.schema import load_scenario, parse_scenario
from altsim_lab.scenario.topology import service_conf
from scheduler.rpcapi import SchedulerAPI

SCENARIO = Path(__file__).parents[3] / "etc" / "altsim" / "scenarios" / "reschedule-once.yaml"
pytestmark = pytest.mark.rabbit


@pytest.fixture
def deployment(rabbit_url: str) -> Iterator[LaunchedDeployment]:
    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory() as workdir:
        launched = LaunchedDeployment(scenario, f"altsim-test-{uuid.uuid4().hex[:8]}",
                                      Path(workdir), rabbit_url, _free_port())
        try:
            launched.start()
            yield launched
        finally:
            launched.stop()


def queues(vhost: str) -> set[str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def vhost_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_compute_queues_live_only_in_their_cells_vhost(deployment: LaunchedDeployment):
    api_queues = queues(vhost_of(deployment.topology.api_transport_url))
    cell = deployment.topology.cells[0]
    cell_queues = queues(vhost_of(cell.mapping.transport_url))
    hosts = {f"compute.{host.name}" for host in cell.hosts}
    assert hosts <= cell_queues
    assert not {q for q in api_queues if q.startswith("compute")}
    assert "scheduler" in api_queues
    assert "scheduler" not in cell_queues


def test_a_cell_cannot_call_the_scheduler(deployment: LaunchedDeployment):
    conf = service_conf(deployment.scenario, "intruder")
    cell_url = deployment.topology.cells[0].mapping.transport_url
    transport = rpc.get_rpc_transport(conf, cell_url)
    spec = RequestSpec(instance_uuid=str(uuid.uuid4()), name="x", project_id="p", user_id="u",
                       flavor=Flavor(name="f", resources={"VCPU": 1}))
    try:
        with pytest.raises(oslo_messaging.MessagingTimeout):
            SchedulerAPI(transport, timeout=2).select_destinations(
                rpc.new_context(), spec, [spec.instance_uuid])
    finally:
        transport.cleanup()


def connections_by_vhost() -> dict[str, set[int]]:
    """vhost -> process ids of its AMQP connections (oslo names each `<process>:<pid>:<id>`)."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "vhost", "client_properties"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    found: dict[str, set[int]] = {}
    for line in out.splitlines():
        vhost, _, properties = line.partition("\t")
        match = re.search(r'"connection_name","[^":]*:(\d+):', properties)
        if match:
            found.setdefault(vhost, set()).add(int(match.group(1)))
    return found


def test_no_cell_service_reaches_the_api_vhost_in_a_reschedule_heavy_run(rabbit_url: str):
    # Given two cells where half of all spawns fail with a reschedulable error
    scenario = parse_scenario({
        "name": "reschedule-heavy", "seed": 5,
        "cells": [{"name": "cella", "host_count": 4, "host_resources": {"VCPU": 64}},
                  {"name": "cellb", "host_count": 4, "host_resources": {"VCPU": 64}}],
        "flavors": {"small": {"VCPU": 1}},
        "faults": [{"hosts": ["*"], "action": "reschedule", "probability": 0.5}],
        "requests": [{"name": "web", "flavor": "small", "count": 40, "concurrency": 8}],
        "expect": {"leaked_allocations": 0}})
    seen: dict[str, object] = {}

    def look(deployment: LaunchedDeployment) -> None:
        seen["pids"] = deployment.process_ids()
        seen["connections"] = connections_by_vhost()
        seen["api_vhost"] = vhost_of(deployment.topology.api_transport_url)
        seen["cell_vhosts"] = {cell.mapping.name: vhost_of(cell.mapping.transport_url)
                               for cell in deployment.topology.cells}

    # When it runs with every service in its own process
    result = run_scenario(scenario, timeout_s=120, transport_url=rabbit_url, inspect=look)

    # Then reschedules happened, and no cell process ever connected to the API vhost
    assert result.ok, (result.errors, result.report["expectations"])
    assert result.report["summary"]["reschedules"] > 5
    pids, connections = seen["pids"], seen["connections"]
    cell_pids = {pids[f"{service}-{cell}"] for cell in seen["cell_vhosts"]
                 for service in ("compute", "conductor")}
    assert cell_pids and connections.get(seen["api_vhost"])
    assert not cell_pids & connections[seen["api_vhost"]]
    for name, vhost in seen["cell_vhosts"].items():
        assert pids[f"compute-{name}"] in connections[vhost]
        assert pids["scheduler"] not in connections[vhost]
