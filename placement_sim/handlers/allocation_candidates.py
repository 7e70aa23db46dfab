"""``GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:512&limit=N``, from 1.10.

``limit`` exists from 1.16: below it placement's query schema refuses it as an unexpected
parameter (a 400), and so does this handler.

Allocation requests take the list form before 1.12; summaries gain ``traits`` at 1.17 and
parent/root uuids at 1.29, and requests their ``mappings`` at 1.34 (``candidates_body.py``).
The body is joined from per-provider fragments the app's ``CandidatesBody`` keeps (encoding
it afresh was most of placement's work per request). ``altsim_since=<token>`` asks for only
the providers changed since an earlier answer (``placement_sim/candidates_delta.py``).
"""

from __future__ import annotations

import re

from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.candidates_delta import SINCE_HEADER, SINCE_PARAMETER, TOKEN_HEADER
from placement_sim.handlers.common import check_query
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request

_LIMIT_RE = re.compile(r"^[1-9][0-9]*$")
_PARAMETERS = frozenset({"resources", SINCE_PARAMETER})
_PARAMETERS_1_16 = _PARAMETERS | {"limit"}


async def allocation_candidates(req: PlacementRequest) -> Response:
    if req.version < (1, 10):
        raise StarletteHTTPException(404)
    check_query(req, _PARAMETERS_1_16 if req.version >= (1, 16) else _PARAMETERS)
    resources = parse_resources(req.query_params.get("resources"))
    limit_value = req.query_params.get("limit")
    if limit_value is not None and not _LIMIT_RE.match(limit_value):
        raise bad_request(
            f"Invalid query string parameters: {limit_value!r} does not match "
            "'^[1-9][0-9]*$'")
    answer = req.store.candidates_since(
        resources, int(limit_value) if limit_value is not None else None,
        req.query_params.get(SINCE_PARAMETER))
    headers = {TOKEN_HEADER: answer.token or ""}
    if answer.delta:
        headers[SINCE_HEADER] = answer.since or ""
    return Response(req.candidates_body.render(answer, req.version), headers=headers,
                    media_type="application/json")


def parse_resources(value: str | None) -> dict[str, int]:
    """placement's normalize_resources_qs_param: ``VCPU:2,MEMORY_MB:1024`` to a dict."""
    resources: dict[str, int] = {}
    for item in (value or "").split(","):
        rc, sep, amount = item.strip().partition(":")
        if not sep or not rc:
            raise bad_request(
                "Badly formed resources parameter. Expected resources query string "
                f"parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {value}."
            )
        try:
            resources[rc] = int(amount)
        except ValueError:
            raise bad_request(
                f"Requested resource {rc} expected positive integer amount. Got: {amount}."
            ) from None
    return resources
