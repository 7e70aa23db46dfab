"""``GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:512&limit=N``, from 1.10.

``limit`` exists from 1.16: below it placement's query schema refuses it as an unexpected
parameter (a 400), and so does this handler.

Allocation requests take the list form before 1.12; summaries gain ``traits`` at 1.17 and
parent/root uuids at 1.29, and requests their ``mappings`` at 1.34 (``candidates_body.py``).
``required=`` (1.17; ``!TRAIT`` from 1.22, ``in:A,B`` and repeating it from 1.39) and
``member_of=`` (1.21; ``in:`` lists, repeating it from 1.24; ``!`` and ``!in:`` forbidding
aggregates from 1.32) narrow the candidates
(``placement_sim/candidate_filters.py``); a trait that does not exist is a 400.
The body is joined from per-provider fragments the app's ``CandidatesBody`` keeps (encoding
it afresh was most of placement's work per request). ``altsim_since=<token>`` asks for only
the providers changed since an earlier answer (``placement_sim/candidates_delta.py``).
"""

from __future__ import annotations

import re

from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates_delta import SINCE_HEADER, SINCE_PARAMETER, TOKEN_HEADER
from placement_sim.handlers.common import check_query, is_uuid_like
from placement_sim.handlers.request import PlacementRequest
from placement_sim.http_errors import bad_request

_LIMIT_RE = re.compile(r"^[1-9][0-9]*$")
_PARAMETERS = frozenset({"resources", SINCE_PARAMETER})
_PARAMETERS_1_16 = _PARAMETERS | {"limit"}
_PARAMETERS_1_17 = _PARAMETERS_1_16 | {"required"}
_PARAMETERS_1_21 = _PARAMETERS_1_17 | {"member_of"}


def _allowed(version: tuple[int, int]) -> frozenset[str]:
    if version >= (1, 21):
        return _PARAMETERS_1_21
    if version >= (1, 17):
        return _PARAMETERS_1_17
    return _PARAMETERS_1_16 if version >= (1, 16) else _PARAMETERS


async def allocation_candidates(req: PlacementRequest) -> Response:
    if req.version < (1, 10):
        raise StarletteHTTPException(404)
    check_query(req, _allowed(req.version))
    resources = parse_resources(req.query_params.get("resources"))
    limit_value = req.query_params.get("limit")
    if limit_value is not None and not _LIMIT_RE.match(limit_value):
        raise bad_request(
            f"Invalid query string parameters: {limit_value!r} does not match "
            "'^[1-9][0-9]*$'")
    answer = req.store.candidates_since(
        resources, int(limit_value) if limit_value is not None else None,
        req.query_params.get(SINCE_PARAMETER), parse_filters(req))
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


def parse_filters(req: PlacementRequest) -> CandidateFilters:
    """The traits and aggregates filters of the query, as placement reads them at this
    microversion."""
    required: set[str] = set()
    forbidden: set[str] = set()
    any_traits: list[frozenset[str]] = []
    values = req.query_params.getlist("required")
    if len(values) > 1 and req.version < (1, 39):
        values = values[-1:]  # before 1.39 the last one counts, as placement's parser
    for value in values:
        if value.startswith("in:") and req.version >= (1, 39):
            group = frozenset(t.strip() for t in value[3:].split(","))
            if not all(group):
                raise bad_request(f"Invalid query string parameters: Expected 'required' "
                                  f"parameter value of the form: in:HW_CPU_X86_VMX,"
                                  f"CUSTOM_MAGIC. Got: {value}")
            any_traits.append(group)
            continue
        for trait in (t.strip() for t in value.split(",")):
            if trait.startswith("!") and req.version >= (1, 22):
                forbidden.add(trait[1:])
            elif trait:
                required.add(trait)
            else:
                raise bad_request("Invalid query string parameters: Expected 'required' "
                                  f"parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. "
                                  f"Got: {value}")
    member_of, forbidden_aggregates = _parse_member_of(req)
    filters = CandidateFilters(frozenset(required), frozenset(forbidden), tuple(any_traits),
                               tuple(member_of), forbidden_aggregates)
    return NO_FILTERS if filters.empty else filters


def _parse_member_of(req: PlacementRequest) -> tuple[list[frozenset[str]], frozenset[str]]:
    """placement's normalize_member_of_qs_params: the aggregates groups the provider must be
    in one of each, and the aggregates it must be in none of (``!``, from 1.32)."""
    member_of: list[frozenset[str]] = []
    forbidden: set[str] = set()
    members = req.query_params.getlist("member_of")
    if len(members) > 1 and req.version < (1, 24):
        raise bad_request("Multiple member_of parameters are not supported")
    for value in members:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise bad_request("Multiple values for 'member_of' must be prefixed with the "
                              "'in:' or '!in:' keyword using the valid microversion. "
                              f"Got: {value}")
        negated = value.startswith("!")
        listed = value[1:] if negated else value
        listed = listed[3:] if listed.startswith("in:") else listed
        group = frozenset(listed.split(","))
        for aggregate in sorted(group):
            if not is_uuid_like(aggregate):
                raise bad_request("Invalid query string parameters: Expected 'member_of' "
                                  f"parameter to contain valid UUID(s). Got: {aggregate}")
        if not negated:
            member_of.append(group)
        elif req.version < (1, 32):
            raise bad_request("Forbidden member_of parameters are not supported in the "
                              "specified microversion")
        else:
            forbidden |= group
    return member_of, frozenset(forbidden)
