"""The JSON body of GET /allocation_candidates, assembled from per-provider fragments.

Every scheduling request asks for the candidates of every provider (up to 1,000 in Nova), and
encoding that body afresh is most of placement's work per request. Between two requests only
the providers that were claimed on changed, and the store hands out the very same request and
summary objects for the others, so each provider's two fragments (its allocation request and
its summary, as the microversion shows them) are encoded once and kept until the store's
objects for it change; a body is then a join of bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from placement_sim.candidates_delta import REMOVED_KEY
from placement_sim.store import CandidatesAnswer

Version = tuple[int, int]


def _request(allocations: Mapping[str, Any], version: Version) -> dict[str, Any]:
    if version < (1, 12):
        return {"allocations": [{"resource_provider": {"uuid": p}, "resources": e["resources"]}
                                for p, e in allocations.items()]}
    if version >= (1, 34):
        return {"allocations": allocations, "mappings": {"": list(allocations)}}
    return {"allocations": allocations}


def _summary(rp: str, summary: Mapping[str, Any], version: Version) -> dict[str, Any]:
    shown = dict(summary)
    if version >= (1, 17):
        shown["traits"] = summary.get("traits", [])
    else:
        shown.pop("traits", None)
    if version >= (1, 29):
        shown["parent_provider_uuid"] = None
        shown["root_provider_uuid"] = rp
    return shown


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer past 64 bits (a capacity with a huge allocation ratio)
        return json.dumps(value, separators=(",", ":")).encode()


class CandidatesBody:
    """Renders the store's allocation candidates for a microversion, caching fragments."""

    def __init__(self) -> None:
        # version -> provider uuid -> (request, summary, their encoded fragments); the store's
        # objects are kept (not their ids) so an identity check can never be fooled by reuse.
        self._fragments: dict[Version, dict[str, tuple[Any, Any, bytes, bytes]]] = {}

    def render(self, candidates: CandidatesAnswer, version: Version) -> bytes:
        """The body of an answer, in full or a delta (with its `altsim_removed`)."""
        cache = self._fragments.setdefault(version, {})
        summaries = candidates.provider_summaries
        requests, shown = [], []
        for request in candidates.allocation_requests:
            (rp,) = request["allocations"]  # single-provider trees only, as the store
            summary = summaries[rp]
            cached = cache.get(rp)
            if cached is None or cached[0] is not request or cached[1] is not summary:
                cached = cache[rp] = (
                    request, summary,
                    _dumps(_request(request["allocations"], version)),
                    _dumps(rp) + b":" + _dumps(_summary(rp, summary, version)))
            requests.append(cached[2])
            shown.append(cached[3])
        body = (b'{"allocation_requests":[' + b",".join(requests)
                + b'],"provider_summaries":{' + b",".join(shown) + b"}")
        if candidates.delta:
            body += b',"' + REMOVED_KEY.encode() + b'":' + _dumps(candidates.removed)
        return body + b"}"
