"""A provider's aggregates, ``/resource_providers/{uuid}/aggregates`` (1.1): before 1.19 the
body is a bare list of aggregate uuids and a PUT leaves the generation alone; from 1.19 it is
``{"aggregates": [...], "resource_provider_generation": N}`` and a PUT must name the current
generation, which it moves."""

from __future__ import annotations

from typing import Any

from fastapi import Body as BodyParam
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.handlers.common import is_uuid_like
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request


def _shown(answer: dict[str, Any], req: PlacementRequest) -> JSONResponse:
    if req.version < (1, 19):
        return JSONResponse({"aggregates": answer["aggregates"]})
    return JSONResponse(answer)


async def get_aggregates(req: PlacementRequest, uuid: str) -> JSONResponse:
    return _shown(req.store.get_aggregates(uuid), req)


async def put_aggregates(req: PlacementRequest, uuid: str,
                         body: Any = BodyParam()) -> JSONResponse:  # noqa: B008
    if req.version < (1, 1):
        raise StarletteHTTPException(404)
    generation = None
    if req.version >= (1, 19):
        if not isinstance(body, dict) or set(body) != {"aggregates",
                                                       "resource_provider_generation"}:
            raise bad_request("JSON does not validate: 'aggregates' and "
                              "'resource_provider_generation' are required properties")
        aggregates, generation = body["aggregates"], body["resource_provider_generation"]
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise bad_request("JSON does not validate: resource_provider_generation is not "
                              "of type 'integer'")
    else:
        aggregates = body
    if not isinstance(aggregates, list) or not all(
            isinstance(a, str) and is_uuid_like(a) for a in aggregates):
        raise bad_request("JSON does not validate: aggregates must be a list of uuids")
    if len(set(aggregates)) != len(aggregates):
        raise bad_request("JSON does not validate: aggregates has non-unique elements")
    return _shown(req.store.set_aggregates(uuid, aggregates, generation), req)
