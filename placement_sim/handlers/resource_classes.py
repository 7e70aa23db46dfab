"""``/resource_classes`` (1.2): list them, show one, and create a custom one with ``PUT
/resource_classes/{name}`` (1.7: 201 when created, 204 when it existed). Standard classes are
fixed (``placement_sim/resource_classes.py``)."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.exceptions import DEFAULT, PlacementError
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request
from placement_sim.resource_classes import CUSTOM_NAME_RE, is_custom_name


def _class_body(name: str) -> dict[str, object]:
    return {"name": name, "links": [{"rel": "self", "href": f"/resource_classes/{name}"}]}


async def list_resource_classes(req: PlacementRequest) -> JSONResponse:
    if req.version < (1, 2):
        raise StarletteHTTPException(404)
    return JSONResponse({"resource_classes": [
        _class_body(name) for name in req.store.list_resource_classes()]})


async def get_resource_class(req: PlacementRequest, name: str) -> JSONResponse:
    if req.version < (1, 2):
        raise StarletteHTTPException(404)
    if not req.store.resource_class_exists(name):
        raise PlacementError(404, DEFAULT, f"No such resource class {name}.")
    return JSONResponse(_class_body(name))


async def put_resource_class(req: PlacementRequest, name: str) -> Response:
    if req.version < (1, 7):
        raise StarletteHTTPException(405)
    if not is_custom_name(name):
        raise bad_request(f"JSON does not validate: {name!r} does not match "
                          f"{CUSTOM_NAME_RE.pattern!r}")
    created = req.store.create_resource_class(name)
    return Response(status_code=201 if created else 204,
                    headers={"Location": f"/resource_classes/{name}"})
