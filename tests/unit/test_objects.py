"""Payload models and their serializer (altsim/objects.py), alone and on a real RPC server."""

from __future__ import annotations

import sys
import threading
import uuid

import oslo_messaging
import pytest
from oslo_messaging._drivers import common
from oslo_serialization import jsonutils

from altsim import memory_driver, rpc
from altsim.exceptions import REMOTE_EXCEPTION_MODULES, NoValidHost
from altsim.objects import (
    CELL0_UUID,
    DATA_KEY,
    TYPE_KEY,
    VERSION_KEY,
    BuildRequest,
    Fault,
    Flavor,
    Instance,
    PayloadError,
    PayloadSerializer,
    RequestSpec,
    RetryInfo,
    Selection,
    VmState,
    from_primitive,
    to_primitive,
)
from altsim_lab.testing import make_test_conf

FLAVOR = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
MODELS = [
    FLAVOR,
    RetryInfo(num_attempts=2, hosts=[("h1", "h1"), ("h2", "n2")], exc_reason="boom"),
    RetryInfo(),
    RequestSpec(instance_uuid="u1", name="web-1", project_id="p", user_id="u", flavor=FLAVOR,
                num_instances=3, request_id="req-1", ignore_hosts=["h9"], num_alternates=2),
    Selection(service_host="h1", nodename="h1", compute_node_uuid="rp-1", cell_uuid="c1",
              allocation_request={"allocations": {"rp-1": {"resources": {"VCPU": 1}}}},
              availability_zone="az-1", limits={"vcpu": 8.0}),
    Selection(service_host="h2", nodename="h2", compute_node_uuid="rp-2", cell_uuid="c1"),
    BuildRequest(instance_uuid="u1", name="web-1", project_id="p", user_id="u", flavor=FLAVOR),
    Instance(uuid="u1", name="web-1", project_id="p", user_id="u", flavor=FLAVOR,
             cell_uuid=CELL0_UUID, host="h1", node="h1", availability_zone="nova",
             vm_state=VmState.ERROR, task_state=None),
    Fault(code=500, message="No valid host was found. ", details="NoValidHost"),
]
SERIALIZER = PayloadSerializer()


def wire(entity):
    """What a broker does to a payload: serialize, JSON round trip, deserialize."""
    return SERIALIZER.deserialize_entity({}, jsonutils.loads(jsonutils.dumps(
        SERIALIZER.serialize_entity({}, entity))))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_every_model_survives_the_wire(model):
    back = wire(model)
    assert type(back) is type(model)
    assert back == model


def test_every_registered_type_is_covered():
    from altsim.objects import _registry
    assert set(_registry()) == {type(m).__name__ for m in MODELS}


def test_models_nested_in_lists_and_dicts_survive_the_wire():
    payload = {"lists": [[MODELS[4], MODELS[5]], []], "retry": MODELS[1], "n": 3, "s": "x",
               "none": None}
    assert wire(payload) == payload


def test_the_envelope_names_type_and_version():
    assert to_primitive(FLAVOR) == {TYPE_KEY: "Flavor", VERSION_KEY: "1.1",
                                    DATA_KEY: {"name": "small", "resources": FLAVOR.resources,
                                               "extra_specs": {}}}


# -- rejection ------------------------------------------------------------------------------------

def envelope(type_name, data, version="1.0"):
    return {TYPE_KEY: type_name, VERSION_KEY: version, DATA_KEY: data}


def test_unknown_type_is_rejected_naming_it():
    with pytest.raises(PayloadError, match="unknown payload type 'Server'"):
        from_primitive(envelope("Server", {}))


def test_a_non_string_type_is_rejected():
    with pytest.raises(PayloadError, match="unknown payload type 42"):
        from_primitive(envelope(42, {}))


@pytest.mark.parametrize("version", ["2.0", "0.9", None, 1])
def test_unsupported_version_is_rejected_naming_type_and_version(version):
    with pytest.raises(PayloadError) as caught:
        from_primitive(envelope("Selection", MODELS[5].model_dump(mode="json"), version))
    assert str(caught.value).startswith("Selection: unsupported version")
    assert repr(version) in str(caught.value)


def test_a_newer_minor_version_is_accepted():
    assert from_primitive(envelope("Flavor", FLAVOR.model_dump(mode="json"), "1.7")) == FLAVOR


@pytest.mark.parametrize(("type_name", "data", "fields"), [
    ("Flavor", {"name": "small"}, ["resources"]),
    ("Flavor", {"name": "small", "resources": {"VCPU": "lots"}}, ["resources.VCPU"]),
    ("RetryInfo", {"num_attempts": "two"}, ["num_attempts"]),
    ("RetryInfo", {"num_attempts": 1, "hosts": [["h1"]]}, ["hosts.0.1"]),
    ("Selection", {"service_host": "h1"}, ["nodename", "compute_node_uuid", "cell_uuid"]),
    ("Instance", {**MODELS[7].model_dump(mode="json"), "vm_state": "exploded"}, ["vm_state"]),
    ("Instance", {**MODELS[7].model_dump(mode="json"), "flavor": {"name": "x"}},
     ["flavor.resources"]),
    ("RequestSpec", {**MODELS[3].model_dump(mode="json"), "retry": {}}, ["retry"]),
    ("Fault", {"code": 500}, ["message"]),
])
def test_bad_fields_are_rejected_naming_type_and_field(type_name, data, fields):
    with pytest.raises(PayloadError) as caught:
        from_primitive(envelope(type_name, data))
    message = str(caught.value)
    assert message.startswith(f"{type_name}: ")
    for field in fields:
        assert f"{field}: " in message, message


def test_missing_data_is_rejected():
    with pytest.raises(PayloadError, match="^Fault: <root>: "):
        from_primitive({TYPE_KEY: "Fault", VERSION_KEY: "1.0"})


def test_a_bad_payload_nested_in_a_list_is_rejected():
    good = to_primitive(MODELS[5])
    with pytest.raises(PayloadError, match="unknown payload type 'Nope'"):
        from_primitive([good, envelope("Nope", {})])


def test_a_context_that_is_not_a_mapping_is_rejected():
    with pytest.raises(PayloadError, match="context must be a mapping, got list"):
        SERIALIZER.deserialize_context(["request_id"])
    assert SERIALIZER.deserialize_context({"request_id": "r"}) == {"request_id": "r"}


# -- on a real RPC server -------------------------------------------------------------------------

class Endpoint:
    def __init__(self) -> None:
        self.received: list[object] = []
        self.cast_seen = threading.Event()

    def describe(self, ctxt, payload):
        self.received.append(payload)
        return type(payload).__name__

    def remember(self, ctxt, payload):
        self.received.append(payload)
        self.cast_seen.set()


@pytest.fixture
def server_and_clients():
    vhost = f"objects-{uuid.uuid4().hex[:8]}"
    conf = make_test_conf()
    transport = rpc.get_rpc_transport(conf, f"memory:///{vhost}")
    endpoint = Endpoint()
    server = rpc.make_server(transport, "payloads", "server-1", [endpoint])
    server.start()
    good = rpc.make_client(transport, "payloads", "1.0").prepare(timeout=5)
    # A client without altsim's serializer: it sends whatever JSON it is given, as a buggy or
    # foreign peer would.
    raw = oslo_messaging.get_rpc_client(
        transport, oslo_messaging.Target(topic="payloads")).prepare(timeout=5)
    yield endpoint, good, raw
    rpc.stop_servers([server])
    transport.cleanup()
    memory_driver.delete_vhost(vhost)


def test_a_malformed_call_is_rejected_and_the_server_keeps_serving(server_and_clients):
    endpoint, good, raw = server_and_clients
    assert good.call({}, "describe", payload=FLAVOR) == "Flavor"
    with pytest.raises(Exception) as caught:
        raw.call({}, "describe", payload=envelope("Server", {}))
    assert "unknown payload type 'Server'" in str(caught.value)
    with pytest.raises(Exception) as caught:
        raw.call({}, "describe", payload=envelope("Flavor", {"name": "x"}))
    assert "Flavor: resources: " in str(caught.value)
    # The endpoint never saw the bad payloads, and the next good message is served.
    assert good.call({}, "describe", payload=MODELS[7]) == "Instance"
    assert endpoint.received == [FLAVOR, MODELS[7]]


def test_a_malformed_cast_is_dropped_and_the_server_keeps_serving(server_and_clients):
    endpoint, good, raw = server_and_clients
    raw.cast({}, "remember", payload=envelope("Selection", {"service_host": "h1"}))
    raw.cast({}, "remember", payload=envelope("Selection", {}, version="9.0"))
    good.cast({}, "remember", payload=MODELS[4])
    assert endpoint.cast_seen.wait(5)
    assert endpoint.received == [MODELS[4]]


def test_a_handled_message_makes_its_request_id_the_current_logging_context():
    from oslo_context import context as oslo_context

    from altsim.objects import PayloadSerializer

    PayloadSerializer().deserialize_context({"request_id": "req-follow-me"})
    assert oslo_context.get_current().request_id == "req-follow-me"


def test_a_fault_from_an_exception_that_came_over_rpc_has_its_message_not_the_traceback():
    """oslo.messaging rebuilds a remote exception as `<Name>_Remote`, whose str() carries the
    remote traceback; the fault keeps what Nova's format_message gives: the message."""
    try:
        raise NoValidHost()
    except NoValidHost:
        data = common.serialize_remote_exception(sys.exc_info())
    remote = common.deserialize_remote_exception(data, REMOTE_EXCEPTION_MODULES)
    assert "Traceback" in str(remote)  # what the fault must not carry

    assert Fault.of(remote) == Fault(
        code=500, message="No valid host was found. There are not enough hosts available.",
        details="NoValidHost")
    assert Fault.of(ValueError("plain")) == Fault(message="plain", details="ValueError")
    assert Fault.of(KeyError("a", "b")).message == "('a', 'b')"
