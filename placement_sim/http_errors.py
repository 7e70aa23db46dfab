"""Every error of the placement HTTP app as placement's JSON error body.

``{"errors": [{"status", "code", "detail", "title"}]}`` for a ``PlacementError`` from the
store or a handler, for a request body that does not validate (a 400, as placement's JSON
schema checks) and for the router's own 404 and 405, with placement's wording; each error
names the request's id (``request_id``), as placement's do.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.exceptions import DEFAULT, PlacementError

_ROUTER_DETAILS = {404: "The resource could not be found.",
                   405: "The method specified is not allowed for this resource."}


REQUEST_ID_HEADER = "X-OpenStack-Request-Id"


def error_response(exc: PlacementError,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    return JSONResponse(exc.to_body(headers.get(REQUEST_ID_HEADER)), status_code=exc.status,
                        headers=headers)


def _request_id(request: Request) -> dict[str, str]:
    """The request id the pipeline gave the request (the header it adds to every answer)."""
    request_id = request.scope.get("state", {}).get("request_id")
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def _with_id(request: Request, exc: PlacementError,
             headers: Mapping[str, str] | None = None) -> JSONResponse:
    # The pipeline adds the header to the answer itself; the body carries it here.
    response = JSONResponse(exc.to_body(_request_id(request).get(REQUEST_ID_HEADER)),
                            status_code=exc.status, headers=dict(headers or {}))
    return response


def bad_request(detail: str) -> PlacementError:
    return PlacementError(400, DEFAULT, detail)


async def placement_error(request: Request, exc: PlacementError) -> JSONResponse:
    return _with_id(request, exc)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return _with_id(request, bad_request(f"Malformed JSON: {err.get('msg')}"))
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return _with_id(request, bad_request(f"JSON does not validate: {'; '.join(problems)}"))


async def router_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = _ROUTER_DETAILS.get(exc.status_code, str(exc.detail))
    return _with_id(request, PlacementError(exc.status_code, DEFAULT, detail), exc.headers)


EXCEPTION_HANDLERS = {
    PlacementError: placement_error,
    RequestValidationError: validation_error,
    StarletteHTTPException: router_error,
}
