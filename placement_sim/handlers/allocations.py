"""Allocations: a consumer's (``/allocations/{consumer_uuid}``: show, replace, delete) and a
provider's (``GET /resource_providers/{uuid}/allocations``).

GET shows project and user from 1.12 and ``consumer_generation`` from 1.28. PUT takes the
1.12+ dict form at every version, requires ``project_id``/``user_id`` from 1.8 and
``consumer_generation`` from 1.28 (before, it must be absent and is not checked), accepts
``mappings`` from 1.34 and an empty ``allocations`` (removing them) from 1.28. A class that
is neither standard nor custom is a 400 "No such resource class", as in placement.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictInt, StrictStr

from placement_sim.handlers.common import Body, is_uuid_like
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request
from placement_sim.microversion import Version
from placement_sim.resource_classes import is_known

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
    return JSONResponse(body)


async def put_allocations(req: PlacementRequest, consumer_uuid: str,
                          body: AllocationsReplace) -> Response:
    if not is_uuid_like(consumer_uuid):
        raise bad_request(f"Malformed consumer_uuid: {consumer_uuid}")
    _check_for_version(body, req.version)
    if req.version >= (1, 28):
        generation = body.consumer_generation
    else:
        # Before 1.28 a PUT does not check the consumer generation: write over the
        # current one (a racing writer still gets placement's 409 concurrent_update).
        generation = req.store.get_allocations(consumer_uuid)["consumer_generation"]
    req.store.put_allocations(
        consumer_uuid, body.allocations,
        body.project_id or INCOMPLETE_CONSUMER_ID, body.user_id or INCOMPLETE_CONSUMER_ID,
        generation,
    )
    return Response(status_code=204)


async def delete_allocations(req: PlacementRequest, consumer_uuid: str) -> Response:
    req.store.delete_allocations(consumer_uuid)
    return Response(status_code=204)


def _check_for_version(body: AllocationsReplace, version: Version) -> None:
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
    if not body.allocations and version < (1, 28):
        raise bad_request("JSON does not validate: {} does not have enough properties")
    for label in ("project_id", "user_id"):
        if getattr(body, label) is None and version >= (1, 8):
            raise bad_request(f"JSON does not validate: '{label}' is a required property")
    for rp_uuid, entry in body.allocations.items():
        if not is_uuid_like(rp_uuid):
            raise bad_request("JSON does not validate: Additional properties are not "
                              f"allowed ({rp_uuid!r} was unexpected)")
        resources = entry.get("resources") if isinstance(entry, dict) else None
        for rc in resources if isinstance(resources, dict) else ():
            if isinstance(rc, str) and not is_known(rc):
                raise bad_request(f"Unable to allocate inventory: No such resource class {rc}.")
