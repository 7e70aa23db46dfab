"""An HTTP front end serving a ``PlacementStore`` as a subset of the OpenStack Placement API.

``ROUTES`` below is the whole API: path -> method -> handler, the handlers being plain
functions in ``placement_sim/handlers/`` (one module per resource) that are handed the store
and the request's microversion with the request (``handlers/request.py``) rather than closing
over them.

Paths, JSON bodies, status codes and error bodies (``{"errors": [{"status", "code",
"detail", "title"}]}``, ``placement_sim/http_errors.py``) follow openstack/placement for
non-nested providers; the OpenAPI document is at ``/openapi.json`` (unauthenticated).

* Microversions 1.0 to 1.39 (``placement_sim/microversion.py``); every response past the
  version check carries the version header. What each version changes is in the docstring
  of the handler module it concerns.
* Unsupported query parameters (traits, aggregates, nested trees, ...) are a 400 rather than
  silently ignored, so a caller never gets an unfiltered answer it believes filtered.
* Auth: unless the app is built without a token, every request except ``GET /`` and
  ``/openapi.json`` needs ``X-Auth-Token`` equal to it (a 401 otherwise), a stand-in for
  keystonemiddleware; the 401 is checked before the microversion, as in placement's pipeline
  (``placement_sim/pipeline.py``, a plain ASGI middleware: Starlette's ran each handler in a
  task and streamed its body through a memory channel).

The handlers are ``async`` and call the store directly: every store operation is a short,
lock-guarded dictionary update, cheaper than a hop to a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from placement_sim.candidates_body import CandidatesBody
from placement_sim.handlers import (
    aggregates,
    allocation_candidates,
    allocations,
    inventories,
    resource_classes,
    resource_providers,
    root,
    traits,
    usages,
)
from placement_sim.handlers.request import PlacementRoute, Service
from placement_sim.http_errors import EXCEPTION_HANDLERS, error_response
from placement_sim.microversion import (
    MAX_VERSION,
    VERSION_HEADER,
    parse_version_header,
    version_header_value,
    version_string,
)
from placement_sim.pipeline import PlacementPipeline
from placement_sim.store import PlacementStore

Handler = Callable[..., Any]

ROUTES: dict[str, dict[str, Handler]] = {
    "/": {"GET": root.root},
    "/resource_providers": {
        "GET": resource_providers.list_resource_providers,
        "POST": resource_providers.create_resource_provider,
    },
    "/resource_providers/{uuid}": {
        "GET": resource_providers.get_resource_provider,
        "PUT": resource_providers.update_resource_provider,
        "DELETE": resource_providers.delete_resource_provider,
    },
    "/resource_providers/{uuid}/inventories": {
        "GET": inventories.get_inventories,
        "PUT": inventories.set_inventories,
    },
    "/resource_providers/{uuid}/inventories/{resource_class}": {
        "GET": inventories.get_inventory,
        "PUT": inventories.put_inventory,
        "DELETE": inventories.delete_inventory,
    },
    "/resource_providers/{uuid}/traits": {
        "GET": traits.get_provider_traits,
        "PUT": traits.put_provider_traits,
        "DELETE": traits.delete_provider_traits,
    },
    "/resource_providers/{uuid}/aggregates": {
        "GET": aggregates.get_aggregates,
        "PUT": aggregates.put_aggregates,
    },
    "/resource_providers/{uuid}/usages": {"GET": usages.get_usages},
    "/usages": {"GET": usages.get_project_usages},
    "/resource_classes": {"GET": resource_classes.list_resource_classes},
    "/resource_classes/{name}": {
        "GET": resource_classes.get_resource_class,
        "PUT": resource_classes.put_resource_class,
    },
    "/traits": {"GET": traits.list_traits},
    "/traits/{name}": {"GET": traits.get_trait, "PUT": traits.put_trait},
    "/allocations": {"POST": allocations.post_allocations},
    "/resource_providers/{uuid}/allocations": {"GET": allocations.get_provider_allocations},
    "/allocation_candidates": {"GET": allocation_candidates.allocation_candidates},
    "/allocations/{consumer_uuid}": {
        "GET": allocations.get_allocations,
        "PUT": allocations.put_allocations,
        "DELETE": allocations.delete_allocations,
    },
}

# Handlers that answer 204 No Content, so the OpenAPI document says so.
NO_CONTENT = frozenset({
    resource_providers.delete_resource_provider,
    allocations.put_allocations,
    allocations.delete_allocations,
    allocations.post_allocations,
    inventories.delete_inventory,
    traits.get_trait,
    traits.delete_provider_traits,
})

UNAUTHENTICATED_PATHS = frozenset({"/", "/openapi.json"})
# PUTs that take no body: creating a custom resource class (1.7) or trait.
_BODILESS_PUT = re.compile(r"^/(resource_classes|traits)/[^/]+$")


def takes_json(method: str, path: str) -> bool:
    """Whether the request's body is JSON, so it needs that Content-Type (else a 415)."""
    return method in ("POST", "PUT") and not (method == "PUT" and _BODILESS_PUT.match(path))


def create_app(store: PlacementStore, auth_token: str | None) -> FastAPI:
    """The placement API over ``store``; ``auth_token`` None means no authentication."""
    app = FastAPI(title="altsim placement", version=version_string(MAX_VERSION),
                  docs_url=None, redoc_url=None, exception_handlers=EXCEPTION_HANDLERS)
    app.state.placement = Service(store, CandidatesBody())
    app.add_middleware(
        PlacementPipeline,
        expected_token=auth_token.encode() if auth_token is not None else None,
        unauthenticated=UNAUTHENTICATED_PATHS, check_version=parse_version_header,
        version_header=version_header_value, header_name=VERSION_HEADER, error=error_response,
        takes_json=takes_json)
    for path, methods in ROUTES.items():
        for method, handler in methods.items():
            app.router.add_api_route(path, handler, methods=[method],
                                     status_code=204 if handler in NO_CONTENT else None,
                                     route_class_override=PlacementRoute)
    return app
