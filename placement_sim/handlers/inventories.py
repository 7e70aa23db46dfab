"""``/resource_providers/{uuid}/inventories``: show, and replace all of them at once."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import Field, StrictInt

from placement_sim.handlers.common import Body
from placement_sim.handlers.request import PlacementRequest
from placement_sim.store import MAX_INT


class InventoriesReplace(Body):
    resource_provider_generation: StrictInt
    inventories: dict[str, dict[str, Any]] = Field(
        description="Resource class -> total, reserved, min_unit, max_unit, step_size, "
                    "allocation_ratio (total required)."
    )


async def get_inventories(req: PlacementRequest, uuid: str) -> JSONResponse:
    return JSONResponse(req.store.get_inventories(uuid))


async def set_inventories(req: PlacementRequest, uuid: str,
                          body: InventoriesReplace) -> JSONResponse:
    # The HTTP API's max_unit default is MAX_INT (the store's is total).
    inventories = {rc: {"max_unit": MAX_INT, **record}
                   for rc, record in body.inventories.items()}
    return JSONResponse(
        req.store.set_inventories(uuid, body.resource_provider_generation, inventories))
