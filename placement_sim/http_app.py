"""An HTTP front end serving a ``PlacementStore`` as a subset of the OpenStack Placement API.

Paths, JSON bodies, status codes and error bodies (``{"errors": [{"status", "code",
"detail", "title"}]}``) follow openstack/placement for non-nested providers:

* ``GET /`` (version document, unauthenticated), ``GET/POST /resource_providers``,
  ``GET/DELETE /resource_providers/{uuid}``, ``GET/PUT /resource_providers/{uuid}/inventories``,
  ``GET /resource_providers/{uuid}/usages``, ``GET /resource_providers/{uuid}/allocations``,
  ``GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:512&limit=N`` and
  ``GET/PUT/DELETE /allocations/{consumer_uuid}``; the OpenAPI document is at
  ``/openapi.json`` (unauthenticated).
* Microversions 1.0 to 1.36 through ``OpenStack-API-Version: placement 1.N`` (or ``latest``);
  no header means 1.0, as in placement. Every response past the version check carries the
  version header. Like placement's microversion middleware, a malformed version is a 400 and
  a well-formed but unsupported one a 406. Version-dependent behaviour implemented: POST
  /resource_providers answers 201 without a body before 1.20 and 200 with it since; provider
  representations gain parent/root uuids at 1.14; GET /allocation_candidates exists from
  1.10, uses the list form of allocation requests before 1.12, adds ``traits`` to summaries
  at 1.17, parent/root uuids at 1.29 and ``mappings`` at 1.34; GET /allocations shows
  project/user from 1.12 and ``consumer_generation`` from 1.28; PUT /allocations requires
  ``consumer_generation`` from 1.28 (before, it must be absent and is not checked), accepts
  ``mappings`` from 1.34, and takes the 1.12+ dict form at every version.
* Unsupported query parameters (traits, aggregates, nested trees, ...) are a 400 rather than
  silently ignored, so a caller never gets an unfiltered answer it believes filtered.
* Auth: unless the app is built without a token, every request except ``GET /`` and
  ``/openapi.json`` needs ``X-Auth-Token`` equal to it (a 401 otherwise), a stand-in for
  keystonemiddleware; the 401 is checked before the microversion, as in placement's pipeline.

The handlers are ``async`` and call the store directly: every store operation is a short,
lock-guarded dictionary update, cheaper than a hop to a worker thread.
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.candidates_body import CandidatesBody
from placement_sim.candidates_delta import SINCE_HEADER, SINCE_PARAMETER, TOKEN_HEADER
from placement_sim.exceptions import DEFAULT, PlacementError
from placement_sim.pipeline import PlacementPipeline
from placement_sim.store import MAX_INT, PlacementStore

LOG = logging.getLogger(__name__)

Version = tuple[int, int]
MIN_VERSION: Version = (1, 0)
MAX_VERSION: Version = (1, 36)
VERSION_HEADER = "OpenStack-API-Version"
SERVICE_TYPE = "placement"
UNAUTHENTICATED_PATHS = frozenset({"/", "/openapi.json"})
# placement's [placement] incomplete_consumer_{project,user}_id default, used before 1.8.
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"
_LIMIT_RE = re.compile(r"^[1-9][0-9]*$")


def version_string(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def parse_version_header(header: str | None) -> Version:
    """The requested microversion, as placement's microversion middleware decides it."""
    for item in (header or "").split(","):
        service, _, wanted = item.strip().partition(" ")
        if service.lower() != SERVICE_TYPE:
            continue
        wanted = wanted.strip()
        if wanted == "latest":
            return MAX_VERSION
        try:
            major, minor = (int(part) for part in wanted.split(".", 1))
        except ValueError as exc:
            raise PlacementError(
                400, DEFAULT, f"Invalid microversion: invalid version string: {wanted}; {exc}"
            ) from None
        if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
            raise PlacementError(
                406, DEFAULT, f"Invalid microversion: Unacceptable version header: {wanted}"
            )
        return (major, minor)
    return MIN_VERSION


def is_uuid_like(value: str) -> bool:
    """oslo.utils' is_uuid_like: parses as a UUID (any case, with or without hyphens)."""
    try:
        uuidlib.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _error(exc: PlacementError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.to_body(), status_code=exc.status, headers=dict(headers or {}))


def _bad_request(detail: str) -> PlacementError:
    return PlacementError(400, DEFAULT, detail)


def _check_query(request: Request, allowed: frozenset[str]) -> None:
    unexpected = sorted(set(request.query_params) - allowed)
    if unexpected:
        raise _bad_request(
            "Invalid query string parameters: Additional properties are not allowed "
            f"({', '.join(repr(u) for u in unexpected)} unexpected; altsim supports "
            f"{', '.join(sorted(allowed)) or 'none'})"
        )


def _provider_body(provider: Mapping[str, Any], version: Version) -> dict[str, Any]:
    base = f"/resource_providers/{provider['uuid']}"
    links = [{"rel": "self", "href": base},
             {"rel": "inventories", "href": f"{base}/inventories"},
             {"rel": "usages", "href": f"{base}/usages"}]
    if version >= (1, 11):
        links.append({"rel": "allocations", "href": f"{base}/allocations"})
    body = {**provider, "links": links}
    if version >= (1, 14):
        body["parent_provider_uuid"] = None
        body["root_provider_uuid"] = provider["uuid"]
    return body


def _parse_resources(value: str | None) -> dict[str, int]:
    """placement's normalize_resources_qs_param: ``VCPU:2,MEMORY_MB:1024`` to a dict."""
    resources: dict[str, int] = {}
    for item in (value or "").split(","):
        rc, sep, amount = item.strip().partition(":")
        if not sep or not rc:
            raise _bad_request(
                "Badly formed resources parameter. Expected resources query string "
                f"parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {value}."
            )
        try:
            resources[rc] = int(amount)
        except ValueError:
            raise _bad_request(
                f"Requested resource {rc} expected positive integer amount. Got: {amount}."
            ) from None
    return resources


# -- request bodies (placement's JSON schemas, additionalProperties false) --


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceProviderCreate(_Body):
    name: StrictStr = Field(min_length=1, max_length=200)
    uuid: StrictStr | None = Field(default=None, description="Generated when omitted.")


class InventoriesReplace(_Body):
    resource_provider_generation: StrictInt
    inventories: dict[str, dict[str, Any]] = Field(
        description="Resource class -> total, reserved, min_unit, max_unit, step_size, "
                    "allocation_ratio (total required)."
    )


class AllocationsReplace(_Body):
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


def create_app(store: PlacementStore, auth_token: str | None) -> FastAPI:
    """The placement API over ``store``; ``auth_token`` None means no authentication."""
    app = FastAPI(title="altsim placement", version=version_string(MAX_VERSION),
                  docs_url=None, redoc_url=None)
    expected_token = auth_token.encode() if auth_token is not None else None
    candidates_body = CandidatesBody()

    app.add_middleware(
        PlacementPipeline, expected_token=expected_token, unauthenticated=UNAUTHENTICATED_PATHS,
        check_version=parse_version_header,
        version_header=lambda version: f"{SERVICE_TYPE} {version_string(version)}",
        header_name=VERSION_HEADER, error=_error)

    @app.exception_handler(PlacementError)
    async def placement_error(request: Request, exc: PlacementError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return _error(_bad_request(f"Malformed JSON: {err.get('msg')}"))
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return _error(_bad_request(f"JSON does not validate: {'; '.join(problems)}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        details = {404: "The resource could not be found.",
                   405: "The method specified is not allowed for this resource."}
        detail = details.get(exc.status_code, str(exc.detail))
        return _error(PlacementError(exc.status_code, DEFAULT, detail), exc.headers)

    def version_of(request: Request) -> Version:
        return request.state.version

    # -- root --

    @app.get("/")
    async def root() -> JSONResponse:
        return JSONResponse({"versions": [{
            "id": "v1.0",
            "max_version": version_string(MAX_VERSION),
            "min_version": version_string(MIN_VERSION),
            "status": "CURRENT",
            "links": [{"rel": "self", "href": ""}],
        }]})

    # -- resource providers --

    @app.get("/resource_providers")
    async def list_resource_providers(request: Request) -> JSONResponse:
        _check_query(request, frozenset({"name", "uuid"}))
        query = request.query_params
        version = version_of(request)
        providers = [
            _provider_body(p, version) for p in store.list_resource_providers()
            if query.get("name", p["name"]) == p["name"]
            and query.get("uuid", p["uuid"]) == p["uuid"]
        ]
        return JSONResponse({"resource_providers": providers})

    @app.post("/resource_providers")
    async def create_resource_provider(request: Request,
                                       body: ResourceProviderCreate) -> Response:
        _check_query(request, frozenset())
        rp_uuid = body.uuid if body.uuid is not None else str(uuidlib.uuid4())
        if not is_uuid_like(rp_uuid):
            raise _bad_request(f"JSON does not validate: {rp_uuid!r} is not a 'uuid'")
        provider = store.create_resource_provider(rp_uuid, body.name)
        location = {"Location": f"/resource_providers/{rp_uuid}"}
        version = version_of(request)
        if version < (1, 20):
            return Response(status_code=201, headers=location)
        return JSONResponse(_provider_body(provider, version), headers=location)

    @app.get("/resource_providers/{uuid}")
    async def get_resource_provider(request: Request, uuid: str) -> JSONResponse:
        return JSONResponse(_provider_body(store.get_resource_provider(uuid),
                                           version_of(request)))

    @app.delete("/resource_providers/{uuid}", status_code=204)
    async def delete_resource_provider(uuid: str) -> Response:
        store.delete_resource_provider(uuid)
        return Response(status_code=204)

    # -- inventories, usages, provider allocations --

    @app.get("/resource_providers/{uuid}/inventories")
    async def get_inventories(uuid: str) -> JSONResponse:
        return JSONResponse(store.get_inventories(uuid))

    @app.put("/resource_providers/{uuid}/inventories")
    async def set_inventories(uuid: str, body: InventoriesReplace) -> JSONResponse:
        # The HTTP API's max_unit default is MAX_INT (the store's is total).
        inventories = {rc: {"max_unit": MAX_INT, **record}
                       for rc, record in body.inventories.items()}
        return JSONResponse(
            store.set_inventories(uuid, body.resource_provider_generation, inventories))

    @app.get("/resource_providers/{uuid}/usages")
    async def get_usages(uuid: str) -> JSONResponse:
        usages = store.get_usages(uuid)
        generation = store.get_resource_provider(uuid)["generation"]
        return JSONResponse({"resource_provider_generation": generation, "usages": usages})

    @app.get("/resource_providers/{uuid}/allocations")
    async def get_provider_allocations(uuid: str) -> JSONResponse:
        allocations = store.get_provider_allocations(uuid)
        generation = store.get_resource_provider(uuid)["generation"]
        return JSONResponse({
            "allocations": {c: {"resources": res} for c, res in allocations.items()},
            "resource_provider_generation": generation,
        })

    # -- allocation candidates --

    @app.get("/allocation_candidates")
    async def allocation_candidates(request: Request) -> Response:
        version = version_of(request)
        if version < (1, 10):
            raise StarletteHTTPException(404)
        _check_query(request, frozenset({"resources", "limit", SINCE_PARAMETER}))
        resources = _parse_resources(request.query_params.get("resources"))
        limit_value = request.query_params.get("limit")
        if limit_value is not None and not _LIMIT_RE.match(limit_value):
            raise _bad_request(
                f"Invalid query string parameters: {limit_value!r} does not match "
                "'^[1-9][0-9]*$'")
        answer = store.candidates_since(
            resources, int(limit_value) if limit_value is not None else None,
            request.query_params.get(SINCE_PARAMETER))
        headers = {TOKEN_HEADER: answer.token or ""}
        if answer.delta:
            headers[SINCE_HEADER] = answer.since or ""
        return Response(candidates_body.render(answer, version), headers=headers,
                        media_type="application/json")

    # -- allocations of a consumer --

    @app.get("/allocations/{consumer_uuid}")
    async def get_allocations(request: Request, consumer_uuid: str) -> JSONResponse:
        body = store.get_allocations(consumer_uuid)
        version = version_of(request)
        if version < (1, 12):
            body.pop("project_id", None)
            body.pop("user_id", None)
        if version < (1, 28):
            body.pop("consumer_generation", None)
        return JSONResponse(body)

    @app.put("/allocations/{consumer_uuid}", status_code=204)
    async def put_allocations(request: Request, consumer_uuid: str,
                              body: AllocationsReplace) -> Response:
        if not is_uuid_like(consumer_uuid):
            raise _bad_request(f"Malformed consumer_uuid: {consumer_uuid}")
        version = version_of(request)
        given = body.model_fields_set
        if "consumer_generation" in given and version < (1, 28):
            raise _bad_request("JSON does not validate: Additional properties are not allowed "
                               "('consumer_generation' was unexpected)")
        if "consumer_generation" not in given and version >= (1, 28):
            raise _bad_request(
                "JSON does not validate: 'consumer_generation' is a required property")
        if "mappings" in given and version < (1, 34):
            raise _bad_request("JSON does not validate: Additional properties are not allowed "
                               "('mappings' was unexpected)")
        if not body.allocations and version < (1, 28):
            raise _bad_request("JSON does not validate: {} does not have enough properties")
        for label in ("project_id", "user_id"):
            if getattr(body, label) is None and version >= (1, 8):
                raise _bad_request(f"JSON does not validate: '{label}' is a required property")
        for rp_uuid in body.allocations:
            if not is_uuid_like(rp_uuid):
                raise _bad_request("JSON does not validate: Additional properties are not "
                                   f"allowed ({rp_uuid!r} was unexpected)")
        if version >= (1, 28):
            generation = body.consumer_generation
        else:
            # Before 1.28 a PUT does not check the consumer generation: write over the
            # current one (a racing writer still gets placement's 409 concurrent_update).
            generation = store.get_allocations(consumer_uuid)["consumer_generation"]
        store.put_allocations(
            consumer_uuid, body.allocations,
            body.project_id or INCOMPLETE_CONSUMER_ID, body.user_id or INCOMPLETE_CONSUMER_ID,
            generation,
        )
        return Response(status_code=204)

    @app.delete("/allocations/{consumer_uuid}", status_code=204)
    async def delete_allocations(consumer_uuid: str) -> Response:
        store.delete_allocations(consumer_uuid)
        return Response(status_code=204)

    return app
