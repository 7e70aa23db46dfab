"""The placement client interface of altsim, and its in-process implementation.

``PlacementClient`` is everything the scheduler, conductor and compute simulators need from
placement. Each method maps onto one or two real Placement API requests, so the same
interface can be served by ``InProcessPlacementClient`` (direct calls into a
``PlacementStore``), by an HTTP client talking to the simulator's HTTP front end, or by one
talking to a real Placement.

Error handling copies Nova's ``SchedulerReportClient`` where altsim depends on it:
``claim_resources`` returns False when the resources are gone (or placement is unreachable),
retries provider generation conflicts, and raises ``AllocationUpdateFailed`` on a consumer
generation conflict. Other methods let ``PlacementError``/``PlacementUnavailable`` through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Protocol, runtime_checkable

from altsim import runtime
from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates import AllocationCandidates
from placement_sim.candidates_cache import CandidatesCache
from placement_sim.exceptions import (
    CONCURRENT_UPDATE,
    AllocationUpdateFailed,
    PlacementError,
    PlacementUnavailable,
)
from placement_sim.resource_classes import CUSTOM_PREFIX
from placement_sim.store import PlacementStore, build_inventory

LOG = logging.getLogger(__name__)

# Nova's report client @retries decorator: 4 attempts in total.
CLAIM_ATTEMPTS = 4


def nova_backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based), as Nova's @retries does."""
    return runtime.rng().uniform(0, attempt * 2)


@runtime_checkable
class PlacementClient(Protocol):
    """What altsim services may ask of placement."""

    def ensure_resource_provider(
        self, uuid: str, name: str, inventories: dict[str, dict[str, Any]]
    ) -> None:
        """Create the provider if missing and make its inventories equal ``inventories``.

        Idempotent: when nothing differs, nothing is written and the generation is kept.
        Requests: POST provider and PUT inventories for a new one; for one that exists (the
        POST is a 409) GET it, GET inventories and PUT them if they differ.
        """
        ...

    def set_provider_traits(self, uuid: str, traits: Iterable[str]) -> None:
        """Make the provider's traits exactly ``traits``, creating the custom ones first,
        as Nova's report client does (``_ensure_traits``, then ``set_traits_for_provider``).

        Requests: PUT /traits/{name} for each CUSTOM_ one, GET the provider's traits and,
        if they differ, PUT them at its generation (again after a generation conflict).
        """
        ...

    def set_provider_aggregates(self, uuid: str, aggregates: Iterable[str]) -> None:
        """Make the provider's aggregates exactly ``aggregates`` (uuids), as Nova's report
        client's ``set_aggregates_for_provider``: GET them and, if they differ, PUT them at
        the provider's generation (1.19; again after a generation conflict).
        """
        ...

    def get_allocation_candidates(
        self, resources: dict[str, int], limit: int = 1000,
        filters: CandidateFilters = NO_FILTERS,
    ) -> AllocationCandidates:
        """GET /allocation_candidates: each provider's allocation request and summary, as a
        frozen ``AllocationCandidates`` (read as a mapping, the body ``{"allocation_requests":
        [...], "provider_summaries": {...}}``). ``filters``: the required and forbidden
        traits and the aggregates the providers must be in or not (``required=``,
        ``member_of=``).

        From a placement that numbers its changes (altsim's) the answer has a token and a
        journal and is kept current from deltas; a real Placement's has neither (``token``
        None), and each answer is in full.
        """
        ...

    def claim_resources(
        self,
        consumer_uuid: str,
        allocation_request: dict[str, Any],
        project_id: str,
        user_id: str,
        consumer_generation: int | None = None,
    ) -> bool:
        """PUT /allocations/{consumer}: True if claimed, False if it did not fit.

        Raises AllocationUpdateFailed on a consumer generation conflict.
        """
        ...

    def delete_allocation_for_instance(self, consumer_uuid: str) -> bool:
        """DELETE /allocations/{consumer}: True if something was deleted."""
        ...

    def get_allocations_for_consumer(self, consumer_uuid: str) -> dict[str, dict[str, int]]:
        """GET /allocations/{consumer}: rp uuid -> resources ({} if none)."""
        ...

    def get_provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        """GET /resource_providers/{uuid}/allocations: consumer -> resources."""
        ...

    def get_usages(self, rp_uuid: str) -> dict[str, int]:
        """GET /resource_providers/{uuid}/usages: every inventory class, 0 when unused."""
        ...

    def get_inventories(self, rp_uuid: str) -> dict[str, Any]:
        """GET /resource_providers/{uuid}/inventories: {"inventories": {rc: record}, ...}."""
        ...

    def list_resource_providers(self) -> list[dict[str, Any]]:
        """GET /resource_providers: dicts with uuid, name, generation."""
        ...


class InProcessPlacementClient:
    """``PlacementClient`` over a ``PlacementStore`` in the same process.

    Each request is a yield point of a deterministic run (altsim.runtime): another thread may
    run between two requests, as it could between two HTTP round trips, never inside one.
    ``sleep`` and ``backoff`` are injectable so tests of the retry loop run instantly; in
    process, provider generation conflicts cannot happen (the store's lock serialises
    writes) but the loop is kept so behaviour matches the HTTP client exactly.
    """

    def __init__(
        self,
        store: PlacementStore,
        *,
        sleep: Callable[[float], None] = runtime.sleep,
        backoff: Callable[[int], float] = nova_backoff,
        max_attempts: int = CLAIM_ATTEMPTS,
    ) -> None:
        self._store = store
        self._candidates = CandidatesCache()
        self._sleep = sleep
        self._backoff = backoff
        self._max_attempts = max_attempts

    def ensure_resource_provider(
        self, uuid: str, name: str, inventories: dict[str, dict[str, Any]]
    ) -> None:
        # Normalise with the store's own defaults so "unchanged" is decided on the values
        # placement would hold, e.g. a missing reserved equals an explicit 0.
        wanted = {
            rc: build_inventory(uuid, rc, record).to_dict() for rc, record in inventories.items()
        }
        # Custom classes exist before an inventory names them, as Nova's report client
        # makes sure (placement refuses an inventory of an unknown one).
        for rc in sorted(rc for rc in wanted if rc.startswith(CUSTOM_PREFIX)):
            self._store.create_resource_class(rc)
        # Create first: a compute process registering thousands of new hosts then makes two
        # requests for each (POST, then PUT at the new provider's generation) instead of four.
        runtime.yield_point("placement")
        try:
            created = self._store.create_resource_provider(uuid, name)
        except PlacementError as exc:
            # It exists already (a restart, or a lost creation race for the same uuid): go on
            # to compare its inventories. A name clash with another uuid is a real error.
            if exc.status != 409 or not self._provider_exists(uuid):
                raise
        else:
            if self._set_inventories(uuid, created["generation"], wanted):
                return
        for _ in range(self._max_attempts):
            current = self._store.get_inventories(uuid)
            if current["inventories"] == wanted:
                return
            if self._set_inventories(uuid, current["resource_provider_generation"], wanted):
                return
        raise PlacementError(
            409,
            CONCURRENT_UPDATE,
            f"resource provider generation conflict: gave up setting inventory of {uuid} "
            f"after {self._max_attempts} attempts",
        )

    def _set_inventories(self, uuid: str, generation: int,
                         wanted: dict[str, dict[str, Any]]) -> bool:
        """PUT the inventories at `generation`; False when someone (an allocation write)
        bumped the generation first: the caller re-reads and retries, as Nova's report
        client does for inventory."""
        try:
            self._store.set_inventories(uuid, generation, wanted)
        except PlacementError as exc:
            if not exc.is_provider_generation_conflict:
                raise
            return False
        return True

    def set_provider_traits(self, uuid: str, traits: Iterable[str]) -> None:
        wanted = sorted(set(traits))
        for trait in wanted:
            if trait.startswith(CUSTOM_PREFIX):
                runtime.yield_point("placement")
                self._store.create_trait(trait)
        self._set_until_current(
            "traits", uuid, wanted, lambda: self._store.get_provider_traits(uuid),
            lambda generation: self._store.set_provider_traits(uuid, generation, wanted),
            lambda exc: exc.is_provider_generation_conflict)

    def set_provider_aggregates(self, uuid: str, aggregates: Iterable[str]) -> None:
        wanted = sorted(set(aggregates))
        # Placement's aggregates conflict is a 409 without an error code.
        self._set_until_current(
            "aggregates", uuid, wanted, lambda: self._store.get_aggregates(uuid),
            lambda generation: self._store.set_aggregates(uuid, wanted, generation),
            lambda exc: exc.status == 409)

    def _set_until_current(self, key: str, uuid: str, wanted: list[str],
                           read: Callable[[], dict[str, Any]], write: Callable[[int], Any],
                           is_conflict: Callable[[PlacementError], bool]) -> None:
        """Make the provider's `key` list `wanted`: read it (with the provider generation),
        done if it already is, else write it at that generation; a generation conflict (an
        allocation write came first) reads again, as Nova's report client retries."""
        for _ in range(self._max_attempts):
            runtime.yield_point("placement")
            current = read()
            if sorted(current[key]) == wanted:
                return
            runtime.yield_point("placement")
            try:
                write(current["resource_provider_generation"])
                return
            except PlacementError as exc:
                if not is_conflict(exc):
                    raise
        raise PlacementError(409, CONCURRENT_UPDATE, f"resource provider generation "
                             f"conflict: gave up setting the {key} of {uuid} after "
                             f"{self._max_attempts} attempts")

    def get_allocation_candidates(
        self, resources: dict[str, int], limit: int = 1000,
        filters: CandidateFilters = NO_FILTERS,
    ) -> AllocationCandidates:
        # Kept current from deltas where placement gives them (placement_sim/candidates_cache)
        runtime.yield_point("placement")
        fetch = (self._store.candidates_since if filters.empty
                 else partial(self._store.candidates_since, filters=filters))
        return self._candidates.get(resources, limit, fetch, filters)

    def claim_resources(
        self,
        consumer_uuid: str,
        allocation_request: dict[str, Any],
        project_id: str,
        user_id: str,
        consumer_generation: int | None = None,
    ) -> bool:
        allocations = allocation_request["allocations"]
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(self._backoff(attempt))
            runtime.yield_point("placement")
            try:
                self._store.put_allocations(
                    consumer_uuid, allocations, project_id, user_id, consumer_generation
                )
                return True
            except PlacementUnavailable:
                # Nova's @safe_connect turns a connection failure into a falsy result, and
                # the scheduler treats it as "could not claim".
                LOG.warning("Placement unavailable while claiming for %s", consumer_uuid)
                return False
            except PlacementError as exc:
                if exc.is_consumer_generation_conflict:
                    raise AllocationUpdateFailed(
                        consumer_uuid,
                        f"another process changed the consumer {consumer_uuid} after the "
                        f"report client read the consumer state during the claim: "
                        f"{exc.detail}",
                    ) from exc
                if exc.is_provider_generation_conflict:
                    # Placement-internal race on a provider; the caller sent no provider
                    # generation, so retrying the same request is safe.
                    LOG.debug(
                        "Provider generation conflict claiming for %s (attempt %d/%d)",
                        consumer_uuid,
                        attempt + 1,
                        self._max_attempts,
                    )
                    continue
                # Out of capacity, constraint violation or bad request: Nova returns False
                # for any non-204 here and the scheduler moves on to the next host.
                LOG.warning("Unable to claim resources for %s: %s", consumer_uuid, exc.detail)
                return False
        LOG.error("Failed placement claim for %s: out of retries", consumer_uuid)
        return False

    def delete_allocation_for_instance(self, consumer_uuid: str) -> bool:
        runtime.yield_point("placement")
        try:
            self._store.delete_allocations(consumer_uuid)
        except PlacementError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def get_allocations_for_consumer(self, consumer_uuid: str) -> dict[str, dict[str, int]]:
        runtime.yield_point("placement")
        body = self._store.get_allocations(consumer_uuid)
        return {rp: entry["resources"] for rp, entry in body["allocations"].items()}

    def get_provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        runtime.yield_point("placement")
        return self._store.get_provider_allocations(rp_uuid)

    def get_usages(self, rp_uuid: str) -> dict[str, int]:
        runtime.yield_point("placement")
        return self._store.get_usages(rp_uuid)

    def get_inventories(self, rp_uuid: str) -> dict[str, Any]:
        """The body of GET /resource_providers/{uuid}/inventories."""
        runtime.yield_point("placement")
        return self._store.get_inventories(rp_uuid)

    def list_resource_providers(self) -> list[dict[str, Any]]:
        runtime.yield_point("placement")
        return self._store.list_resource_providers()

    def _provider_exists(self, uuid: str) -> bool:
        try:
            self._store.get_resource_provider(uuid)
        except PlacementError:
            return False
        return True
