"""Traits (1.6): ``/traits`` (list, with ``name=in:A,B`` or ``name=startswith:P`` and
``associated=``), ``/traits/{name}`` (show; PUT creates a custom one: 201, or 204 when it
existed) and a provider's, ``/resource_providers/{uuid}/traits`` (show, replace at the
provider's generation, delete; each change moves the generation)."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response
from pydantic import StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.exceptions import DEFAULT, PlacementError
from placement_sim.handlers.common import Body, check_query
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request
from placement_sim.resource_classes import is_custom_name

INVALID_TRAIT = ('The trait is invalid. A valid trait must be no longer than 255 characters, '
                 'start with the prefix "CUSTOM_" and use following characters: "A"-"Z", '
                 '"0"-"9" and "_"')


class ProviderTraits(Body):
    resource_provider_generation: StrictInt
    traits: list[StrictStr]


def _since_1_6(req: PlacementRequest) -> None:
    if req.version < (1, 6):
        raise StarletteHTTPException(404)


async def list_traits(req: PlacementRequest) -> JSONResponse:
    _since_1_6(req)
    check_query(req, frozenset({"name", "associated"}))
    names = req.store.list_traits()
    wanted = req.query_params.get("name")
    if wanted is not None:
        kind, _, value = wanted.partition(":")
        if kind == "in":
            chosen = set(value.split(","))
            names = [n for n in names if n in chosen]
        elif kind == "startswith":
            names = [n for n in names if n.startswith(value)]
        else:
            raise bad_request(f"Badly formatted name parameter. Expected name query string "
                              f"parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. "
                              f"Got: \"{wanted}\"")
    associated = req.query_params.get("associated")
    if associated is not None:
        if associated.lower() not in ("true", "false"):
            raise bad_request(f"Invalid query string parameters: {associated!r} is not one of "
                              "['true', 'false']")
        having = req.store.associated_traits()
        names = [n for n in names if (n in having) == (associated.lower() == "true")]
    return JSONResponse({"traits": names})


async def get_trait(req: PlacementRequest, name: str) -> Response:
    _since_1_6(req)
    if not req.store.trait_exists(name):
        raise PlacementError(404, DEFAULT, f"No such trait(s): {name}.")
    return Response(status_code=204)


async def put_trait(req: PlacementRequest, name: str) -> Response:
    _since_1_6(req)
    if not is_custom_name(name):
        raise bad_request(INVALID_TRAIT)
    created = req.store.create_trait(name)
    return Response(status_code=201 if created else 204,
                    headers={"Location": f"/traits/{name}"})


async def get_provider_traits(req: PlacementRequest, uuid: str) -> JSONResponse:
    _since_1_6(req)
    return JSONResponse(req.store.get_provider_traits(uuid))


async def put_provider_traits(req: PlacementRequest, uuid: str,
                              body: ProviderTraits) -> JSONResponse:
    _since_1_6(req)
    return JSONResponse(req.store.set_provider_traits(
        uuid, body.resource_provider_generation, body.traits))


async def delete_provider_traits(req: PlacementRequest, uuid: str) -> Response:
    _since_1_6(req)
    req.store.delete_provider_traits(uuid)
    return Response(status_code=204)
