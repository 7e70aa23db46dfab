"""Tests of placement_sim.client: the in-process PlacementClient and Nova's claim semantics."""

from __future__ import annotations

import pytest

from placement_sim.client import (
    CLAIM_ATTEMPTS,
    InProcessPlacementClient,
    PlacementClient,
    nova_backoff,
)
from placement_sim.exceptions import (
    CONCURRENT_UPDATE,
    DUPLICATE_NAME,
    AllocationUpdateFailed,
    PlacementError,
    PlacementUnavailable,
)
from placement_sim.store import PlacementStore

RP1, RP2 = "rp-1", "rp-2"
C1, C2 = "consumer-1", "consumer-2"
INV = {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 2048}}
RP_CONFLICT = "Inventory and/or allocations changed while attempting to allocate: retry"


def request(rp: str, **resources: int) -> dict:
    return {"allocations": {rp: {"resources": resources}}}


class FlakyStore(PlacementStore):
    """A store whose put_allocations first fails ``failures`` times with ``error``."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.error = error or PlacementError(409, CONCURRENT_UPDATE, RP_CONFLICT)
        self.put_calls = 0

    def put_allocations(self, *args, **kwargs) -> None:
        self.put_calls += 1
        if self.put_calls <= self.failures:
            raise self.error
        super().put_allocations(*args, **kwargs)


@pytest.fixture
def store() -> PlacementStore:
    return PlacementStore()


@pytest.fixture
def client(store) -> InProcessPlacementClient:
    c = InProcessPlacementClient(store, sleep=lambda s: None)
    c.ensure_resource_provider(RP1, "host-1", INV)
    return c


def test_in_process_client_satisfies_the_protocol(store):
    assert isinstance(InProcessPlacementClient(store), PlacementClient)


# -- ensure_resource_provider --


def test_ensure_creates_provider_with_inventories(client, store):
    assert client.list_resource_providers() == [{"uuid": RP1, "name": "host-1", "generation": 1}]
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 4
    assert client.get_usages(RP1) == {"VCPU": 0, "MEMORY_MB": 0}


def test_ensure_is_idempotent_and_keeps_the_generation(client, store):
    client.ensure_resource_provider(RP1, "host-1", INV)
    # Explicit defaults are the same inventory as omitted ones.
    client.ensure_resource_provider(
        RP1,
        "host-1",
        {"VCPU": {"total": 4, "reserved": 0, "max_unit": 4}, "MEMORY_MB": INV["MEMORY_MB"]},
    )
    assert store.get_resource_provider(RP1)["generation"] == 1


def test_ensure_updates_changed_inventories_using_the_current_generation(client, store):
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")  # generation -> 2
    client.ensure_resource_provider(
        RP1, "host-1", {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 2048}}
    )
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 8
    assert store.get_resource_provider(RP1)["generation"] == 3


def test_ensure_with_a_name_taken_by_another_provider_raises(client):
    with pytest.raises(PlacementError) as exc:
        client.ensure_resource_provider(RP2, "host-1", INV)
    assert (exc.value.status, exc.value.code) == (409, DUPLICATE_NAME)


def test_ensure_retries_inventory_update_on_provider_generation_conflict(store):
    class RacyStore(PlacementStore):
        raced = False

        def set_inventories(self, rp_uuid, generation, inventories):
            if not self.raced:
                # Someone else writes between our GET and PUT.
                self.raced = True
                super().set_inventories(rp_uuid, generation, {"VCPU": {"total": 1}})
            return super().set_inventories(rp_uuid, generation, inventories)

    racy = RacyStore()
    InProcessPlacementClient(racy).ensure_resource_provider(RP1, "host-1", INV)
    assert racy.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 4
    assert racy.get_resource_provider(RP1)["generation"] == 2


# -- claim_resources --


def test_claim_returns_true_and_allocations_are_visible(client):
    assert client.claim_resources(C1, request(RP1, VCPU=2, MEMORY_MB=512), "p", "u") is True
    assert client.get_allocations_for_consumer(C1) == {RP1: {"VCPU": 2, "MEMORY_MB": 512}}
    assert client.get_provider_allocations(RP1) == {C1: {"VCPU": 2, "MEMORY_MB": 512}}
    assert client.get_usages(RP1) == {"VCPU": 2, "MEMORY_MB": 512}


def test_claim_returns_false_when_capacity_is_gone(client):
    assert client.claim_resources(C1, request(RP1, VCPU=3), "p", "u")
    assert client.claim_resources(C2, request(RP1, VCPU=2), "p", "u") is False
    assert client.get_allocations_for_consumer(C2) == {}
    assert client.get_usages(RP1)["VCPU"] == 3


@pytest.mark.parametrize(
    "alloc_request",
    [request(RP1, VCPU=5), request("no-such-rp", VCPU=1), request(RP1, DISK_GB=1)],
    ids=["over-max-unit", "unknown-provider", "class-not-in-inventory"],
)
def test_claim_returns_false_on_other_placement_rejections(client, alloc_request):
    assert client.claim_resources(C1, alloc_request, "p", "u") is False


def test_claim_does_not_retry_a_capacity_conflict():
    store = FlakyStore(failures=0)
    client = InProcessPlacementClient(store, sleep=lambda s: None)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=99), "p", "u") is False
    assert store.put_calls == 1


def test_claim_raises_allocation_update_failed_on_consumer_generation_conflict(client):
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    # None says "new consumer", but it already has allocations.
    with pytest.raises(AllocationUpdateFailed) as exc:
        client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")
    assert exc.value.consumer_uuid == C1
    with pytest.raises(AllocationUpdateFailed):
        client.claim_resources(C1, request(RP1, VCPU=2), "p", "u", consumer_generation=7)
    assert client.get_allocations_for_consumer(C1) == {RP1: {"VCPU": 1}}


def test_claim_with_current_consumer_generation_replaces_allocations(client, store):
    client.ensure_resource_provider(RP2, "host-2", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    assert client.claim_resources(C1, request(RP2, VCPU=4), "p", "u", consumer_generation=1)
    assert client.get_allocations_for_consumer(C1) == {RP2: {"VCPU": 4}}
    assert client.get_usages(RP1)["VCPU"] == 0


def test_consumer_generation_conflict_is_not_retried():
    error = PlacementError(409, CONCURRENT_UPDATE, "consumer generation conflict - expected 1")
    store = FlakyStore(failures=10, error=error)
    client = InProcessPlacementClient(store, sleep=lambda s: None)
    with pytest.raises(AllocationUpdateFailed):
        client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    assert store.put_calls == 1


@pytest.mark.parametrize("failures", [1, 2, CLAIM_ATTEMPTS - 1])
def test_claim_retries_provider_generation_conflicts_then_succeeds(failures):
    store = FlakyStore(failures=failures)
    sleeps: list[float] = []
    client = InProcessPlacementClient(store, sleep=sleeps.append, backoff=lambda n: n * 10.0)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is True
    assert store.put_calls == failures + 1
    assert sleeps == [10.0 * n for n in range(1, failures + 1)]
    assert client.get_usages(RP1)["VCPU"] == 1


def test_claim_gives_up_after_exactly_four_attempts_on_provider_generation_conflicts():
    store = FlakyStore(failures=100)
    sleeps: list[float] = []
    client = InProcessPlacementClient(store, sleep=sleeps.append)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert CLAIM_ATTEMPTS == 4
    assert store.put_calls == 4
    assert len(sleeps) == 3
    assert client.get_allocations_for_consumer(C1) == {}


def test_claim_returns_false_when_placement_is_unavailable():
    store = FlakyStore(failures=1, error=PlacementUnavailable("connection refused"))
    client = InProcessPlacementClient(store, sleep=lambda s: None)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert store.put_calls == 1


def test_claim_does_not_modify_or_alias_the_allocation_request(client):
    alloc_request = request(RP1, VCPU=1)
    assert client.claim_resources(C1, alloc_request, "p", "u")
    assert alloc_request == request(RP1, VCPU=1)
    alloc_request["allocations"][RP1]["resources"]["VCPU"] = 4
    assert client.get_usages(RP1)["VCPU"] == 1


def test_nova_backoff_is_jittered_within_twice_the_attempt_number():
    for attempt in range(1, 4):
        for _ in range(50):
            assert 0 <= nova_backoff(attempt) <= 2 * attempt


# -- the rest of the interface --


def test_get_allocation_candidates_returns_the_placement_body_and_honours_limit(client):
    client.ensure_resource_provider(RP2, "host-0", INV)
    body = client.get_allocation_candidates({"VCPU": 1})
    assert [next(iter(a["allocations"])) for a in body["allocation_requests"]] == [RP2, RP1]
    assert body["provider_summaries"][RP1]["resources"]["VCPU"] == {"capacity": 4, "used": 0}
    limited = client.get_allocation_candidates({"VCPU": 1}, limit=1)
    assert len(limited["allocation_requests"]) == 1
    # A candidate's allocation request is directly claimable.
    assert client.claim_resources(C1, body["allocation_requests"][1], "p", "u")
    assert client.get_usages(RP1)["VCPU"] == 1


def test_delete_allocation_for_instance_reports_whether_anything_was_deleted(client):
    assert client.delete_allocation_for_instance(C1) is False
    assert client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")
    assert client.delete_allocation_for_instance(C1) is True
    assert client.get_usages(RP1)["VCPU"] == 0
    assert client.delete_allocation_for_instance(C1) is False
    # Deleted consumers are new again: a claim with the default (None) generation works.
    assert client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")


def test_get_allocations_for_unknown_consumer_is_empty(client):
    assert client.get_allocations_for_consumer("nobody") == {}


def test_provider_reads_for_unknown_provider_raise_404(client):
    for call in (client.get_usages, client.get_provider_allocations):
        with pytest.raises(PlacementError) as exc:
            call("nope")
        assert exc.value.status == 404
