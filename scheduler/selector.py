"""The placement decision of one select_destinations request.

For each instance in turn: filter and weigh the hosts, pick the chosen one (at random among the top
`host_subset_size`, seeded), claim it in placement and fall down the weighed list until a claim
succeeds. Then give each chosen host alternates: the next best hosts of the same cell that placement
offered and that no instance of this request was given as its chosen host. If any instance cannot be
claimed, every claim made for the request is removed and the request fails with NoValidHost.

Placement's candidates are those of the flavor's resources, narrowed by its required and
forbidden traits and the aggregates isolated from it (scheduler.request_filters, Nova's
prefilters). Two switches change that. `claims=False` (`[scheduler] claim_in = conductor`, or
no placement) returns the pick unclaimed, for the super conductor (or nobody) to claim. A
`host_source` (`[scheduler] use_placement = false`) replaces placement's candidates with the
hosts the cells' compute nodes report: their selections carry no allocation request. Filters,
weighers and the consumption on the request's own copies (so a multi-create spreads) are the
same either way.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import numpy as np

from altsim import runtime
from altsim.exceptions import NoValidHost
from altsim.objects import RequestSpec, Selection
from placement_sim.candidate_filters import CandidateFilters
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementUnavailable
from scheduler.filters.base import HostFilter
from scheduler.host_columns import Columns, HostColumns
from scheduler.host_manager import HostManager
from scheduler.host_state import HostState
from scheduler.request_filters import RequestFilters
from scheduler.weights import weighed_order
from scheduler.weights.base import HostWeigher


class RequestNotPlaced(NoValidHost):
    """NoValidHost after the selection began: with the hosts each instance lost a claim on
    before the request failed, so the endpoint can report them (it answers a plain
    NoValidHost)."""

    def __init__(self, claim_failures: dict[str, list[str]]) -> None:
        super().__init__()
        self.claim_failures = claim_failures


@dataclass
class InstanceDestinations:
    """Where one instance may go: its selections (the chosen host first, then its
    alternates), and the hosts it lost a claim on."""

    selections: list[Selection]
    claim_failures: list[str] = field(default_factory=list)


class Selector:
    def __init__(self, placement: PlacementClient, host_manager: HostManager,
                 filters: list[HostFilter], weighers: list[HostWeigher], subset_size: int,
                 seed: int, max_placement_results: int,
                 clock: Callable[[], float] = runtime.time, claims: bool = True,
                 host_source: Callable[[], list[HostState]] | None = None,
                 request_filters: Callable[[RequestSpec], CandidateFilters] | None = None,
                 ) -> None:
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
        # Without: the flavor's traits only (no aggregate is isolated).
        self._request_filters = request_filters or RequestFilters()

    def select(self, spec: RequestSpec, instance_uuids: list[str],
               num_alternates: int) -> list[InstanceDestinations]:
        hosts, requests_by_rp = self._candidates(spec)
        if spec.ignore_hosts:
            hosts = hosts.subset(np.array([i for i, host in enumerate(hosts.hosts)
                                           if host not in spec.ignore_hosts], dtype=np.intp))
        # Per instance: the position of its host in `hosts`, the weighed positions, the
        # hosts whose claim it lost.
        chosen: list[tuple[int, list[int], list[str]]] = []
        for instance_uuid in instance_uuids:
            weighed = self._filter_and_weigh(hosts, spec)
            position, failures = self._pick(hosts, weighed, spec, instance_uuid,
                                            requests_by_rp)
            if position is None:
                self._fail(instance_uuids, chosen, failures)
            if len(instance_uuids) > 1:
                # The next instance sees what this one took (the request's own copy).
                hosts.consume(position, spec.flavor.resources)
            chosen.append((position, weighed, failures))
        chosen_names = {hosts.hosts[position] for position, _, _ in chosen}
        return [InstanceDestinations([_selection(hosts.state(position), requests_by_rp)]
                                     + [_selection(hosts.state(alt), requests_by_rp) for alt in
                                        _alternates(hosts, position, weighed, chosen_names,
                                                    num_alternates)],
                                     failures)
                for position, weighed, failures in chosen]

    def _candidates(self, spec: RequestSpec) -> tuple[Columns, dict[str, dict]]:
        """The hosts that may take the flavor, and each one's allocation request (none
        without placement)."""
        if self._host_source is not None:
            states = self._host_source()
            if not states:
                raise NoValidHost()
            return HostColumns(states), {}
        try:
            candidates = self._placement.get_allocation_candidates(
                spec.flavor.resources, limit=self._limit, filters=self._request_filters(spec))
        except PlacementUnavailable:
            # As Nova: an unreachable placement offers no candidates, hence no valid host.
            raise NoValidHost() from None
        requests_by_rp = candidates.requests_by_provider
        if not requests_by_rp:
            raise NoValidHost()
        summaries = candidates.provider_summaries
        hosts = self._host_manager.get_host_view(summaries, candidates)
        # Placement summarizes every provider of every request: the same number means the
        # same providers, and no candidate's provider is only part of a tree.
        if len(requests_by_rp) != len(summaries):
            hosts = hosts.subset(np.array([i for i, uuid in enumerate(hosts.uuids)
                                           if uuid in requests_by_rp], dtype=np.intp))
        return hosts, requests_by_rp

    def _fail(self, instance_uuids: list[str], chosen: list[tuple[int, list[int], list[str]]],
              failures: list[str]) -> NoReturn:
        """An instance found no host: the earlier ones' claims go (rule 9), and the request
        fails with every claim it lost (Nova's _ensure_sufficient_hosts)."""
        placed = instance_uuids[:len(chosen)]
        if self._claims:
            self._rollback(placed)
        lost = {uuid: lost for uuid, (_, _, lost) in zip(placed, chosen, strict=True) if lost}
        if failures:
            lost[instance_uuids[len(chosen)]] = failures
        raise RequestNotPlaced(lost)

    def _pick(self, hosts: Columns, weighed: list[int], spec: RequestSpec, instance_uuid: str,
              requests_by_rp: dict[str, dict]) -> tuple[int | None, list[str]]:
        """The instance's host (None: none) and the hosts whose claim it lost first."""
        if self._claims:
            return self._claim_first(hosts, weighed, spec, instance_uuid, requests_by_rp)
        order = self._claim_order(weighed, instance_uuid)
        return (order[0] if order else None), []

    def _filter_and_weigh(self, hosts: Columns, spec: RequestSpec) -> list[int]:
        """The positions of the hosts that pass every filter, best weighed first (equal
        weights: by name). Each filter and weigher looks at all the hosts at once."""
        now = self._clock()
        passes = np.ones(len(hosts), bool)
        for host_filter in self._filters:  # filters are pure, so AND-ing them is filtering
            passes &= host_filter.passing(hosts, spec, now)
        passing = np.flatnonzero(passes)
        return passing[weighed_order(self._weighers, hosts.subset(passing), spec)].tolist()

    def _claim_first(self, hosts: Columns, weighed: list[int], spec: RequestSpec,
                     instance_uuid: str, requests_by_rp: dict[str, dict],
                     ) -> tuple[int | None, list[str]]:
        failures = []
        for position in self._claim_order(weighed, instance_uuid):
            if self._placement.claim_resources(instance_uuid,
                                               requests_by_rp[hosts.uuids[position]],
                                               spec.project_id, spec.user_id):
                return position, failures
            failures.append(hosts.hosts[position])
        return None, failures

    def _claim_order(self, weighed: list[int], instance_uuid: str) -> list[int]:
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


def _alternates(hosts: Columns, chosen: int, weighed: list[int], chosen_names: set[str],
                count: int) -> list[int]:
    if count <= 0:
        return []
    cell, cells, names = hosts.cell_uuids[chosen], hosts.cell_uuids, hosts.hosts
    alternates = [p for p in weighed if cells[p] == cell and names[p] not in chosen_names]
    return alternates[:count]


def _selection(host: HostState, requests_by_rp: dict[str, dict]) -> Selection:
    return Selection(service_host=host.host, nodename=host.nodename, compute_node_uuid=host.uuid,
                     cell_uuid=host.cell_uuid, allocation_request=requests_by_rp.get(host.uuid))
