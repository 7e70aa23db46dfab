"""What a request asks placement for besides resources: Nova's prefilters that narrow the
allocation candidates before any host filter runs.

* The flavor's `trait:<NAME>` extra specs, `required` or `forbidden`, become `required=NAME`
  and `required=!NAME` of the candidates request, as Nova's
  `ResourceRequest.from_request_spec` reads them (`_process_extra_specs`, `_add_trait`); any
  other value is ignored, as Nova ignores it (with a warning).
* `isolate_aggregates` (`[scheduler] enable_isolated_aggregate_filtering`): every host
  aggregate with a `trait:<NAME>=required` metadata key whose trait the flavor does not
  require is forbidden, `member_of=!in:<uuids>`, as Nova's request filter of that name does
  with `AggregateList.get_non_matching_by_metadata_keys`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from altsim.db.api import Aggregate
from altsim.objects import TRAIT_SPEC_PREFIX, RequestSpec
from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters

LOG = logging.getLogger(__name__)

# Nova's XS_KEYPAT for traits: `trait` then an optional group suffix; a suffixed key belongs to
# a granular request group, which altsim's single-provider hosts do not have.
_TRAIT_KEY = re.compile(r"^trait([a-zA-Z0-9_-]{1,64})?:(.*)$")


def flavor_traits(spec: RequestSpec) -> tuple[frozenset[str], frozenset[str]]:
    """(required, forbidden) traits of the request's flavor extra specs."""
    required: set[str] = set()
    forbidden: set[str] = set()
    for key, value in spec.flavor.extra_specs.items():
        found = _TRAIT_KEY.match(key)
        if found is None:
            continue
        if found.group(1):
            LOG.warning("Ignoring %s=%s: granular request groups are not simulated", key, value)
        elif value == "required":
            required.add(found.group(2))
        elif value == "forbidden":
            forbidden.add(found.group(2))
        else:
            LOG.warning("Only (required, forbidden) traits are supported. Received %r.", value)
    return frozenset(required), frozenset(forbidden)


def isolated_aggregates(required: frozenset[str], aggregates: list[Aggregate]) -> frozenset[str]:
    """The uuids of the aggregates with a `trait:` key valued `required` that is not one of
    `required` (Nova's get_non_matching_by_metadata_keys(keys, 'trait:', 'required'))."""
    keys = {TRAIT_SPEC_PREFIX + trait for trait in required}
    return frozenset(aggregate.uuid for aggregate in aggregates
                     if any(key.startswith(TRAIT_SPEC_PREFIX) and value == "required"
                            and key not in keys
                            for key, value in aggregate.metadata.items()))


class RequestFilters:
    """The placement filters of one request: its flavor's traits and, given the aggregates
    (read afresh for each request, as Nova's request filter queries the API database each
    time), the aggregates isolated from it."""

    def __init__(self, aggregates: Callable[[], list[Aggregate]] | None = None) -> None:
        self._aggregates = aggregates

    def __call__(self, spec: RequestSpec) -> CandidateFilters:
        required, forbidden = flavor_traits(spec)
        isolated = (isolated_aggregates(required, self._aggregates())
                    if self._aggregates is not None else frozenset())
        filters = CandidateFilters(required=required, forbidden=forbidden,
                                   forbidden_aggregates=isolated)
        return NO_FILTERS if filters.empty else filters
