"""In-memory Placement: resource providers, inventories, consumers and allocations.

Behaviour follows OpenStack Placement (openstack/placement, handlers/ and objects/) for
non-nested, single-provider trees, at microversion 1.28 or later:

* A provider's generation starts at 0 and goes up on every inventory replacement and every
  allocation write touching it; ``set_inventories`` with a stale generation is a 409
  ``placement.concurrent_update``.
* Capacity of an inventory is ``int((total - reserved) * allocation_ratio)``. An allocation
  must fit (``used - this consumer's old amount + amount <= capacity``) and respect
  ``min_unit``/``max_unit``/``step_size``; like real placement both failures are a 409
  ``placement.undefined_code`` "Unable to allocate inventory: ..." and the write is all or
  nothing.
* Consumer generations: a consumer exists only while it has allocations; ``None`` asserts
  "new consumer", an int must equal the current generation; a mismatch is a 409
  ``placement.concurrent_update`` whose detail contains "consumer generation conflict".

Every error is a ``PlacementError`` with the status and code the real API would return, so
an HTTP front end can serve this store unchanged. Identifier formats (uuid syntax) are left
to such a front end; the store accepts any string.

Performance: one lock guards everything (operations are short dictionary updates); usage
totals per provider are maintained incrementally on every write, so capacity checks and
allocation candidates never re-sum allocations, and candidates are one pass over the
providers in (cached) candidates order with a few dictionary lookups each.
"""

from __future__ import annotations

import collections
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from altsim import runtime
from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates_delta import CandidatesToken
from placement_sim.exceptions import (
    CONCURRENT_UPDATE,
    DEFAULT,
    DUPLICATE_NAME,
    INVENTORY_INUSE,
    PROVIDER_IN_USE,
    PlacementError,
)
from placement_sim.resource_classes import STANDARD, STANDARD_ORDER
from placement_sim.standard_traits import STANDARD_TRAITS

# Placement's resource class name pattern (schemas/common.py RC_PATTERN).
_RC_RE = re.compile(r"^[A-Z0-9_]+$")
# Largest value of an integer inventory column; placement's schema rejects anything bigger.
MAX_INT = 2147483647
# Largest allocation_ratio placement's schema accepts (db_const.SQL_SP_FLOAT_MAX).
MAX_ALLOCATION_RATIO = 3.40282e38

# Changes remembered for candidates_since(): a scheduler more than this many provider changes
# behind gets a full answer.
CHANGE_LOG_LENGTH = 100_000

# How allocation candidates are ordered (placement_sim/conf.py `candidates_order` says more):
# "hash", a fixed order for each requested resources that does not follow the names, as
# Placement's; "name", provider-name order; "random", a fresh shuffle for each answer and a
# random sample under a limit, as Placement's randomize_allocation_candidates.
CANDIDATES_ORDERS = ("hash", "name", "random")
DEFAULT_CANDIDATES_ORDER = "hash"
# Resources whose provider order the store keeps (hash order: one order for each): a scheduler
# asks for a few flavors again and again; an entry costs a list of the providers.
ORDERS_KEPT = 64
# A consumer written without a type (before 1.38) has placement's default one.
UNKNOWN_CONSUMER_TYPE = "unknown"

_INVENTORY_INT_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size")
_INVENTORY_FIELDS = frozenset((*_INVENTORY_INT_FIELDS, "allocation_ratio"))


def _is_int(value: object) -> bool:
    # bool is an int subclass but JSON true is not a valid integer for placement.
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_request(detail: str) -> PlacementError:
    return PlacementError(400, DEFAULT, detail)


def _not_found(detail: str) -> PlacementError:
    return PlacementError(404, DEFAULT, detail)


@dataclass(slots=True, frozen=True)
class Inventory:
    """One resource class's inventory on a provider; capacity is precomputed once."""

    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    capacity: int

    def fits_units(self, amount: int) -> bool:
        """Whether a single allocation of ``amount`` respects min/max/step."""
        return self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


@dataclass(slots=True)
class _Provider:
    uuid: str
    name: str
    generation: int = 0
    inventories: dict[str, Inventory] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    # Moves with every change to the provider, generation or not (aggregates set before 1.19
    # leave the generation alone): what the caches below are keyed on.
    revision: int = 0
    # rc -> sum of all allocations; only classes with a non-zero total are present.
    usages: dict[str, int] = field(default_factory=dict)
    # consumer uuid -> rc -> amount: what GET /resource_providers/{uuid}/allocations shows,
    # and what makes "delete provider" and "remove inventory in use" cheap to refuse.
    allocations: dict[str, dict[str, int]] = field(default_factory=dict)
    # The provider summary of allocation candidates and the generation it was built at:
    # rebuilt only after the provider changed, since every scheduling request reads it.
    summary: dict[str, Any] | None = None
    summary_revision: int = -1
    # (Requested resources, filters), by the store's number for them -> (revision, this
    # provider's allocation request or None when it cannot take them): the same flavors are
    # asked for again and again, and a provider's answer only changes with its revision.
    candidates: dict[int, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "name": self.name, "generation": self.generation}

    def current_summary(self) -> dict[str, Any]:
        if self.summary is None or self.summary_revision != self.revision:
            self.summary = {"resources": {
                rc: {"capacity": inv.capacity, "used": self.usages.get(rc, 0)}
                for rc, inv in self.inventories.items()}}
            if self.traits:
                # Only when there are some: the summary equals what a placement asked at
                # 1.16 (no traits) answers for a provider without traits.
                self.summary["traits"] = sorted(self.traits)
            self.summary_revision = self.revision
        return self.summary


@dataclass(frozen=True)
class CandidatesAnswer:
    """What candidates_since() answers: the candidates (all of them, or those that changed
    after the answer whose token is `since`), the providers no longer candidates (deltas
    only), and this answer's token (the next call's `since`; None from a placement that
    does not give them). Tokens are text, as they cross HTTP; CandidatesToken reads them."""

    allocation_requests: list[dict[str, Any]]
    provider_summaries: dict[str, dict[str, Any]]
    removed: list[str]
    token: str | None
    since: str | None          # None: the answer is in full

    @property
    def delta(self) -> bool:
        return self.since is not None


@dataclass(slots=True)
class _Consumer:
    uuid: str
    project_id: str
    user_id: str
    generation: int
    # rp uuid -> rc -> amount
    allocations: dict[str, dict[str, int]]
    consumer_type: str = UNKNOWN_CONSUMER_TYPE


def build_inventory(rp_uuid: str, rc: str, record: Mapping[str, Any]) -> Inventory:
    """Validate one inventory record, fill in defaults and compute its capacity.

    Defaults: reserved 0, min_unit 1, step_size 1, allocation_ratio 1.0, and max_unit equal
    to total (what Nova reports for its own inventories; the raw HTTP API defaults max_unit
    to MAX_INT, which an HTTP front end can fill in itself before calling the store).
    """
    if not isinstance(rc, str) or not _RC_RE.match(rc):
        raise _bad_request(
            f"Unknown resource class in inventory for resource provider {rp_uuid}: "
            f"invalid resource class name {rc!r}."
        )
    if not isinstance(record, Mapping):
        raise _bad_request(f"Bad inventory {rc} for resource provider {rp_uuid}: not an object.")
    unknown = set(record) - _INVENTORY_FIELDS
    if unknown:
        raise _bad_request(
            f"Bad inventory {rc} for resource provider {rp_uuid}: "
            f"unexpected fields {sorted(unknown)}."
        )
    if "total" not in record:
        raise _bad_request(
            f"Bad inventory {rc} for resource provider {rp_uuid}: 'total' is required."
        )
    total = record["total"]
    values: dict[str, Any] = {
        "total": total,
        "reserved": record.get("reserved", 0),
        "min_unit": record.get("min_unit", 1),
        "max_unit": record.get("max_unit", total),
        "step_size": record.get("step_size", 1),
    }
    # Lower bounds from placement's inventory JSON schema.
    minimums = {"total": 1, "reserved": 0, "min_unit": 1, "max_unit": 1, "step_size": 1}
    for name, value in values.items():
        if not _is_int(value) or not minimums[name] <= value <= MAX_INT:
            raise _bad_request(
                f"Bad inventory {rc} for resource provider {rp_uuid}: {name} must be an "
                f"integer between {minimums[name]} and {MAX_INT}, got {value!r}."
            )
    ratio = record.get("allocation_ratio", 1.0)
    # NaN and infinity (Python's JSON parser takes them) and ratios past placement's
    # maximum would make the capacity below unrepresentable: a 400, as in placement.
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) \
            or not 0 <= ratio <= MAX_ALLOCATION_RATIO:
        raise _bad_request(
            f"Bad inventory {rc} for resource provider {rp_uuid}: allocation_ratio must be "
            f"a number between 0 and {MAX_ALLOCATION_RATIO}, got {ratio!r}."
        )
    if values["reserved"] > total:
        # Since 1.26 reserved == total is allowed (it takes a provider out of service).
        raise _bad_request(
            f"Unable to update inventory for resource provider {rp_uuid}: Invalid inventory "
            f"for '{rc}' on resource provider '{rp_uuid}'. The reserved value is greater "
            "than total."
        )
    if values["min_unit"] > values["max_unit"]:
        raise _bad_request(
            f"Bad inventory {rc} for resource provider {rp_uuid}: min_unit "
            f"({values['min_unit']}) is greater than max_unit ({values['max_unit']})."
        )
    ratio = float(ratio)
    return Inventory(
        allocation_ratio=ratio,
        capacity=int((total - values["reserved"]) * ratio),
        **values,
    )


def _hash_order(requested: tuple[tuple[str, int], ...]) -> Callable[[_Provider], bytes]:
    """The sort key of the "hash" order for these resources (sorted): a keyed hash of the
    provider's uuid. Placement's order is that of a Python set of allocation requests, each
    hashed on its provider's database id and the requested classes and amounts (objects/
    allocation_candidate.py, AllocationRequest.__hash__ and _merge_candidates): fixed for a
    request, unrelated to names, and another for other resources. This one is all that too,
    and the same in every process and run (Python's own string hash is not), so runs
    reproduce."""
    salt = hashlib.blake2b(",".join(f"{rc}:{amount}" for rc, amount in requested).encode(),
                           digest_size=32).digest()
    return lambda p: hashlib.blake2b(p.uuid.encode(), key=salt, digest_size=8).digest()


class PlacementStore:
    """Thread-safe in-memory placement data with the real service's semantics."""

    def __init__(self, candidates_order: str = DEFAULT_CANDIDATES_ORDER) -> None:
        if candidates_order not in CANDIDATES_ORDERS:
            raise ValueError(f"candidates_order {candidates_order!r}: expected one of "
                             f"{', '.join(CANDIDATES_ORDERS)}")
        self.candidates_order = candidates_order
        self._custom_classes: set[str] = set()
        self._custom_traits: set[str] = set()
        self._lock = threading.Lock()
        self._providers: dict[str, _Provider] = {}
        self._uuid_by_name: dict[str, str] = {}
        self._consumers: dict[str, _Consumer] = {}
        # Sorted requested resources -> the providers in candidates order for them (name
        # order: one list for all, under the key None); emptied when a provider is created,
        # deleted or renamed and rebuilt lazily, so a burst of creations costs one sort.
        self._orders: dict[tuple | None, list[_Provider]] = {}
        # The change number of the last change that moved a provider within the order (a
        # rename, in name order): a delta cannot move one, so no delta reaches back past it.
        self._reordered = 0
        # (Sorted requested resources, filters) -> its number in the providers' caches.
        self._key_numbers: dict[tuple, int] = {}
        # Every change to a provider (created, deleted, its generation moved), numbered: what
        # candidates_since() answers from. Bounded: a caller further behind gets everything.
        self._sequence = 0
        # Tokens name this store too: a placement that restarted numbers its changes afresh,
        # and a token of its previous life must not be read as one of this.
        self._epoch = runtime.uuid4().hex[:12]
        self._changes: collections.deque[tuple[int, str]] = collections.deque(
            maxlen=CHANGE_LOG_LENGTH)

    # -- resource providers --

    def create_resource_provider(self, uuid: str, name: str) -> dict[str, Any]:
        """POST /resource_providers. 409 ``placement.duplicate_name`` on uuid or name reuse."""
        if not isinstance(uuid, str) or not uuid:
            raise _bad_request("Unable to create resource provider: uuid must be a string.")
        if not isinstance(name, str) or not name or len(name) > 200:
            raise _bad_request(
                f"Unable to create resource provider {uuid}: name must be 1-200 characters."
            )
        with self._lock:
            duplicates = []
            if uuid in self._providers:
                duplicates.append(f"uuid: {uuid}")
            if name in self._uuid_by_name:
                duplicates.append(f"name: {name}")
            if duplicates:
                raise PlacementError(
                    409,
                    DUPLICATE_NAME,
                    f"Conflicting resource provider {', '.join(duplicates)} already exists.",
                )
            provider = _Provider(uuid=uuid, name=name)
            self._providers[uuid] = provider
            self._uuid_by_name[name] = uuid
            self._orders.clear()
            self._changed(uuid)
            return provider.to_dict()

    def get_resource_provider(self, uuid: str) -> dict[str, Any]:
        """GET /resource_providers/{uuid}: uuid, name, generation."""
        with self._lock:
            return self._provider(uuid).to_dict()

    def list_resource_providers(self) -> list[dict[str, Any]]:
        """GET /resource_providers, in creation order."""
        with self._lock:
            return [p.to_dict() for p in self._providers.values()]

    def delete_resource_provider(self, uuid: str) -> None:
        """DELETE /resource_providers/{uuid}. 409 if anything is allocated against it."""
        with self._lock:
            provider = self._providers.get(uuid)
            if provider is None:
                raise _not_found(f"No resource provider with uuid {uuid} found for delete")
            if provider.allocations:
                raise PlacementError(
                    409,
                    PROVIDER_IN_USE,
                    f"Unable to delete resource provider {uuid}: "
                    "Resource provider has allocations.",
                )
            del self._providers[uuid]
            del self._uuid_by_name[provider.name]
            self._orders.clear()
            self._changed(uuid)

    # -- inventories --

    def get_inventories(self, rp_uuid: str) -> dict[str, Any]:
        """GET /resource_providers/{uuid}/inventories."""
        with self._lock:
            return self._inventories_body(self._provider(rp_uuid))

    def set_inventories(
        self, rp_uuid: str, generation: int, inventories: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        """PUT /resource_providers/{uuid}/inventories: replace every inventory at once.

        Returns the new inventories body (with the incremented generation). Reducing a total
        below current usage is allowed, as in placement (it only makes the provider full);
        removing a class that has allocations is a 409 ``placement.inventory.inuse``.
        """
        if not isinstance(inventories, Mapping):
            raise _bad_request("'inventories' must be an object.")
        with self._lock:
            provider = self._provider(rp_uuid)
            if generation != provider.generation:
                raise PlacementError(
                    409, CONCURRENT_UPDATE, "resource provider generation conflict"
                )
            new = {rc: build_inventory(rp_uuid, rc, rec) for rc, rec in inventories.items()}
            for rc in new:
                if not self._class_exists(rc):
                    raise _bad_request(
                        f"Unknown resource class in inventory for resource provider "
                        f"{rp_uuid}: No such resource class {rc}.")
            in_use = sorted(rc for rc in provider.usages if rc not in new)
            if in_use:
                raise PlacementError(
                    409,
                    INVENTORY_INUSE,
                    f"update conflict: Inventory for '{', '.join(in_use)}' on resource "
                    f"provider '{rp_uuid}' in use.",
                )
            provider.inventories = new
            provider.generation += 1
            self._changed(rp_uuid)
            return self._inventories_body(provider)

    # -- allocations --

    def put_allocations(
        self,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, Any]],
        project_id: str,
        user_id: str,
        consumer_generation: int | None,
        consumer_type: str | None = None,
    ) -> None:
        """PUT /allocations/{consumer_uuid}: atomically replace the consumer's allocations.

        ``allocations`` is ``{rp_uuid: {"resources": {rc: amount}}}`` (a per-provider
        ``generation`` key, as GET returns it, is accepted and ignored). An empty dict removes
        the consumer's allocations. Nothing is written unless every amount fits.
        ``consumer_type`` (1.38) None keeps the consumer's type ("unknown" for a new one).
        """
        # Not self.post_allocations: a journaled store journals this write as a PUT.
        self._post_allocations({consumer_uuid: {
            "allocations": allocations, "project_id": project_id, "user_id": user_id,
            "consumer_generation": consumer_generation, "consumer_type": consumer_type}})

    def post_allocations(self, writes: Mapping[str, Mapping[str, Any]]) -> None:
        """POST /allocations (1.13): several consumers' allocations replaced at once, all or
        nothing. ``writes`` is consumer uuid -> ``allocations``, ``project_id``, ``user_id``,
        ``consumer_generation`` and optionally ``consumer_type``, as put_allocations takes
        them; capacity is checked against what the whole batch leaves."""
        self._post_allocations(writes)

    def _post_allocations(self, writes: Mapping[str, Mapping[str, Any]]) -> None:
        parsed = {}
        for consumer_uuid, write in writes.items():
            new = self._parse_allocations(consumer_uuid, write["allocations"])
            for label in ("project_id", "user_id"):
                if not isinstance(write[label], str) or not write[label]:
                    raise _bad_request(f"{label} must be a non-empty string.")
            generation = write["consumer_generation"]
            if generation is not None and not _is_int(generation):
                raise _bad_request("consumer_generation must be an integer or null.")
            parsed[consumer_uuid] = new

        with self._lock:
            olds = {c: self._check_write(c, new, writes[c]["consumer_generation"])
                    for c, new in parsed.items()}
            self._check_batch_fits(parsed, olds)
            # Everything fits: from here on nothing can fail, which is what makes the write
            # all or nothing without an undo log.
            for consumer_uuid, new in parsed.items():
                self._apply(consumer_uuid, olds[consumer_uuid], new)
                self._record_consumer(consumer_uuid, new, writes[consumer_uuid])

    def _check_write(self, consumer_uuid: str, new: dict[str, dict[str, int]],
                     generation: int | None) -> dict[str, dict[str, int]]:
        """One consumer's write checked as placement does, in its order: unknown classes and
        providers (400), then the consumer generation (409 concurrent_update). Returns what
        the consumer holds now. Lock held."""
        for resources in new.values():
            for rc in resources:
                if not self._class_exists(rc):
                    raise _bad_request(f"Unable to allocate inventory for consumer "
                                       f"{consumer_uuid}: No such resource class {rc}.")
        for rp_uuid in new:
            if rp_uuid not in self._providers:
                raise _bad_request(
                    f"Allocation for resource provider '{rp_uuid}' that does not exist.")
        consumer = self._consumers.get(consumer_uuid)
        self._check_consumer_generation(consumer, generation)
        return consumer.allocations if consumer is not None else {}

    def _check_batch_fits(self, news: Mapping[str, dict[str, dict[str, int]]],
                          olds: Mapping[str, dict[str, dict[str, int]]]) -> None:
        """The 409 placement returns if the writes do not fit: what the consumers hold now
        does not count against capacity, as the writes replace it. Lock held."""
        if len(news) == 1:
            ((consumer_uuid, new),) = news.items()
            old = olds[consumer_uuid]
            for rp_uuid, resources in new.items():
                self._check_fits(self._providers[rp_uuid], resources, old.get(rp_uuid, {}))
            return
        added: dict[str, dict[str, int]] = {}
        freed: dict[str, dict[str, int]] = {}
        for consumer_uuid, new in news.items():
            for rp_uuid, resources in new.items():
                self._check_fits(self._providers[rp_uuid], resources, {}, capacity=False)
                for rc, amount in resources.items():
                    added.setdefault(rp_uuid, {})[rc] = added.get(rp_uuid, {}).get(rc, 0) + amount
            for rp_uuid, resources in olds[consumer_uuid].items():
                for rc, amount in resources.items():
                    freed.setdefault(rp_uuid, {})[rc] = freed.get(rp_uuid, {}).get(rc, 0) + amount
        for rp_uuid, resources in added.items():
            self._check_fits(self._providers[rp_uuid], resources, freed.get(rp_uuid, {}),
                             units=False)

    def _record_consumer(self, consumer_uuid: str, new: dict[str, dict[str, int]],
                         write: Mapping[str, Any]) -> None:
        """The consumer's record after its write. Lock held."""
        consumer = self._consumers.get(consumer_uuid)
        consumer_type = write.get("consumer_type")
        if not new:
            # Placement deletes a consumer that is left without allocations, so its next
            # write must again claim to be new (generation None).
            self._consumers.pop(consumer_uuid, None)
        elif consumer is None:
            # A new consumer record starts at generation 0 and the write bumps it to 1.
            self._consumers[consumer_uuid] = _Consumer(
                consumer_uuid, write["project_id"], write["user_id"], 1, new,
                consumer_type or UNKNOWN_CONSUMER_TYPE)
        else:
            consumer.allocations = new
            consumer.project_id = write["project_id"]
            consumer.user_id = write["user_id"]
            consumer.generation += 1
            if consumer_type is not None:
                consumer.consumer_type = consumer_type

    def delete_allocations(self, consumer_uuid: str) -> None:
        """DELETE /allocations/{consumer_uuid}. 404 if the consumer has no allocations."""
        with self._lock:
            consumer = self._consumers.pop(consumer_uuid, None)
            if consumer is None:
                raise _not_found(f"No allocations for consumer '{consumer_uuid}'")
            self._apply(consumer_uuid, consumer.allocations, {})

    def get_allocations(self, consumer_uuid: str) -> dict[str, Any]:
        """GET /allocations/{consumer_uuid}.

        ``{"allocations": {rp: {"generation": g, "resources": {...}}},
        "consumer_generation": g or None}`` plus project_id/user_id when it has allocations.
        An unknown consumer is not an error, just empty (as in placement).
        """
        with self._lock:
            consumer = self._consumers.get(consumer_uuid)
            if consumer is None:
                return {"allocations": {}, "consumer_generation": None}
            return {
                "allocations": {
                    rp_uuid: {
                        "generation": self._providers[rp_uuid].generation,
                        "resources": dict(resources),
                    }
                    for rp_uuid, resources in consumer.allocations.items()
                },
                "consumer_generation": consumer.generation,
                "project_id": consumer.project_id,
                "user_id": consumer.user_id,
                "consumer_type": consumer.consumer_type,
            }

    def get_provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        """GET /resource_providers/{uuid}/allocations, flattened to consumer -> rc -> amount."""
        with self._lock:
            provider = self._provider(rp_uuid)
            return {c: dict(res) for c, res in provider.allocations.items()}

    def get_usages(self, rp_uuid: str) -> dict[str, int]:
        """GET /resource_providers/{uuid}/usages: every inventory class, 0 when unused."""
        with self._lock:
            provider = self._provider(rp_uuid)
            usages = dict.fromkeys(provider.inventories, 0)
            usages.update(provider.usages)
            return usages

    def get_project_usages(self, project_id: str, user_id: str | None = None,
                           by_type: bool = False) -> dict[str, Any]:
        """GET /usages?project_id=&user_id= (1.9): the consumers' allocations summed per
        class; ``by_type`` (1.38) per consumer type, each with its ``consumer_count``."""
        with self._lock:
            totals: dict[str, dict[str, int]] = {}
            for consumer in self._consumers.values():
                if consumer.project_id != project_id or (
                        user_id is not None and consumer.user_id != user_id):
                    continue
                group = totals.setdefault(consumer.consumer_type if by_type else "", {})
                for resources in consumer.allocations.values():
                    for rc, amount in resources.items():
                        group[rc] = group.get(rc, 0) + amount
                if by_type:
                    group["consumer_count"] = group.get("consumer_count", 0) + 1
            return totals if by_type else totals.get("", {})

    # -- resource classes and traits --

    def list_resource_classes(self) -> list[str]:
        """GET /resource_classes: the standard ones, then the custom ones by name."""
        with self._lock:
            return [*STANDARD_ORDER, *sorted(self._custom_classes)]

    def resource_class_exists(self, name: str) -> bool:
        with self._lock:
            return self._class_exists(name)

    def create_resource_class(self, name: str) -> bool:
        """PUT /resource_classes/{name} (1.7): False when it existed already. The name is
        checked by the caller (a CUSTOM_ one)."""
        with self._lock:
            if self._class_exists(name):
                return False
            self._custom_classes.add(name)
            return True

    def list_traits(self) -> list[str]:
        """GET /traits: standard and custom, by name."""
        with self._lock:
            return sorted(STANDARD_TRAITS | self._custom_traits)

    def trait_exists(self, name: str) -> bool:
        with self._lock:
            return name in STANDARD_TRAITS or name in self._custom_traits

    def create_trait(self, name: str) -> bool:
        """PUT /traits/{name}: False when it existed already. The name is checked by the
        caller (a CUSTOM_ one)."""
        with self._lock:
            if name in STANDARD_TRAITS or name in self._custom_traits:
                return False
            self._custom_traits.add(name)
            return True

    def associated_traits(self) -> set[str]:
        """The traits some provider has (GET /traits?associated=true)."""
        with self._lock:
            return set().union(*(p.traits for p in self._providers.values()))

    # -- a provider's traits, aggregates and name --

    def get_provider_traits(self, rp_uuid: str) -> dict[str, Any]:
        """GET /resource_providers/{uuid}/traits."""
        with self._lock:
            provider = self._provider(rp_uuid)
            return {"traits": sorted(provider.traits),
                    "resource_provider_generation": provider.generation}

    def set_provider_traits(self, rp_uuid: str, generation: int,
                            traits: list[str]) -> dict[str, Any]:
        """PUT /resource_providers/{uuid}/traits: replace them; 400 for a trait that does
        not exist, 409 concurrent_update for a stale generation. The generation moves."""
        with self._lock:
            provider = self._provider(rp_uuid)
            self._check_traits_exist(frozenset(traits))
            self._check_generation(provider, generation)
            provider.traits = frozenset(traits)
            provider.generation += 1
            self._changed(rp_uuid)
            return {"traits": sorted(provider.traits),
                    "resource_provider_generation": provider.generation}

    def delete_provider_traits(self, rp_uuid: str) -> None:
        """DELETE /resource_providers/{uuid}/traits: no generation asked; it moves."""
        with self._lock:
            provider = self._provider(rp_uuid)
            provider.traits = frozenset()
            provider.generation += 1
            self._changed(rp_uuid)

    def get_aggregates(self, rp_uuid: str) -> dict[str, Any]:
        """GET /resource_providers/{uuid}/aggregates (the generation is shown from 1.19)."""
        with self._lock:
            provider = self._provider(rp_uuid)
            return {"aggregates": sorted(provider.aggregates),
                    "resource_provider_generation": provider.generation}

    def set_aggregates(self, rp_uuid: str, aggregates: list[str],
                       generation: int | None) -> dict[str, Any]:
        """PUT /resource_providers/{uuid}/aggregates. With a ``generation`` (1.19) it must be
        current and it moves; without (before 1.19) neither, as in placement."""
        with self._lock:
            provider = self._provider(rp_uuid)
            if generation is not None:
                if generation != provider.generation:
                    # Placement's aggregates conflict has no error code, unlike the others.
                    raise PlacementError(409, DEFAULT, "Resource provider's generation "
                                         "already changed. Please update the generation "
                                         "and try again.")
                provider.generation += 1
            provider.aggregates = frozenset(aggregates)
            self._changed(rp_uuid)
            return {"aggregates": sorted(provider.aggregates),
                    "resource_provider_generation": provider.generation}

    def rename_resource_provider(self, rp_uuid: str, name: str) -> dict[str, Any]:
        """PUT /resource_providers/{uuid} with a name: 409 duplicate_name if another has it."""
        with self._lock:
            provider = self._provider(rp_uuid)
            if name != provider.name:
                if name in self._uuid_by_name:
                    raise PlacementError(409, DUPLICATE_NAME, "Conflicting resource provider "
                                         f"name: {name} already exists.")
                del self._uuid_by_name[provider.name]
                provider.name = name
                self._uuid_by_name[name] = rp_uuid
                self._changed(rp_uuid)
                if self.candidates_order == "name":
                    self._orders.clear()
                    self._reordered = self._sequence
            return provider.to_dict()

    # -- the whole state, for a durable store's snapshots --

    def export_state(self) -> dict[str, Any]:
        """Everything a restarted store needs (JSON-ready): providers in creation order
        with generations and inventories, consumers with generations and allocations.
        Caches, usages and the change log are derived or per-incarnation and left out."""
        with self._lock:
            return {
                "resource_classes": sorted(self._custom_classes),
                "traits": sorted(self._custom_traits),
                "providers": [{**p.to_dict(), "inventories": {
                    rc: inv.to_dict() for rc, inv in p.inventories.items()},
                    "traits": sorted(p.traits), "aggregates": sorted(p.aggregates)}
                    for p in self._providers.values()],
                "consumers": [{"uuid": c.uuid, "project_id": c.project_id,
                               "user_id": c.user_id, "generation": c.generation,
                               "consumer_type": c.consumer_type,
                               "allocations": {rp: dict(res) for rp, res
                                               in c.allocations.items()}}
                              for c in self._consumers.values()],
            }

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Replace this store's contents with what export_state() gave, rebuilding usages.
        The store becomes a new incarnation: no candidates token of before still holds."""
        with self._lock:
            self._epoch = runtime.uuid4().hex[:12]
            self._changes.clear()
            self._providers.clear()
            self._uuid_by_name.clear()
            self._consumers.clear()
            self._orders.clear()
            # Snapshots of before resource classes, traits and aggregates have none.
            self._custom_classes = set(state.get("resource_classes", ()))
            self._custom_traits = set(state.get("traits", ()))
            for record in state["providers"]:
                provider = _Provider(uuid=record["uuid"], name=record["name"],
                                     generation=record["generation"],
                                     traits=frozenset(record.get("traits", ())),
                                     aggregates=frozenset(record.get("aggregates", ())))
                provider.inventories = {rc: build_inventory(provider.uuid, rc, inv)
                                        for rc, inv in record["inventories"].items()}
                self._providers[provider.uuid] = provider
                self._uuid_by_name[provider.name] = provider.uuid
                self._changed(provider.uuid)
            for record in state["consumers"]:
                allocations = {rp: dict(res) for rp, res in record["allocations"].items()}
                self._consumers[record["uuid"]] = _Consumer(
                    record["uuid"], record["project_id"], record["user_id"],
                    record["generation"], allocations,
                    record.get("consumer_type", UNKNOWN_CONSUMER_TYPE))
                for rp_uuid, resources in allocations.items():
                    provider = self._providers[rp_uuid]
                    provider.allocations[record["uuid"]] = resources
                    for rc, amount in resources.items():
                        provider.usages[rc] = provider.usages.get(rc, 0) + amount

    # -- allocation candidates --

    def allocation_candidates(
        self, resources: Mapping[str, int], limit: int | None = None,
        filters: CandidateFilters = NO_FILTERS,
    ) -> dict[str, Any]:
        """GET /allocation_candidates?resources=...&limit=... for single-provider trees.

        A provider is a candidate when it has inventory of every requested class, every
        amount respects that inventory's min/max/step, and ``used + amount <= capacity``.
        Candidates come in the store's candidates order (CANDIDATES_ORDERS; placement
        promises none); ``filters`` narrow them by traits and aggregates; ``limit`` keeps
        the first ones (with "random", a random sample of them all, as placement's
        randomize_allocation_candidates), and the provider summaries cover exactly the
        returned providers, in the same order, with every class of their inventory.
        """
        if not isinstance(resources, Mapping) or not resources:
            raise _bad_request(
                "Badly formed resources parameter. Expected resources query "
                "string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024."
            )
        for rc, amount in resources.items():
            if not isinstance(rc, str) or not _RC_RE.match(rc):
                raise _bad_request(f"Invalid resource class in resources parameter: {rc!r}.")
            if not _is_int(amount) or amount < 1:
                raise _bad_request(
                    f"Requested resource {rc} expected positive integer amount. Got: {amount!r}."
                )
        if limit is not None and (not _is_int(limit) or limit < 1):
            raise _bad_request(f"Invalid limit {limit!r}: must be a positive integer.")

        requested = list(resources.items())
        key = (tuple(sorted(requested)), filters)
        with self._lock:
            self._check_traits_exist(filters.traits_named)
            shuffled = self.candidates_order == "random"
            matches: list[_Provider] = []
            requests: list[dict[str, Any]] = []
            number = self._key_number(key)
            for provider in self._ordered(key[0]):
                # _cached_candidate inlined: this loop is most of a request's cost.
                cached = provider.candidates.get(number)
                if cached is not None and cached[0] == provider.revision:
                    request = cached[1]
                else:
                    request = self._cached_candidate(provider, number, requested, filters)
                if request is not None:
                    matches.append(provider)
                    requests.append(request)
                    if limit is not None and len(matches) >= limit and not shuffled:
                        # The order is fixed, so stopping early returns the same first
                        # ``limit`` candidates a full scan would.
                        break
            if shuffled:
                # As placement's limit_results: a sample of `limit` of them all, else all
                # of them shuffled (in a deterministic run, from the run's seeded stream).
                picked = runtime.rng().sample(range(len(matches)),
                                              min(len(matches), limit or len(matches)))
                matches = [matches[i] for i in picked]
                requests = [requests[i] for i in picked]
            return {
                # Shared, cached requests and summaries: callers must treat them as read-only.
                "allocation_requests": requests,
                "provider_summaries": {
                    p.uuid: p.summary if p.summary_revision == p.revision  # type: ignore[misc]
                    else p.current_summary() for p in matches},
            }

    def candidates_since(self, resources: Mapping[str, int], limit: int | None,
                         since: str | None,
                         filters: CandidateFilters = NO_FILTERS) -> CandidatesAnswer:
        """allocation_candidates, or only what changed after the answer whose token is
        `since`.

        An altsim extension (real placement always answers in full): a scheduler asking for
        the same resources request after request gets the providers whose generation moved
        since its last answer, each as a candidate (its request and summary) or as removed
        (full now, or deleted), and the unchanged rest it already has stays valid (a
        provider's candidacy and summary change only with its generation). The answer is in
        full when `since` is None or too old for the change log, when a provider moved
        within the candidates order since (renamed, in name order), or when `limit` could
        cut the candidates (more providers than it): which ones are cut can change with any.
        In "random" order a delta leaves the others where the last full answer had them:
        without a cut, order chooses nothing (the scheduler weighs hosts in its own order).
        """
        with self._lock:
            token = str(CandidatesToken(self._epoch, self._sequence))
            changed = self._changed_after(since)
            if changed is None or (limit is not None and len(self._providers) > limit):
                changed = None
            else:
                self._check_traits_exist(filters.traits_named)
                number = self._key_number((tuple(sorted(resources.items())), filters))
                requests, summaries, removed = [], {}, []
                for rp_uuid in changed:
                    provider = self._providers.get(rp_uuid)
                    request = (self._cached_candidate(provider, number,
                                                      list(resources.items()), filters)
                               if provider is not None else None)
                    if request is None:
                        removed.append(rp_uuid)
                    else:
                        requests.append(request)
                        summaries[rp_uuid] = provider.current_summary()  # type: ignore[union-attr]
                return CandidatesAnswer(requests, summaries, removed, token, since)
        full = self.allocation_candidates(resources, limit, filters)
        return CandidatesAnswer(full["allocation_requests"], full["provider_summaries"], [],
                                token, None)

    def _changed_after(self, token: str | None) -> list[str] | None:
        """The providers changed after the change `token` names, or None if it is not a
        token of this store, the log no longer reaches back that far, or a provider moved
        within the candidates order since (a delta cannot move one). Lock held."""
        parsed = CandidatesToken.parse(token)
        if parsed is None or parsed.epoch != self._epoch:
            return None
        since = parsed.number
        if since > self._sequence or since < self._reordered:
            return None
        if since < self._sequence and (not self._changes or self._changes[0][0] > since + 1):
            return None
        changed: dict[str, None] = {}
        for sequence, rp_uuid in reversed(self._changes):
            if sequence <= since:
                break
            changed[rp_uuid] = None
        return list(changed)

    # -- internals (callers hold the lock where noted) --

    def _ordered(self, requested: tuple[tuple[str, int], ...]) -> list[_Provider]:
        """Every provider in candidates order for the sorted `requested` resources. Lock
        held."""
        key = None if self.candidates_order != "hash" else requested
        ordered = self._orders.get(key)
        if ordered is None:
            if self.candidates_order == "name":
                ordered = sorted(self._providers.values(), key=lambda p: p.name)
            elif self.candidates_order == "hash":
                ordered = sorted(self._providers.values(), key=_hash_order(requested))
            else:  # random: any order is shuffled afterwards; creation order is at hand
                ordered = list(self._providers.values())
            if len(self._orders) >= ORDERS_KEPT:
                del self._orders[next(iter(self._orders))]
            self._orders[key] = ordered
        return ordered

    def _key_number(self, key: tuple) -> int:
        """The number standing for `key` (sorted resources, filters) in the providers'
        candidate caches: an int hashes and compares at once, the tuple and the filters
        (a dataclass) in Python for every provider. Lock held."""
        number = self._key_numbers.get(key)
        if number is None:
            number = self._key_numbers[key] = len(self._key_numbers)
        return number

    @classmethod
    def _cached_candidate(cls, provider: _Provider, number: int,
                          requested: list[tuple[str, int]],
                          filters: CandidateFilters) -> dict[str, Any] | None:
        """The provider's allocation request for `requested` and `filters` (`number` their
        _key_number), from the provider's cache while its revision has not moved. Lock
        held."""
        cached = provider.candidates.get(number)
        if cached is not None and cached[0] == provider.revision:
            return cached[1]
        request = cls._candidate(provider, requested, filters)
        provider.candidates[number] = (provider.revision, request)
        return request

    @staticmethod
    def _candidate(provider: _Provider, requested: list[tuple[str, int]],
                   filters: CandidateFilters) -> dict[str, Any] | None:
        """The provider's allocation request for `requested`, or None if it cannot take it."""
        if filters is not NO_FILTERS and not filters.admits(provider.traits,
                                                            provider.aggregates):
            return None
        for rc, amount in requested:
            inv = provider.inventories.get(rc)
            if (inv is None or provider.usages.get(rc, 0) + amount > inv.capacity
                    or not inv.fits_units(amount)):
                return None
        return {"allocations": {provider.uuid: {"resources": dict(requested)}}}

    def _class_exists(self, name: str) -> bool:
        """Lock held."""
        return name in STANDARD or name in self._custom_classes

    def _check_traits_exist(self, traits: frozenset[str]) -> None:
        """A 400 naming the traits that do not exist, as placement's. Lock held."""
        missing = sorted(t for t in traits
                         if t not in STANDARD_TRAITS and t not in self._custom_traits)
        if missing:
            raise _bad_request(f"No such trait(s): {', '.join(missing)}.")

    @staticmethod
    def _check_generation(provider: _Provider, generation: int) -> None:
        if generation != provider.generation:
            raise PlacementError(
                409, CONCURRENT_UPDATE, "Resource provider's generation already changed. "
                "Please update the generation and try again.")

    def _provider(self, uuid: str) -> _Provider:
        provider = self._providers.get(uuid)
        if provider is None:
            raise _not_found(f"No resource provider with uuid {uuid} found")
        return provider

    @staticmethod
    def _inventories_body(provider: _Provider) -> dict[str, Any]:
        return {
            "resource_provider_generation": provider.generation,
            "inventories": {rc: inv.to_dict() for rc, inv in provider.inventories.items()},
        }

    @staticmethod
    def _parse_allocations(
        consumer_uuid: str, allocations: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, int]]:
        """Validate the request shape (placement's JSON schema) into rp -> rc -> amount.

        Done before taking the lock: it needs no shared state, and copying the caller's
        dicts here means later changes by the caller cannot reach the store.
        """
        if not isinstance(allocations, Mapping):
            raise _bad_request("'allocations' must be an object.")
        parsed: dict[str, dict[str, int]] = {}
        for rp_uuid, entry in allocations.items():
            if not isinstance(entry, Mapping) or set(entry) - {"resources", "generation"}:
                raise _bad_request(
                    f"Allocation for resource provider '{rp_uuid}' must be an object with "
                    "'resources' (and optionally 'generation')."
                )
            resources = entry.get("resources")
            if not isinstance(resources, Mapping) or not resources:
                raise _bad_request(
                    f"Allocation for resource provider '{rp_uuid}' needs a non-empty "
                    "'resources' object."
                )
            amounts: dict[str, int] = {}
            for rc, amount in resources.items():
                if not isinstance(rc, str) or not _RC_RE.match(rc):
                    raise _bad_request(
                        f"Unable to allocate inventory for consumer {consumer_uuid}: "
                        f"No such resource class {rc!r}."
                    )
                if not _is_int(amount) or not 1 <= amount <= MAX_INT:
                    raise _bad_request(
                        f"Unable to allocate inventory for consumer {consumer_uuid}: "
                        f"amount of {rc} on '{rp_uuid}' must be a positive integer, "
                        f"got {amount!r}."
                    )
                amounts[rc] = amount
            parsed[rp_uuid] = amounts
        return parsed

    @staticmethod
    def _check_consumer_generation(consumer: _Consumer | None, requested: int | None) -> None:
        """Placement's ensure_consumer() rule since 1.28. Lock held."""
        if consumer is None:
            if requested is not None:
                raise PlacementError(
                    409,
                    CONCURRENT_UPDATE,
                    f"consumer generation conflict - expected null but got {requested}",
                )
        elif requested != consumer.generation:
            raise PlacementError(
                409,
                CONCURRENT_UPDATE,
                "consumer generation conflict - expected "
                f"{consumer.generation} but got {requested}",
            )

    @staticmethod
    def _check_fits(provider: _Provider, resources: dict[str, int], old: dict[str, int],
                    units: bool = True, capacity: bool = True) -> None:
        """Raise the 409 placement returns if ``resources`` cannot go on ``provider``.

        ``old`` is what this consumer holds there now; the write replaces it, so it does not
        count against capacity. Lock held.
        """
        for rc, amount in resources.items():
            inv = provider.inventories.get(rc)
            if inv is None:
                raise PlacementError(
                    409,
                    DEFAULT,
                    f"Unable to allocate inventory: Inventory for '{rc}' on resource "
                    f"provider '{provider.uuid}' invalid.",
                )
            if units and not inv.fits_units(amount):
                raise PlacementError(
                    409,
                    DEFAULT,
                    f"Unable to allocate inventory: Unable to create allocation for '{rc}' "
                    f"on resource provider '{provider.uuid}'. The requested amount would "
                    "violate inventory constraints.",
                )
            used = provider.usages.get(rc, 0) - old.get(rc, 0)
            if capacity and used + amount > inv.capacity:
                raise PlacementError(
                    409,
                    DEFAULT,
                    f"Unable to allocate inventory: Unable to create allocation for '{rc}' "
                    f"on resource provider '{provider.uuid}'. The requested amount would "
                    "exceed the capacity.",
                )

    def _apply(
        self,
        consumer_uuid: str,
        old: dict[str, dict[str, int]],
        new: dict[str, dict[str, int]],
    ) -> None:
        """Swap a consumer's allocations from ``old`` to ``new``, keeping usage totals and
        the per-provider allocation index in step. Cannot fail. Lock held."""
        for rp_uuid, resources in old.items():
            provider = self._providers[rp_uuid]
            usages = provider.usages
            for rc, amount in resources.items():
                remaining = usages[rc] - amount
                if remaining:
                    usages[rc] = remaining
                else:
                    del usages[rc]
            del provider.allocations[consumer_uuid]
        for rp_uuid, resources in new.items():
            provider = self._providers[rp_uuid]
            usages = provider.usages
            for rc, amount in resources.items():
                usages[rc] = usages.get(rc, 0) + amount
            provider.allocations[consumer_uuid] = resources
        # Every provider whose allocations changed gets a new generation, once per write.
        for rp_uuid in old.keys() | new.keys():
            self._providers[rp_uuid].generation += 1
            self._changed(rp_uuid)

    def _changed(self, rp_uuid: str) -> None:
        """Log a change to the provider (and move its revision). Lock held."""
        provider = self._providers.get(rp_uuid)
        if provider is not None:
            provider.revision += 1
        self._sequence += 1
        self._changes.append((self._sequence, rp_uuid))
