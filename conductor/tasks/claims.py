"""Claiming down a host list: what both conductors do with hosts the scheduler did not claim.

The super conductor (with `[scheduler] claim_in = conductor`) claims the chosen host and falls
to the alternates; the cell conductor claims the alternates of a reschedule. Either way a
lost claim consumes that host (it is not handed on as an alternate) and is recorded by the
caller as a CLAIM_EVENT (altsim.events), which the report counts in claim_failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from altsim.objects import Selection
from placement_sim.client import PlacementClient

LOG = logging.getLogger(__name__)


def claim_first(placement: PlacementClient, consumer_uuid: str, project_id: str,
                user_id: str, host_list: list[Selection], on_lost: Callable[[str], None],
                ) -> tuple[Selection | None, list[Selection]]:
    """Pop hosts in order until one is claimed; returns it (None if none could be) and the
    hosts after it. A host without an allocation request (no placement, or claimed already)
    is taken as is. `on_lost` hears each host whose claim failed, as it fails, so they are
    known even when a later claim raises: an exception (e.g. AllocationUpdateFailed)
    propagates, since Nova stops there instead of trying further hosts (rule 21)."""
    remaining = list(host_list)
    while remaining:
        host = remaining.pop(0)
        if host.allocation_request is None or placement.claim_resources(
                consumer_uuid, host.allocation_request, project_id, user_id):
            return host, remaining
        LOG.info("Claim for instance %s on %s failed", consumer_uuid, host.service_host)
        on_lost(host.service_host)
    return None, []
