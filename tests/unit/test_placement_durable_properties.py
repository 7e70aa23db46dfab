"""Property test of placement_sim.durable_store (needs hypothesis): random writes, reopenings
and snapshots; the journaled store must always equal an in-memory store given the same writes,
however often it was reopened from its folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402

from placement_sim.durable_store import JournaledStore  # noqa: E402
from placement_sim.exceptions import PlacementError  # noqa: E402
from placement_sim.store import PlacementStore  # noqa: E402

RPS = ["rp-a", "rp-b", "rp-c"]
CONSUMERS = ["c0", "c1", "c2", "c3"]
RCS = ["VCPU", "MEMORY_MB"]

inventories = st.dictionaries(st.sampled_from(RCS), st.fixed_dictionaries({
    "total": st.integers(1, 12), "allocation_ratio": st.sampled_from([1.0, 1.5])}),
    min_size=1)
allocations = st.dictionaries(st.sampled_from(RPS), st.fixed_dictionaries({
    "resources": st.dictionaries(st.sampled_from(RCS), st.integers(1, 6), min_size=1)}),
    max_size=2)


class DurableModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="durable-store-"))
        self.store = JournaledStore(self.folder, fsync=False, snapshot_every=7)
        self.model = PlacementStore()

    def both(self, write) -> None:
        """The same write on both: the same outcome (the same error, or none)."""
        outcomes = []
        for store in (self.store, self.model):
            try:
                write(store)
                outcomes.append(None)
            except PlacementError as exc:
                outcomes.append((exc.status, exc.code, str(exc)))
        assert outcomes[0] == outcomes[1]

    @rule(rp=st.sampled_from(RPS))
    def create(self, rp):
        self.both(lambda s: s.create_resource_provider(rp, f"name-{rp}"))

    @rule(rp=st.sampled_from(RPS))
    def delete_provider(self, rp):
        self.both(lambda s: s.delete_resource_provider(rp))

    @rule(rp=st.sampled_from(RPS), stale=st.booleans(), invs=inventories)
    def set_inventories(self, rp, stale, invs):
        def write(s):
            generation = s.get_resource_provider(rp)["generation"] - stale
            s.set_inventories(rp, generation, invs)
        self.both(write)

    @rule(consumer=st.sampled_from(CONSUMERS), request=allocations)
    def put(self, consumer, request):
        def write(s):
            generation = s.get_allocations(consumer)["consumer_generation"]
            s.put_allocations(consumer, request, "p", "u", generation)
        self.both(write)

    @rule(consumer=st.sampled_from(CONSUMERS))
    def delete(self, consumer):
        self.both(lambda s: s.delete_allocations(consumer))

    @rule()
    def reopen(self):
        # close() only waits for a snapshot under way (a kill is in the other tests).
        self.store.close()
        self.store = JournaledStore(self.folder, fsync=False, snapshot_every=7)

    @rule()
    def compact(self):
        self.store.compact()

    @invariant()
    def same_state(self):
        assert self.store.export_state() == self.model.export_state()

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


DurableModel.TestCase.settings = settings(max_examples=30, stateful_step_count=25,
                                          deadline=None)
TestDurableStore = DurableModel.TestCase
