"""Malformed RPC messages, sent to every endpoint of a running embedded deployment, are logged
naming what is wrong and dropped, and the services keep serving: a malformed or unknown payload
is rejected with a logged, named error and never crashes the daemon.

The deployment is the one `altsim run` starts (altsim_lab.deploy.embedded): the real scheduler,
super and cell conductors and the computes (one MultiServerRPCServer for every host) on
in-memory buses. A client without altsim's serializer sends what hypothesis makes of each
endpoint's arguments: exactly one defect per message (an unknown method or RPC version, a
missing or extra argument, a value of the wrong type, or a payload envelope with an unknown
type tag, an unsupported version or broken data), so every message must be refused and the
log must name that defect. Afterwards nothing has changed in placement or the databases, and a
real select_destinations and a real build that reschedules once still work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oslo_config import cfg

from altsim import rpc
from altsim.objects import (
    DATA_KEY,
    TYPE_KEY,
    VERSION_KEY,
    BuildRequest,
    Flavor,
    Instance,
    Model,
    PayloadError,
    RequestSpec,
    RetryInfo,
    Selection,
    _registry,
    from_primitive,
    to_primitive,
)
from altsim_lab.deploy.embedded import EmbeddedDeployment
from altsim_lab.nova_api import submit_servers
from altsim_lab.scenario.schema import parse_scenario
from compute_sim.manager import ComputeManager
from conductor.cell_manager import CellConductorManager
from conductor.rpcapi import ConductorAPI
from conductor.super_manager import SuperConductorManager
from scheduler.manager import SchedulerManager
from scheduler.rpcapi import SchedulerAPI

HOST_RESOURCES = {"VCPU": 64, "MEMORY_MB": 65536, "DISK_GB": 1000}
FLAVOR = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
# host1 is always weighed first and always fails its spawn, so every real build is scheduled,
# cast to a compute, rescheduled by the cell conductor and built on host2: each endpoint has a
# part in it.
SCENARIO = parse_scenario({
    "name": "bad-payloads", "seed": 11,
    "config": {"filter_scheduler.static_host_weights": {"host1": 30, "host2": 20, "host3": 10},
               "filter_scheduler.build_failure_weight_multiplier": 0},
    "cells": [{"name": "cell1", "hosts": [{"name": h, "resources": HOST_RESOURCES}
                                          for h in ("host1", "host2", "host3")]}],
    "flavors": {"small": dict(FLAVOR.resources)},
    "faults": [{"hosts": ["host1"], "action": "reschedule", "reason": "spawn failed"}],
    "requests": [{"name": "unused", "flavor": "small"}],
})
WAIT_S = 10.0
EXAMPLES = 40
SERVER_LOGGER = "oslo_messaging.rpc.server"


# -- what each endpoint takes ----------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    kind: str                 # model, models, uuids, bool, int_or_none, mapping
    cls: type[Model] | None = None
    required: bool = True
    nullable: bool = False    # a model argument that may be None
    may_be_empty: bool = False  # a list of models that may be empty


@dataclass(frozen=True)
class Endpoint:
    """One RPC method as the deployment serves it, with a well-formed set of arguments."""

    label: str
    topic: str
    method: str
    manager: type
    params: tuple[Param, ...]
    valid: Callable[[], dict[str, Any]]
    is_call: bool = False
    server: str | None = None
    on_cell_bus: bool = False


def _spec(name: str = "x") -> RequestSpec:
    return RequestSpec(instance_uuid=str(uuid.uuid4()), name=name, project_id="p",
                       user_id="u", flavor=FLAVOR)


def _instance() -> Instance:
    return Instance(uuid=str(uuid.uuid4()), name="x", project_id="p", user_id="u",
                    flavor=FLAVOR, cell_uuid=str(uuid.uuid4()))


def _selection() -> Selection:
    return Selection(service_host="host2", nodename="host2", compute_node_uuid=str(uuid.uuid4()),
                     cell_uuid=str(uuid.uuid4()))


def _build_request() -> BuildRequest:
    return BuildRequest(instance_uuid=str(uuid.uuid4()), name="x", project_id="p", user_id="u",
                        flavor=FLAVOR)


SPEC = Param("request_spec", "model", RequestSpec)
INSTANCE = Param("instance", "model", Instance)
ENDPOINTS = {
    "scheduler": Endpoint(
        "scheduler", "scheduler", "select_destinations", SchedulerManager,
        (SPEC, Param("instance_uuids", "uuids"),
         Param("return_alternates", "bool", required=False),
         Param("num_alternates", "int_or_none", required=False)),
        lambda: {"request_spec": _spec(), "instance_uuids": [str(uuid.uuid4())],
                 "return_alternates": True, "num_alternates": None},
        is_call=True),
    "super_conductor": Endpoint(
        "super_conductor", "conductor", "schedule_and_build_instances", SuperConductorManager,
        (Param("build_requests", "models", BuildRequest),
         Param("request_specs", "models", RequestSpec)),
        lambda: {"build_requests": [_build_request()], "request_specs": [_spec()]}),
    "cell_conductor": Endpoint(
        "cell_conductor", "conductor", "build_instances", CellConductorManager,
        (INSTANCE, SPEC, Param("retry", "model", RetryInfo),
         Param("host_list", "models", Selection, may_be_empty=True)),
        lambda: {"instance": _instance(), "request_spec": _spec(),
                 "retry": RetryInfo(num_attempts=2), "host_list": [_selection()]},
        on_cell_bus=True),
    "compute": Endpoint(
        "compute", "compute", "build_and_run_instance", ComputeManager,
        (INSTANCE, SPEC, Param("retry", "model", RetryInfo, nullable=True),
         Param("host_list", "models", Selection, may_be_empty=True),
         Param("limits", "mapping")),
        lambda: {"instance": _instance(), "request_spec": _spec(), "retry": RetryInfo(),
                 "host_list": [_selection()], "limits": {}},
        server="host1", on_cell_bus=True),
}


def plain_is_valid(param: Param, value: Any) -> bool:
    """Whether a value that is no payload envelope is an acceptable argument."""
    if param.kind == "model":
        return value is None and param.nullable
    if param.kind == "models":
        return value == [] and param.may_be_empty
    if param.kind == "uuids":
        return (isinstance(value, list) and bool(value)
                and all(isinstance(v, str) and v for v in value))
    if param.kind == "bool":
        return isinstance(value, bool)
    if param.kind == "int_or_none":
        return value is None or (type(value) is int and value >= 0)
    if param.kind == "mapping":
        return isinstance(value, dict)
    raise AssertionError(param.kind)


# -- strategies --------------------------------------------------------------------------------

_keys = st.text(max_size=8).filter(lambda k: not k.startswith("altsim."))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6)


@dataclass(frozen=True)
class Message:
    """One malformed message and the text its rejection must log."""

    kwargs: dict[str, Any]
    expected: str
    method: str
    version: str | None = None
    ctxt: Any = None


def _envelope(type_name: Any, version: Any, data: Any) -> dict[str, Any]:
    return {TYPE_KEY: type_name, VERSION_KEY: version, DATA_KEY: data}


def _rejection(envelope: dict[str, Any]) -> str | None:
    try:
        from_primitive(envelope)
    except PayloadError as exc:
        return str(exc)
    return None


@st.composite
def bad_envelopes(draw: st.DrawFn, cls: type[Model], good: Model) -> tuple[Any, str]:
    """A payload envelope the serializer must refuse, and the message it refuses it with."""
    data = to_primitive(good)[DATA_KEY]
    how = draw(st.sampled_from(["type", "version", "drop", "extra", "field", "data"]))
    if how == "type":
        tag = draw(st.text(max_size=12) | json_values)
        assume(tag not in list(_registry()))
        envelope = _envelope(tag, "1.0", data)
    elif how == "version":
        version = draw(st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True) | json_values)
        assume(not (isinstance(version, str) and version.split(".")[0] == "1"))
        envelope = _envelope(cls.__name__, version, data)
    elif how == "drop":
        required = [n for n, f in cls.model_fields.items() if f.is_required()] or list(data)
        field = draw(st.sampled_from(required))
        envelope = _envelope(cls.__name__, "1.0", {k: v for k, v in data.items() if k != field})
    elif how == "extra":
        key = draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in data))
        envelope = _envelope(cls.__name__, "1.0", {**data, key: draw(json_values)})
    elif how == "field":
        field = draw(st.sampled_from(sorted(data)))
        envelope = _envelope(cls.__name__, "1.0", {**data, field: draw(json_values)})
    else:
        envelope = _envelope(cls.__name__, "1.0", draw(json_values))
    problem = _rejection(envelope)
    assume(problem is not None)  # a mutation pydantic accepts is a well-formed payload
    return envelope, problem


def _wrong_plain(param: Param) -> st.SearchStrategy[Any]:
    return json_values.filter(lambda v: not plain_is_valid(param, v))


@st.composite
def messages(draw: st.DrawFn, endpoint: Endpoint) -> Message:
    """Well-formed arguments for the endpoint, then exactly one defect."""
    kwargs = {name: to_primitive(value) for name, value in endpoint.valid().items()}
    method = endpoint.method
    defect = draw(st.sampled_from(["method", "version", "missing", "extra", "wrong_type",
                                   "other_payload", "bad_envelope", "context"]))
    if defect == "method":
        method = draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,24}", fullmatch=True))
        assume(method not in dir(endpoint.manager) and not method.endswith("_ignore_errors"))
        return Message(kwargs, f"Endpoint does not support RPC method {method}", method)
    if defect == "version":
        major, minor = draw(st.integers(0, 9)), draw(st.integers(0, 99))
        assume((major, minor) > (1, 0) or major != 1)
        version = f"{major}.{minor}"
        return Message(kwargs, f"Endpoint does not support RPC version {version}", method,
                       version=version)
    if defect == "context":
        ctxt = draw(st.lists(json_values, max_size=2) | st.text(max_size=8) | st.integers())
        return Message(kwargs, f"context must be a mapping, got {type(ctxt).__name__}", method,
                       ctxt=ctxt)
    if defect == "missing":
        param = draw(st.sampled_from([p for p in endpoint.params if p.required]))
        del kwargs[param.name]
        return Message(kwargs, f"missing 1 required positional argument: '{param.name}'",
                       method)
    if defect == "extra":
        name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in kwargs))
        kwargs[name] = draw(json_values)
        return Message(kwargs, f"unexpected keyword argument '{name}'", method)
    param = draw(st.sampled_from(endpoint.params))
    if defect == "wrong_type":
        kwargs[param.name] = draw(_wrong_plain(param))
        return Message(kwargs, param.name, method)
    if param.cls is None:  # no payload argument to break: give it a wrong plain value
        kwargs[param.name] = draw(_wrong_plain(param))
        return Message(kwargs, param.name, method)
    good = endpoint.valid()[param.name]
    good = good[0] if isinstance(good, list) else good
    if defect == "other_payload":  # a well-formed payload of another type
        other = draw(st.sampled_from([FLAVOR, RetryInfo(), _selection(), _build_request()]))
        assume(not isinstance(other, param.cls))
        value: Any = to_primitive(other)
        problem = param.name
    else:
        value, problem = draw(bad_envelopes(param.cls, good))
    kwargs[param.name] = [value] if param.kind == "models" else value
    return Message(kwargs, problem, method)


# -- the deployment and its clients ---------------------------------------------------------------

class Target:
    """A running embedded deployment plus raw clients (no serializer) to its endpoints."""

    def __init__(self, tmp: Path) -> None:
        self.deployment = EmbeddedDeployment(SCENARIO, f"badrpc-{uuid.uuid4().hex[:8]}", tmp)
        self.deployment.start()
        self.cell = self.deployment.topology.cells[0]
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[], default_config_dirs=[])
        self._transports = {
            "api": rpc.get_rpc_transport(conf, self.deployment.topology.api_transport_url),
            "cell": rpc.get_rpc_transport(conf, self.cell.mapping.transport_url)}

    def send(self, endpoint: Endpoint, message: Message) -> None:
        transport = self._transports["cell" if endpoint.on_cell_bus else "api"]
        target = oslo_messaging.Target(topic=endpoint.topic, server=endpoint.server)
        client = oslo_messaging.get_rpc_client(transport, target)  # sends JSON as given
        prepared = client.prepare(version=message.version, timeout=WAIT_S) \
            if message.version else client.prepare(timeout=WAIT_S)
        ctxt = {"request_id": "req-bad-payload"} if message.ctxt is None else message.ctxt
        if endpoint.is_call:
            with pytest.raises(Exception) as caught:
                prepared.call(ctxt, message.method, **message.kwargs)
            assert not isinstance(caught.value, oslo_messaging.MessagingTimeout)
        else:
            prepared.cast(ctxt, message.method, **message.kwargs)

    def state(self) -> dict[str, Any]:
        """Everything a processed message could have changed."""
        d = self.deployment
        return {
            "allocations": {p["uuid"]: d.placement.get_provider_allocations(p["uuid"])
                            for p in d.placement.list_resource_providers()},
            "instances": [db.list_instance_rows() for db in [*d.cell_dbs.values(), d.cell0_db]],
            "events": [db.list_events() for db in d.cell_dbs.values()],
            "compute_nodes": [[(n.host, n.failed_builds) for n in db.list_compute_nodes()]
                              for db in d.cell_dbs.values()],
            "build_requests": d.api_db.instance_cells(),
        }

    def close(self) -> None:
        for transport in self._transports.values():
            transport.cleanup()
        self.deployment.stop()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    running = Target(tmp_path_factory.mktemp("bad-rpc"))
    try:
        yield running
    finally:
        running.close()


def rejections(caplog: pytest.LogCaptureFixture, start: int) -> list[str]:
    """The server-side 'Exception during message handling' records since `start`, formatted
    with their tracebacks."""
    formatter = logging.Formatter("%(message)s")
    return [formatter.format(r) for r in caplog.records[start:]
            if r.name == SERVER_LOGGER and r.exc_info]


def wait_for_rejection(target: Target, caplog: pytest.LogCaptureFixture,
                       start: int) -> list[str]:
    target.deployment.join(WAIT_S)  # the message, and whatever it led to, handled
    return rejections(caplog, start)


def assert_still_serving(target: Target, name: str) -> None:
    """A real select_destinations returns hosts, and a real build goes ACTIVE (on host2,
    after host1's failure went through the compute and the cell conductor)."""
    d = target.deployment
    spec = _spec(f"{name}-probe")
    scheduler = SchedulerAPI(d.api_rpc_transport(), timeout=WAIT_S)
    [selection] = scheduler.select_destinations(rpc.new_context(), spec, [spec.instance_uuid])
    assert [s.service_host for s in selection] == ["host1", "host2", "host3"]
    assert d.placement.delete_allocation_for_instance(spec.instance_uuid)

    instance_uuid = str(uuid.uuid4())
    submit_servers(d.api_db, ConductorAPI(d.api_rpc_transport()), {name: instance_uuid}, FLAVOR)
    cell_db = d.cell_dbs[target.cell.mapping.uuid]
    d.join(WAIT_S)  # the build, its reschedule and its second spawn all handled
    row = next((r for r in cell_db.list_instance_rows() if r["uuid"] == instance_uuid), {})
    assert (row.get("vm_state"), row.get("host")) == ("active", "host2"), row


def storm(target: Target, endpoint: Endpoint, caplog: pytest.LogCaptureFixture) -> int:
    """Send hypothesis's malformed messages one by one; each must be rejected, logged naming
    its defect, and change nothing. Returns how many were sent."""
    sent = []
    before = target.state()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(message=messages(endpoint))
    def one(message: Message) -> None:
        start = len(caplog.records)
        target.send(endpoint, message)
        logged = wait_for_rejection(target, caplog, start)
        assert logged, f"{endpoint.label}: nothing logged for {message}"
        assert any(message.expected in text for text in logged), (message, logged)
        sent.append(message)

    one()
    assert target.state() == before, "a malformed message was processed"
    return len(sent)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_malformed_messages_are_logged_and_dropped_and_the_service_keeps_serving(
        target: Target, caplog: pytest.LogCaptureFixture, name: str) -> None:
    caplog.set_level(logging.ERROR, logger=SERVER_LOGGER)
    # Given a running deployment that serves a real build
    assert_still_serving(target, f"{name}-before")
    # When the endpoint gets a storm of malformed messages
    sent = storm(target, ENDPOINTS[name], caplog)
    # Then each was refused, naming its defect (checked in storm), nothing changed, and the
    # deployment still schedules and builds
    assert sent >= EXAMPLES // 2
    assert_still_serving(target, f"{name}-after")
