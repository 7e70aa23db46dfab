"""``GET /``: the version document (unauthenticated), as placement's ``handlers/root.py``."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from placement_sim.microversion import MAX_VERSION, MIN_VERSION, version_string


async def root() -> JSONResponse:
    return JSONResponse({"versions": [{
        "id": "v1.0",
        "max_version": version_string(MAX_VERSION),
        "min_version": version_string(MIN_VERSION),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]})
