"""Message payloads: immutable pydantic models and the one serializer that carries them.

Every argument that crosses a bus is one of these models (or a list of them). The serializer
wraps each model in a small envelope with a type tag and a version so that the receiving side
rebuilds the same class, and so that an unknown or malformed payload is rejected with an error
that names the type and the field instead of surfacing as an AttributeError deep in a manager.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

import oslo_messaging
import pydantic
from oslo_context import context as oslo_context
from pydantic import BaseModel, ConfigDict, Field

CELL0_UUID = "00000000-0000-0000-0000-000000000000"


class Model(BaseModel):
    """Base of every payload: frozen, strict about unknown fields, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    VERSION: ClassVar[str] = "1.0"


class VmState(str, enum.Enum):
    BUILDING = "building"
    ACTIVE = "active"
    ERROR = "error"


def server_status(vm_state: str) -> str:
    """The API's status for a vm_state, as Nova shows it (building is BUILD)."""
    return {"active": "ACTIVE", "error": "ERROR", "building": "BUILD"}.get(vm_state,
                                                                           vm_state.upper())


# A flavor's extra spec naming a trait: `trait:CUSTOM_X` = required or forbidden.
TRAIT_SPEC_PREFIX = "trait:"


class Flavor(Model):
    """A flavor is a name, the placement resources one instance of it consumes and its extra
    specs (`trait:<NAME>`: `required` or `forbidden`, as Nova's)."""

    # 1.1: extra_specs (a field added is a minor version, as Nova's objects count them).
    VERSION: ClassVar[str] = "1.1"

    name: str
    resources: dict[str, int]
    extra_specs: dict[str, str] = Field(default_factory=dict)


class RetryInfo(Model):
    """Nova's filter_properties['retry']: attempts so far and the hosts tried, in order."""

    num_attempts: int = 1
    hosts: list[tuple[str, str]] = Field(default_factory=list)
    exc_reason: str | None = None


class RequestSpec(Model):
    """What the scheduler needs to place one instance (the first spec stands for the request)."""

    instance_uuid: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    num_instances: int = 1
    request_id: str | None = None
    ignore_hosts: list[str] = Field(default_factory=list)
    num_alternates: int | None = None


class Selection(Model):
    """One host the scheduler returned: the chosen one (claimed) or an alternate (not claimed)."""

    service_host: str
    nodename: str
    compute_node_uuid: str
    cell_uuid: str
    allocation_request: dict[str, Any] | None = None
    allocation_request_version: str = "1.36"
    availability_zone: str = "nova"
    limits: dict[str, float] = Field(default_factory=dict)


class BuildRequest(Model):
    """The API-level record of an instance that is not yet in a cell."""

    instance_uuid: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor


class Instance(Model):
    """An instance as it travels to a compute and back; the cell DB holds the live row."""

    uuid: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    cell_uuid: str
    host: str | None = None
    node: str | None = None
    availability_zone: str | None = None
    vm_state: VmState = VmState.BUILDING
    task_state: str | None = "scheduling"


class Fault(Model):
    """The record of why an instance went to ERROR."""

    code: int = 500
    message: str
    details: str = ""

    @classmethod
    def of(cls, exc: BaseException, message: str | None = None) -> Fault:
        """The fault a build failed with: Nova's code 500, the message (the exception's text
        unless `message` is given, as Nova's exception_to_dict), the exception's class.

        An exception that came back over RPC is oslo.messaging's copy of it, class
        `<Name>_Remote`, whose str() adds the remote traceback: the text is its message
        argument instead (as Nova's format_message), the class its original name."""
        text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
        return cls(code=500, message=message or text,
                   details=type(exc).__name__.removesuffix("_Remote"))


class PayloadError(ValueError):
    """A message argument that is not a known, well-formed payload."""


def _registry() -> dict[str, type[Model]]:
    return {cls.__name__: cls for cls in
            (Flavor, RetryInfo, RequestSpec, Selection, BuildRequest, Instance, Fault)}


TYPE_KEY = "altsim.type"
VERSION_KEY = "altsim.version"
DATA_KEY = "altsim.data"


def to_primitive(entity: Any) -> Any:
    """Turn models (possibly nested in lists/dicts) into JSON-safe envelopes."""
    if isinstance(entity, Model):
        return {TYPE_KEY: type(entity).__name__, VERSION_KEY: entity.VERSION,
                DATA_KEY: entity.model_dump(mode="json")}
    if isinstance(entity, (list, tuple)):
        return [to_primitive(item) for item in entity]
    if isinstance(entity, dict):
        return {key: to_primitive(value) for key, value in entity.items()}
    return entity


def from_primitive(primitive: Any) -> Any:
    """Rebuild models from envelopes; raise PayloadError naming what is wrong."""
    if isinstance(primitive, list):
        return [from_primitive(item) for item in primitive]
    if not isinstance(primitive, dict):
        return primitive
    if TYPE_KEY not in primitive:
        return {key: from_primitive(value) for key, value in primitive.items()}
    type_name = primitive.get(TYPE_KEY)
    cls = _registry().get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise PayloadError(f"unknown payload type {type_name!r}")
    version = primitive.get(VERSION_KEY)
    if not isinstance(version, str) or version.split(".")[0] != cls.VERSION.split(".")[0]:
        raise PayloadError(f"{type_name}: unsupported version {version!r} (have {cls.VERSION})")
    try:
        return cls.model_validate(primitive.get(DATA_KEY))
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors())
        raise PayloadError(f"{type_name}: {problems}") from None


class PayloadSerializer(oslo_messaging.Serializer):
    """The single serializer of every altsim RPC client, server and notifier."""

    def serialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return to_primitive(entity)

    def deserialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return from_primitive(entity)

    def serialize_context(self, ctxt: Any) -> dict:
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: Any) -> dict:
        if not isinstance(ctxt, dict):
            raise PayloadError(f"context must be a mapping, got {type(ctxt).__name__}")
        # oslo.messaging calls this in the worker thread that then runs the endpoint: making it
        # oslo.context's current context puts the request id in every log line of the
        # handling, so one build can be followed through every daemon's log.
        request_id = ctxt.get("request_id")
        if isinstance(request_id, str):
            oslo_context.RequestContext(request_id=request_id, overwrite=True)
        return dict(ctxt)
