"""Raw garbage on a launched deployment's queues, over a real broker: bodies that are not
JSON, JSON that is no oslo.messaging envelope, envelopes around broken messages. Each daemon
logs and drops them (nothing is left in its queue, nothing is requeued forever) and keeps
serving: a real select_destinations answers and a real build goes ACTIVE afterwards.

The bodies are published with kombu straight to the exchange the daemons consume from (the
control exchange `altsim`, routing key = queue name), bypassing oslo.messaging's client.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import kombu
import pytest

from altsim import rpc
from altsim.objects import Flavor, RequestSpec
from altsim_lab.deploy.launcher import LaunchedDeployment
from altsim_lab.nova_api import submit_servers
from altsim_lab.scenario.runner import _free_port
from altsim_lab.scenario.schema import load_scenario
from conductor.rpcapi import ConductorAPI
from scheduler.rpcapi import SchedulerAPI

SCENARIO = Path(__file__).parents[3] / "etc" / "altsim" / "scenarios" / "reschedule-once.yaml"
EXCHANGE = rpc.CONTROL_EXCHANGE
FLAVOR = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
WAIT_S = 30.0
pytestmark = pytest.mark.rabbit


def _envelope(message: object) -> bytes:
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


# (what it is, body, content type): what a buggy or hostile publisher could put on a queue.
BODIES = [
    ("binary garbage labelled JSON", b"\x00\xff\xfe not json {", "application/json"),
    ("binary garbage, no type", b"\x89PNG\r\n\x1a\n\x00\x00", None),
    ("truncated JSON", b'{"oslo.version": "2.0", "oslo.message": "{\\"meth', "application/json"),
    ("JSON that is not an object", b"[1, 2, 3]", "application/json"),
    ("JSON null", b"null", "application/json"),
    ("envelope around non-JSON", b'{"oslo.version": "2.0", "oslo.message": "\\u0000{nope"}',
     "application/json"),
    ("envelope of an unknown version", b'{"oslo.version": "9.0", "oslo.message": "{}"}',
     "application/json"),
    ("envelope around a list", _envelope([1, 2]), "application/json"),
    ("message without a method", _envelope({"args": {}}), "application/json"),
    ("args that are not a mapping", _envelope({"method": "select_destinations", "args": [1]}),
     "application/json"),
    ("unknown method", _envelope({"method": "format_disk", "args": {}}), "application/json"),
    ("garbage payload envelope",
     _envelope({"method": "build_and_run_instance", "version": "1.0",
                "args": {"instance": {"altsim.type": "Instance", "altsim.version": "1.0",
                                      "altsim.data": {"uuid": ["not", "a", "string"]}}}}),
     "application/json"),
    ("a request id that is no string", _envelope({"method": "select_destinations", "args": {},
                                                 "_context_request_id": {"a": [1]}}),
     "application/json"),
]


@pytest.fixture(scope="module")
def deployment(rabbit_url: str) -> Iterator[LaunchedDeployment]:
    with tempfile.TemporaryDirectory() as workdir:
        launched = LaunchedDeployment(load_scenario(SCENARIO),
                                      f"altsim-test-{uuid.uuid4().hex[:8]}", Path(workdir),
                                      rabbit_url, _free_port())
        try:
            launched.start()
            yield launched
        finally:
            launched.stop()


def publish(url: str, routing_key: str, body: bytes, content_type: str | None) -> None:
    with kombu.Connection(url.replace("rabbit://", "amqp://", 1)) as conn:
        producer = kombu.Producer(conn.channel())
        # The exchange exists (the daemons declared it): publish without declaring it, so
        # kombu's defaults cannot clash with oslo.messaging's exchange settings.
        producer.publish(body, exchange=EXCHANGE, routing_key=routing_key,
                         content_type=content_type or "application/octet-stream",
                         content_encoding="binary")


def queue_depths(url: str) -> dict[str, int]:
    vhost = urlsplit(url).path.lstrip("/")
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    depths = {}
    for line in out.splitlines():
        name, _, count = line.partition("\t")
        if count.strip().isdigit():
            depths[name.strip()] = int(count)
    return depths


def wait_until(predicate, timeout: float = WAIT_S) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_daemons_drop_raw_garbage_and_keep_serving(deployment: LaunchedDeployment) -> None:
    api_url = deployment.topology.api_transport_url
    cell = deployment.topology.cells[0]
    cell_url = cell.mapping.transport_url
    host = cell.hosts[0].name
    queues = [(api_url, "scheduler"), (api_url, "conductor"), (cell_url, "conductor"),
              (cell_url, f"compute.{host}")]
    logs = {name: deployment.workdir / f"{name}.log"
            for name in ("scheduler", "conductor-super", f"conductor-{cell.mapping.name}",
                         f"compute-{cell.mapping.name}")}
    sizes = {name: path.stat().st_size for name, path in logs.items()}

    # Given a running deployment, when every kind of garbage lands on each served queue
    for url, queue in queues:
        for _, body, content_type in BODIES:
            publish(url, queue, body, content_type)

    # Then every queue is drained (each message rejected, not requeued) ...
    for url, queue in queues:
        assert wait_until(lambda u=url, q=queue: queue_depths(u).get(q) == 0), (
            queue, queue_depths(url))
    # ... each daemon logged every one of them, once, and is still running ...
    def rejections(name: str) -> int:
        new = logs[name].read_text(errors="replace")[sizes[name]:]
        # the rabbit driver's (not even an oslo.messaging message) or the RPC server's
        return new.count("Failed to process message") + new.count(
            "Exception during message handling")

    for name in logs:
        assert wait_until(lambda n=name: rejections(n) >= len(BODIES)), (
            name, logs[name].read_text(errors="replace")[sizes[name]:][-3000:])
        assert rejections(name) == len(BODIES)
    for process_name, pid in deployment.process_ids().items():
        assert subprocess.run(["kill", "-0", str(pid)]).returncode == 0, process_name

    # ... and the deployment still schedules and builds.
    spec = RequestSpec(instance_uuid=str(uuid.uuid4()), name="probe", project_id="p",
                       user_id="u", flavor=FLAVOR)
    [selection] = SchedulerAPI(deployment.api_rpc_transport(), timeout=WAIT_S) \
        .select_destinations(rpc.new_context(), spec, [spec.instance_uuid])
    assert selection and all(s.cell_uuid == cell.mapping.uuid for s in selection)
    assert deployment.placement.delete_allocation_for_instance(spec.instance_uuid)
    instance_uuid = str(uuid.uuid4())
    submit_servers(deployment.api_db, ConductorAPI(deployment.api_rpc_transport()),
                   {"after-garbage": instance_uuid}, FLAVOR)
    cell_db = deployment.cell_dbs[cell.mapping.uuid]

    def state() -> str | None:
        row = next((r for r in cell_db.list_instance_rows() if r["uuid"] == instance_uuid), {})
        return row.get("vm_state")

    assert wait_until(lambda: state() in ("active", "error")) and state() == "active"
