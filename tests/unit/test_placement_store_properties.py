"""Property test of placement_sim.store against a naive model (needs hypothesis).

Random sequences of allocation writes, deletes and inventory replacements are applied both
to the store and to a model that recomputes everything from scratch. After every step the
store's incrementally maintained usages must equal the sum of allocations, never exceed
capacity, and every accept/reject decision and generation must match the model.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import assume, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from placement_sim.exceptions import CONCURRENT_UPDATE, INVENTORY_INUSE, PlacementError  # noqa: E402
from placement_sim.store import PlacementStore  # noqa: E402

RPS = ["rp-a", "rp-b", "rp-c"]
CONSUMERS = [f"c{i}" for i in range(5)]
RCS = ["VCPU", "MEMORY_MB"]

inventory_record = st.fixed_dictionaries(
    {
        "total": st.integers(1, 20),
        "reserved": st.integers(0, 3),
        "min_unit": st.integers(1, 2),
        "max_unit": st.integers(2, 20),
        "step_size": st.integers(1, 3),
        "allocation_ratio": st.sampled_from([0.5, 1.0, 1.5, 2.0]),
    }
).filter(lambda r: r["reserved"] <= r["total"])
inventories = st.dictionaries(st.sampled_from(RCS), inventory_record, min_size=1)
allocation_request = st.dictionaries(
    st.sampled_from(RPS),
    st.dictionaries(st.sampled_from(RCS), st.integers(1, 12), min_size=1),
    max_size=3,
)


def capacity(record: dict) -> int:
    return int((record["total"] - record["reserved"]) * record["allocation_ratio"])


class PlacementModel(RuleBasedStateMachine):
    """The store versus a from-scratch model of the same operations."""

    @initialize(invs=st.lists(inventories, min_size=len(RPS), max_size=len(RPS)))
    def setup(self, invs):
        self.store = PlacementStore()
        self.inventories: dict[str, dict] = {}
        self.generations: dict[str, int] = {}
        # consumer -> (consumer generation, rp -> rc -> amount)
        self.consumers: dict[str, tuple[int, dict[str, dict[str, int]]]] = {}
        for rp, inv in zip(RPS, invs, strict=True):
            self.store.create_resource_provider(rp, f"name-{rp}")
            self.store.set_inventories(rp, 0, inv)
            self.inventories[rp] = inv
            self.generations[rp] = 1

    def used(self, rp: str, rc: str, excluding: str | None = None) -> int:
        return sum(
            allocs.get(rp, {}).get(rc, 0)
            for consumer, (_, allocs) in self.consumers.items()
            if consumer != excluding
        )

    def fits(self, consumer: str, request: dict[str, dict[str, int]]) -> bool:
        for rp, resources in request.items():
            for rc, amount in resources.items():
                inv = self.inventories[rp].get(rc)
                if inv is None:
                    return False
                if not inv["min_unit"] <= amount <= inv["max_unit"]:
                    return False
                if amount % inv["step_size"]:
                    return False
                if self.used(rp, rc, excluding=consumer) + amount > capacity(inv):
                    return False
        return True

    @rule(
        consumer=st.sampled_from(CONSUMERS),
        request=allocation_request,
        which=st.sampled_from(["current", "null", "stale"]),
    )
    def put_allocations(self, consumer, request, which):
        current_gen, old = self.consumers.get(consumer, (None, {}))
        if which == "current":
            generation = current_gen
        elif which == "null":
            generation = None
        else:
            generation = (current_gen or 0) + 1
        generation_ok = generation == current_gen
        expect_ok = generation_ok and self.fits(consumer, request)
        body = {rp: {"resources": dict(res)} for rp, res in request.items()}
        try:
            self.store.put_allocations(consumer, body, "proj", "user", generation)
        except PlacementError as exc:
            assert not expect_ok, exc.detail
            assert exc.status == 409
            if not generation_ok:
                assert exc.code == CONCURRENT_UPDATE
                assert "consumer generation conflict" in exc.detail
            return
        assert expect_ok
        for rp in old.keys() | request.keys():
            self.generations[rp] += 1
        if request:
            self.consumers[consumer] = ((current_gen or 0) + 1, request)
        else:
            self.consumers.pop(consumer, None)

    @rule(consumer=st.sampled_from(CONSUMERS))
    def delete_allocations(self, consumer):
        try:
            self.store.delete_allocations(consumer)
        except PlacementError as exc:
            assert exc.status == 404
            assert consumer not in self.consumers
            return
        _, old = self.consumers.pop(consumer)
        for rp in old:
            self.generations[rp] += 1

    @rule(rp=st.sampled_from(RPS), inv=inventories, stale=st.booleans())
    def set_inventories(self, rp, inv, stale):
        # Shrinking below usage is legal in placement but would void the capacity invariant.
        assume(all(capacity(rec) >= self.used(rp, rc) for rc, rec in inv.items()))
        in_use = any(self.used(rp, rc) and rc not in inv for rc in RCS)
        generation = self.generations[rp] - 1 if stale else self.generations[rp]
        try:
            self.store.set_inventories(rp, generation, inv)
        except PlacementError as exc:
            assert exc.status == 409
            assert exc.code == (CONCURRENT_UPDATE if stale else INVENTORY_INUSE)
            assert stale or in_use
            return
        assert not stale and not in_use
        self.inventories[rp] = inv
        self.generations[rp] += 1

    @invariant()
    def usage_equals_sum_of_allocations_and_fits_capacity(self):
        for rp in RPS:
            usages = self.store.get_usages(rp)
            assert set(usages) == set(self.inventories[rp])
            for rc, used in usages.items():
                assert used == self.used(rp, rc)
                assert used <= capacity(self.inventories[rp][rc])
            expected = {
                consumer: allocs[rp]
                for consumer, (_, allocs) in self.consumers.items()
                if rp in allocs
            }
            assert self.store.get_provider_allocations(rp) == expected
            assert self.store.get_resource_provider(rp)["generation"] == self.generations[rp]

    @invariant()
    def consumers_match_the_model(self):
        for consumer in CONSUMERS:
            body = self.store.get_allocations(consumer)
            generation, allocs = self.consumers.get(consumer, (None, {}))
            assert body["consumer_generation"] == generation
            assert {rp: e["resources"] for rp, e in body["allocations"].items()} == allocs

    @invariant()
    def candidates_are_exactly_the_providers_that_fit(self):
        request = {"VCPU": 2}
        got = self.store.allocation_candidates(request)
        got_rps = [next(iter(ar["allocations"])) for ar in got["allocation_requests"]]
        # Membership only: the order is the store's (test_placement_store, candidates order).
        assert sorted(got_rps) == [rp for rp in sorted(RPS) if self.fits("nobody", {rp: request})]
        assert list(got["provider_summaries"]) == got_rps


PlacementModel.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestRandomSequencesKeepUsageEqualToAllocationsWithinCapacity = PlacementModel.TestCase
