"""Allocations: a consumer's (``/allocations/{consumer_uuid}``: show, replace, delete) and a
provider's (``GET /resource_providers/{uuid}/allocations``).

GET shows project and user from 1.12 and ``consumer_generation`` from 1.28. PUT takes the
1.12+ dict form at every version, requires ``project_id``/``user_id`` from 1.8 and
``consumer_generation`` from 1.28 (before, it must be absent and is not checked), accepts
``mappings`` from 1.34 and an empty ``allocations`` (removing them) from 1.28, and requires
``consumer_type`` from 1.38 (GET shows it from then). A class that is neither standard nor a
custom one created first is a 400 "No such resource class" (the store checks), as in
placement. ``POST /allocations`` (1.13) writes several consumers at once, all or nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.handlers.common import Body, is_uuid_like
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request
from placement_sim.microversion import Version

# placement's [placement] incomplete_consumer_{project,user}_id default, used before 1.8.
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"


class AllocationsReplace(Body):
    allocations: dict[str, dict[str, Any]] = Field(
        description="Provider uuid -> {\"resources\": {class: amount}}; {} removes them (1.28+)."
    )
    project_id: StrictStr | None = Field(default=None, min_length=1, max_length=255,
                                         description="Required since 1.8.")
    user_id: StrictStr | None = Field(default=None, min_length=1, max_length=255,
                                      description="Required since 1.8.")
    consumer_generation: StrictInt | None = Field(
        default=None, description="Required since 1.28: null for a new consumer.")
    mappings: dict[str, list[str]] | None = Field(default=None, description="Since 1.34.")
    consumer_type: StrictStr | None = Field(default=None, min_length=1, max_length=255,
                                            pattern=r"^[A-Z0-9_]+$",
                                            description="Required since 1.38.")


async def get_provider_allocations(req: PlacementRequest, uuid: str) -> JSONResponse:
    allocations = req.store.get_provider_allocations(uuid)
    generation = req.store.get_resource_provider(uuid)["generation"]
    return JSONResponse({
        "allocations": {c: {"resources": res} for c, res in allocations.items()},
        "resource_provider_generation": generation,
    })


async def get_allocations(req: PlacementRequest, consumer_uuid: str) -> JSONResponse:
    body = req.store.get_allocations(consumer_uuid)
    if req.version < (1, 12):
        body.pop("project_id", None)
        body.pop("user_id", None)
    if req.version < (1, 28):
        body.pop("consumer_generation", None)
    if req.version < (1, 38):
        body.pop("consumer_type", None)
    return JSONResponse(body)


async def put_allocations(req: PlacementRequest, consumer_uuid: str,
                          body: AllocationsReplace) -> Response:
    if not is_uuid_like(consumer_uuid):
        raise bad_request(f"Malformed consumer_uuid: {consumer_uuid}")
    _check_for_version(body, req.version)
    write = _write(req, consumer_uuid, body)
    req.store.put_allocations(consumer_uuid, write["allocations"], write["project_id"],
                              write["user_id"], write["consumer_generation"],
                              write["consumer_type"])
    return Response(status_code=204)


async def post_allocations(req: PlacementRequest,
                           body: dict[str, AllocationsReplace]) -> Response:
    if req.version < (1, 13):
        raise StarletteHTTPException(405)
    writes = {}
    for consumer_uuid, entry in body.items():
        if not is_uuid_like(consumer_uuid):
            raise bad_request("JSON does not validate: Additional properties are not allowed "
                              f"({consumer_uuid!r} was unexpected)")
        _check_for_version(entry, req.version, empty_ok=True)
        writes[consumer_uuid] = _write(req, consumer_uuid, entry)
    if not writes:
        raise bad_request("JSON does not validate: {} does not have enough properties")
    req.store.post_allocations(writes)
    return Response(status_code=204)


def _write(req: PlacementRequest, consumer_uuid: str,
           body: AllocationsReplace) -> dict[str, Any]:
    """One consumer's write as the store takes it."""
    if req.version >= (1, 28):
        generation = body.consumer_generation
    else:
        # Before 1.28 a write does not check the consumer generation: write over the
        # current one (a racing writer still gets placement's 409 concurrent_update).
        generation = req.store.get_allocations(consumer_uuid)["consumer_generation"]
    return {"allocations": body.allocations,
            "project_id": body.project_id or INCOMPLETE_CONSUMER_ID,
            "user_id": body.user_id or INCOMPLETE_CONSUMER_ID,
            "consumer_generation": generation, "consumer_type": body.consumer_type}


async def delete_allocations(req: PlacementRequest, consumer_uuid: str) -> Response:
    req.store.delete_allocations(consumer_uuid)
    return Response(status_code=204)


def _check_for_version(body: AllocationsReplace, version: Version,
                       empty_ok: bool = False) -> None:
    """A 400 for what placement's schema of this microversion refuses."""
    given = body.model_fields_set
    if "consumer_generation" in given and version < (1, 28):
        raise bad_request("JSON does not validate: Additional properties are not allowed "
                          "('consumer_generation' was unexpected)")
    if "consumer_generation" not in given and version >= (1, 28):
        raise bad_request(
            "JSON does not validate: 'consumer_generation' is a required property")
    if "mappings" in given and version < (1, 34):
        raise bad_request("JSON does not validate: Additional properties are not allowed "
                          "('mappings' was unexpected)")
    if "consumer_type" in given and version < (1, 38):
        raise bad_request("JSON does not validate: Additional properties are not allowed "
                          "('consumer_type' was unexpected)")
    if "consumer_type" not in given and version >= (1, 38):
        raise bad_request("JSON does not validate: 'consumer_type' is a required property")
    if not body.allocations and version < (1, 28) and not empty_ok:
        raise bad_request("JSON does not validate: {} does not have enough properties")
    for label in ("project_id", "user_id"):
        if getattr(body, label) is None and version >= (1, 8):
            raise bad_request(f"JSON does not validate: '{label}' is a required property")
    for rp_uuid in body.allocations:
        if not is_uuid_like(rp_uuid):
            raise bad_request("JSON does not validate: Additional properties are not "
                              f"allowed ({rp_uuid!r} was unexpected)")
