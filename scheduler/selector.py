"""The placement decision of one select_destinations request.

For each instance in turn: filter and weigh the hosts, pick the chosen one (at random among the top
`host_subset_size`, seeded), claim it in placement and fall down the weighed list until a claim
succeeds. Then give each chosen host alternates: the next best hosts of the same cell that placement
offered and that no instance of this request was given as its chosen host. If any instance cannot be
claimed, every claim made for the request is removed and the request fails with NoValidHost.

Two switches change that. `claims=False` (`[scheduler] claim_in = conductor`, or no placement)
returns the pick unclaimed, for the super conductor (or nobody) to claim. A `host_source`
(`[scheduler] use_placement = false`) replaces placement's candidates with the hosts the cells'
compute nodes report: their selections carry no allocation request. Filters, weighers and the
consumption on the request's own copies (so a multi-create spreads) are the same either way.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from altsim.exceptions import NoValidHost
from altsim.objects import RequestSpec, Selection
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementUnavailable
from scheduler.filters.base import HostFilter
from scheduler.host_manager import HostManager
from scheduler.host_state import HostState
from scheduler.weights import weigh_hosts
from scheduler.weights.base import HostWeigher


@dataclass
class Placement:
    """The outcome for one instance: its list (chosen first) and the hosts that lost a claim."""

    selections: list[Selection]
    claim_failures: list[str] = field(default_factory=list)


class Selector:
    def __init__(self, placement: PlacementClient, host_manager: HostManager,
                 filters: list[HostFilter], weighers: list[HostWeigher], subset_size: int,
                 seed: int, max_placement_results: int,
                 clock: Callable[[], float] = time.time, claims: bool = True,
                 host_source: Callable[[], list[HostState]] | None = None) -> None:
        self._placement = placement
        self._host_manager = host_manager
        self._filters = filters
        self._weighers = weighers
        self._subset_size = subset_size
        self._seed = seed
        self._limit = max_placement_results
        self._clock = clock
        self._claims = claims and host_source is None  # nothing to claim without placement
        self._host_source = host_source

    def select(self, spec: RequestSpec, instance_uuids: list[str],
               num_alternates: int) -> list[Placement]:
        states, requests_by_rp = self._candidates(spec)
        states = [s for s in states if s.host not in spec.ignore_hosts]
        chosen: list[tuple[HostState, list[HostState], list[str]]] = []
        try:
            for instance_uuid in instance_uuids:
                weighed = self._filter_and_weigh(states, spec)
                host, failures = self._pick(weighed, spec, instance_uuid, requests_by_rp)
                if len(instance_uuids) > 1:
                    # The states are shared with the host manager's cache: consume on a copy
                    # of this request's own, which the next instance then sees.
                    owned = host.copy()
                    states[states.index(host)] = owned
                    owned.consume(spec.flavor.resources)
                chosen.append((host, weighed, failures))
        except NoValidHost:
            if self._claims:
                self._rollback(instance_uuids[:len(chosen)])
            raise
        chosen_names = {host.host for host, _, _ in chosen}
        return [Placement([_selection(host, requests_by_rp)]
                          + [_selection(alt, requests_by_rp) for alt in
                             _alternates(host, weighed, chosen_names, num_alternates)],
                          failures)
                for host, weighed, failures in chosen]

    def _candidates(self, spec: RequestSpec) -> tuple[list[HostState], dict[str, dict]]:
        """The hosts that may take the flavor, and each one's allocation request (none
        without placement)."""
        if self._host_source is not None:
            states = self._host_source()
            if not states:
                raise NoValidHost()
            return states, {}
        try:
            candidates = self._placement.get_allocation_candidates(spec.flavor.resources,
                                                                   limit=self._limit)
        except PlacementUnavailable:
            # As Nova: an unreachable placement offers no candidates, hence no valid host.
            raise NoValidHost() from None
        requests_by_rp = _allocation_requests_by_provider(candidates["allocation_requests"])
        if not requests_by_rp:
            raise NoValidHost()
        states = self._host_manager.get_host_states(candidates["provider_summaries"])
        return [s for s in states if s.uuid in requests_by_rp], requests_by_rp

    def _pick(self, weighed: list[HostState], spec: RequestSpec, instance_uuid: str,
              requests_by_rp: dict[str, dict]) -> tuple[HostState, list[str]]:
        if self._claims:
            return self._claim_first(weighed, spec, instance_uuid, requests_by_rp)
        order = self._claim_order(weighed, instance_uuid)
        if not order:
            raise NoValidHost()
        return order[0], []

    def _filter_and_weigh(self, states: list[HostState], spec: RequestSpec) -> list[HostState]:
        now = self._clock()
        passing = states
        for host_filter in self._filters:  # filter by filter, as Nova's filter handler does
            passing = [s for s in passing if host_filter.host_passes(s, spec, now)]
        return weigh_hosts(self._weighers, passing, spec)

    def _claim_first(self, weighed: list[HostState], spec: RequestSpec, instance_uuid: str,
                     requests_by_rp: dict[str, dict]) -> tuple[HostState, list[str]]:
        failures = []
        for host in self._claim_order(weighed, instance_uuid):
            if self._placement.claim_resources(instance_uuid, requests_by_rp[host.uuid],
                                               spec.project_id, spec.user_id):
                return host, failures
            failures.append(host.host)
        raise NoValidHost()

    def _claim_order(self, weighed: list[HostState], instance_uuid: str) -> list[HostState]:
        """The pick first, then the rest in weighed order (Nova's host_subset_size)."""
        top = weighed[:self._subset_size]
        if len(top) <= 1:
            return weighed
        digest = hashlib.blake2b(f"{self._seed}:{instance_uuid}".encode(), digest_size=8)
        pick = random.Random(digest.digest()).randrange(len(top))
        return [weighed[pick]] + weighed[:pick] + weighed[pick + 1:]

    def _rollback(self, instance_uuids: list[str]) -> None:
        for instance_uuid in instance_uuids:
            self._placement.delete_allocation_for_instance(instance_uuid)


def _allocation_requests_by_provider(allocation_requests: list[dict]) -> dict[str, dict]:
    """Provider uuid -> its first allocation request (single-provider trees only)."""
    by_rp: dict[str, dict] = {}
    for request in allocation_requests:
        providers = list(request["allocations"])
        if len(providers) == 1:
            by_rp.setdefault(providers[0], request)
    return by_rp


def _alternates(chosen: HostState, weighed: list[HostState], chosen_names: set[str],
                count: int) -> list[HostState]:
    if count <= 0:
        return []
    alternates = [h for h in weighed
                  if h.cell_uuid == chosen.cell_uuid and h.host not in chosen_names]
    return alternates[:count]


def _selection(host: HostState, requests_by_rp: dict[str, dict]) -> Selection:
    return Selection(service_host=host.host, nodename=host.nodename, compute_node_uuid=host.uuid,
                     cell_uuid=host.cell_uuid, allocation_request=requests_by_rp.get(host.uuid))
