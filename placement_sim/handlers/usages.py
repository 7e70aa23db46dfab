"""Usages: a provider's (``GET /resource_providers/{uuid}/usages``) and a project's (``GET
/usages?project_id=&user_id=``, 1.9; grouped per consumer type with a ``consumer_count`` from
1.38)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.handlers.common import check_query
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request


async def get_usages(req: PlacementRequest, uuid: str) -> JSONResponse:
    usages = req.store.get_usages(uuid)
    generation = req.store.get_resource_provider(uuid)["generation"]
    return JSONResponse({"resource_provider_generation": generation, "usages": usages})


async def get_project_usages(req: PlacementRequest) -> JSONResponse:
    if req.version < (1, 9):
        raise StarletteHTTPException(404)
    check_query(req, frozenset({"project_id", "user_id"}))
    project_id = req.query_params.get("project_id")
    if not project_id:
        raise bad_request("Invalid query string parameters: 'project_id' is a required property")
    return JSONResponse({"usages": req.store.get_project_usages(
        project_id, req.query_params.get("user_id"), by_type=req.version >= (1, 38))})
