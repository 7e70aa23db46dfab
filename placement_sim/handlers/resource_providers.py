"""``/resource_providers`` and ``/resource_providers/{uuid}``: list, create, show, rename
(PUT with a name; a ``parent_provider_uuid`` other than none is refused: no nested trees),
delete.

POST answers 201 without a body before 1.20 and 200 with the provider since; a provider's
representation gains its parent and root uuids at 1.14 (always none and itself: altsim has
no nested trees) and an ``allocations`` link at 1.11.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictStr

from placement_sim.handlers.common import Body, check_query, is_uuid_like
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request
from placement_sim.microversion import Version


class ResourceProviderUpdate(Body):
    name: StrictStr = Field(min_length=1, max_length=200)
    parent_provider_uuid: StrictStr | None = Field(default=None, description="Since 1.14.")


class ResourceProviderCreate(Body):
    name: StrictStr = Field(min_length=1, max_length=200)
    uuid: StrictStr | None = Field(default=None, description="Generated when omitted.")


def provider_body(provider: Mapping[str, Any], version: Version) -> dict[str, Any]:
    base = f"/resource_providers/{provider['uuid']}"
    links = [{"rel": "self", "href": base},
             {"rel": "inventories", "href": f"{base}/inventories"},
             {"rel": "usages", "href": f"{base}/usages"}]
    if version >= (1, 1):
        links.append({"rel": "aggregates", "href": f"{base}/aggregates"})
    if version >= (1, 6):
        links.append({"rel": "traits", "href": f"{base}/traits"})
    if version >= (1, 11):
        links.append({"rel": "allocations", "href": f"{base}/allocations"})
    body = {**provider, "links": links}
    if version >= (1, 14):
        body["parent_provider_uuid"] = None
        body["root_provider_uuid"] = provider["uuid"]
    return body


async def list_resource_providers(req: PlacementRequest) -> JSONResponse:
    check_query(req, frozenset({"name", "uuid"}))
    query = req.query_params
    providers = [
        provider_body(p, req.version) for p in req.store.list_resource_providers()
        if query.get("name", p["name"]) == p["name"]
        and query.get("uuid", p["uuid"]) == p["uuid"]
    ]
    return JSONResponse({"resource_providers": providers})


async def create_resource_provider(req: PlacementRequest,
                                   body: ResourceProviderCreate) -> Response:
    check_query(req, frozenset())
    rp_uuid = body.uuid if body.uuid is not None else str(uuidlib.uuid4())
    if not is_uuid_like(rp_uuid):
        raise bad_request(f"JSON does not validate: {rp_uuid!r} is not a 'uuid'")
    provider = req.store.create_resource_provider(rp_uuid, body.name)
    location = {"Location": f"/resource_providers/{rp_uuid}"}
    if req.version < (1, 20):
        return Response(status_code=201, headers=location)
    return JSONResponse(provider_body(provider, req.version), headers=location)


async def get_resource_provider(req: PlacementRequest, uuid: str) -> JSONResponse:
    return JSONResponse(provider_body(req.store.get_resource_provider(uuid), req.version))


async def update_resource_provider(req: PlacementRequest, uuid: str,
                                   body: ResourceProviderUpdate) -> JSONResponse:
    if "parent_provider_uuid" in body.model_fields_set and (
            req.version < (1, 14) or body.parent_provider_uuid is not None):
        raise bad_request("altsim-placement has no nested providers: parent_provider_uuid "
                          "must be null")
    return JSONResponse(provider_body(req.store.rename_resource_provider(uuid, body.name),
                                      req.version))


async def delete_resource_provider(req: PlacementRequest, uuid: str) -> Response:
    req.store.delete_resource_provider(uuid)
    return Response(status_code=204)
