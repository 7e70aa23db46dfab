"""``/resource_providers/{uuid}/inventories``: show, and replace all of them at once; and one
class's, ``.../inventories/{resource_class}``: show, replace (at the provider's generation)
and delete. The single-class writes are whole-set replacements at the generation they name
(DELETE: the current one), so a racing writer gets placement's 409 concurrent_update."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictInt

from placement_sim.exceptions import DEFAULT, PlacementError
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


class InventoryReplace(Body):
    resource_provider_generation: StrictInt
    total: StrictInt
    reserved: StrictInt = 0
    min_unit: StrictInt = 1
    max_unit: StrictInt = MAX_INT
    step_size: StrictInt = 1
    allocation_ratio: float = 1.0


def _one(body: dict[str, Any], uuid: str, resource_class: str) -> dict[str, Any]:
    record = body["inventories"].get(resource_class)
    if record is None:
        raise PlacementError(404, DEFAULT, f"No inventory of class {resource_class} found "
                                           f"for resource provider {uuid}")
    return {**record, "resource_provider_generation": body["resource_provider_generation"]}


async def get_inventory(req: PlacementRequest, uuid: str, resource_class: str) -> JSONResponse:
    return JSONResponse(_one(req.store.get_inventories(uuid), uuid, resource_class))


async def put_inventory(req: PlacementRequest, uuid: str, resource_class: str,
                        body: InventoryReplace) -> JSONResponse:
    current = req.store.get_inventories(uuid)["inventories"]
    if resource_class not in current:  # PUT changes one; placement's POST would add it
        raise PlacementError(400, DEFAULT, "No inventory record with resource class for "
                                           f"resource provider {uuid}: No inventory of "
                                           f"class {resource_class} found.")
    record = body.model_dump(exclude={"resource_provider_generation"})
    answer = req.store.set_inventories(uuid, body.resource_provider_generation,
                                       {**current, resource_class: record})
    return JSONResponse(_one(answer, uuid, resource_class))


async def delete_inventory(req: PlacementRequest, uuid: str, resource_class: str) -> Response:
    current = req.store.get_inventories(uuid)
    inventories = dict(current["inventories"])
    if inventories.pop(resource_class, None) is None:
        raise PlacementError(404, DEFAULT, f"No inventory of class {resource_class} found "
                                           "for delete")
    req.store.set_inventories(uuid, current["resource_provider_generation"], inventories)
    return Response(status_code=204)
