"""The computes' simulation controls over a real bus (the in-memory one of an embedded cloud,
the RPC path a launched cloud takes over RabbitMQ): a fault rule sent as a call is installed
before the call returns and fails the next build, a host added is served when the call returns;
a malformed one is answered with the error, logged, and the compute keeps serving."""

from __future__ import annotations

import logging

import oslo_messaging
import pytest

from altsim.rpc import new_context
from altsim_lab.testing import Cloud
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import HostSpec
from compute_sim.rpcapi import RPC_TOPIC, SIMULATION_NAMESPACE, SimulationAPI

WEIGHTS = {"filter_scheduler.static_host_weights": {"host1": 30, "host2": 20, "host3": 10}}
SERVER_LOGGER = "oslo_messaging.rpc.server"


@pytest.fixture
def cloud() -> Cloud:
    with Cloud(config=WEIGHTS) as running:
        running.start()
        yield running


def test_a_rule_sent_over_the_bus_fails_the_next_build_there(cloud: Cloud) -> None:
    first = cloud.boot("a", "small")
    assert (first.status, first.host) == ("ACTIVE", "host1")
    api = SimulationAPI(cloud.deployment.cell_rpc_transport("cell1"))

    # sent to host2's queue: one injector serves every host of the process
    api.add_fault_rule(new_context(), "host2", FaultRule(hosts=["host1"], action="reschedule",
                                                         first=1, reason="over the bus"))

    second = cloud.boot("b", "small")
    assert [(a.host, a.result, a.reason) for a in second.attempts] == [
        ("host1", "rescheduled", "over the bus"), ("host2", "active", None)]
    assert cloud.boot("c", "small").host == "host1"  # first=1: spent


def test_the_periodic_task_runs_when_asked(cloud: Cloud) -> None:
    cloud.fail_spawn("host1", times=None)
    cloud.boot("a", "small")
    assert cloud.failed_builds("host1") == 0
    api = SimulationAPI(cloud.deployment.cell_rpc_transport("cell1"))

    assert api.update_available_resource(new_context(), "host3") == 1  # host1's row
    assert cloud.failed_builds("host1") == 1


def test_a_malformed_rule_is_answered_with_its_error_and_the_compute_keeps_serving(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=SERVER_LOGGER)
    raw = oslo_messaging.get_rpc_client(  # no serializer: sends the JSON as given
        cloud.deployment.cell_rpc_transport("cell1"),
        oslo_messaging.Target(topic=RPC_TOPIC, server="host1", namespace=SIMULATION_NAMESPACE))

    # The reply is the error (the in-memory bus hands back the exception itself; over
    # RabbitMQ it is a RemoteError with the same text), not a timeout.
    with pytest.raises(Exception, match="add_fault_rule: rule: action: Input should be") as no:
        raw.prepare(timeout=10).call(new_context(), "add_fault_rule",
                                     rule={"hosts": ["host1"], "action": "explode"})

    assert not isinstance(no.value, oslo_messaging.MessagingTimeout)
    assert any("add_fault_rule: rule: action" in str(r.exc_info[1])
               for r in caplog.records if r.name == SERVER_LOGGER and r.exc_info)
    server = cloud.boot("vm", "small")  # nothing installed, and host1 still builds
    assert [(a.host, a.result) for a in server.attempts] == [("host1", "active")]


def test_a_host_added_over_the_bus_is_served_and_a_bad_one_refused(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=SERVER_LOGGER)
    transport = cloud.deployment.cell_rpc_transport("cell1")
    raw = oslo_messaging.get_rpc_client(  # no serializer: sends the JSON as given
        transport, oslo_messaging.Target(topic=RPC_TOPIC, server="host3",
                                         namespace=SIMULATION_NAMESPACE, version="1.1"))
    api = SimulationAPI(transport)

    # A malformed spec and a taken name are answered with their error, nothing added
    with pytest.raises(Exception, match="add_host: spec: resources: Field required") as no:
        raw.prepare(timeout=10).call(new_context(), "add_host", spec={"name": "host4"})
    assert not isinstance(no.value, oslo_messaging.MessagingTimeout)
    with pytest.raises(Exception, match="a host named 'host1' already exists"):
        api.add_host(new_context(), "host3", HostSpec(name="host1", resources={"VCPU": 1}))
    assert any("add_host: spec: resources" in str(r.exc_info[1])
               for r in caplog.records if r.name == SERVER_LOGGER and r.exc_info)

    # A good one, sent through host3's queue, is served on its own when the call returns
    api.add_host(new_context(), "host3", HostSpec(name="host4", resources={"VCPU": 2}))

    assert api.update_available_resource(new_context(), "host4") == 0
    cell_db = next(iter(cloud.deployment.cell_dbs.values()))
    assert sorted(n.host for n in cell_db.list_compute_nodes()) == [
        "host1", "host2", "host3", "host4"]
    assert cloud.boot("vm", "small").host == "host1"  # the compute still builds
