"""``GET /resource_providers/{uuid}/usages``: what the provider's allocations use, per class."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from placement_sim.handlers.request import PlacementRequest


async def get_usages(req: PlacementRequest, uuid: str) -> JSONResponse:
    usages = req.store.get_usages(uuid)
    generation = req.store.get_resource_provider(uuid)["generation"]
    return JSONResponse({"resource_provider_generation": generation, "usages": usages})
