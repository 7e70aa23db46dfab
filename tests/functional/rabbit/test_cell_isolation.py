"""Cells cannot call up, over a real broker: each level has its own vhost, compute queues live
only in their cell's vhost, and a call from a cell's bus to the scheduler goes nowhere."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import oslo_messaging
import pytest

from altsim import rpc
from altsim.objects import Flavor, RequestSpec
from altsim.scenario.launcher import LaunchedDeployment
from altsim.scenario.runner import _free_port
from altsim.scenario.schema import load_scenario
from altsim.scenario.topology import service_conf
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
