"""Tests of placement_sim.store: Placement semantics of providers, inventories, allocations."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading

import pytest

from placement_sim.exceptions import (
    CONCURRENT_UPDATE,
    DEFAULT,
    DUPLICATE_NAME,
    INVENTORY_INUSE,
    PROVIDER_IN_USE,
    PlacementError,
)
from placement_sim.store import PlacementStore

RP1, RP2, RP3 = "rp-1", "rp-2", "rp-3"
C1, C2 = "consumer-1", "consumer-2"


@pytest.fixture
def store() -> PlacementStore:
    return PlacementStore()


@pytest.fixture
def frequent_thread_switches():
    """Make the interpreter switch threads very often so that a missing lock shows up as a
    lost update or an over-commit instead of passing by luck."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def make_rp(store: PlacementStore, uuid: str, name: str | None = None, **inventories) -> None:
    store.create_resource_provider(uuid, name or f"name-{uuid}")
    if inventories:
        store.set_inventories(uuid, 0, inventories)


def put(store, consumer, allocs, generation=None, project="p", user="u"):
    """PUT with allocs given as {rp: {rc: amount}}."""
    body = {rp: {"resources": res} for rp, res in allocs.items()}
    store.put_allocations(consumer, body, project, user, generation)


def gen(store, rp):
    return store.get_resource_provider(rp)["generation"]


# -- capacity --


def test_capacity_is_total_minus_reserved_times_allocation_ratio(store):
    make_rp(store, RP1, VCPU={"total": 10, "reserved": 2, "allocation_ratio": 1.5, "max_unit": 16})
    summary = store.allocation_candidates({"VCPU": 1})["provider_summaries"][RP1]
    assert summary["resources"]["VCPU"] == {"capacity": 12, "used": 0}
    put(store, C1, {RP1: {"VCPU": 12}})
    with pytest.raises(PlacementError) as exc:
        put(store, C2, {RP1: {"VCPU": 1}})
    assert exc.value.status == 409


def test_fractional_capacity_is_truncated(store):
    make_rp(store, RP1, VCPU={"total": 3, "allocation_ratio": 1.5, "max_unit": 10})
    put(store, C1, {RP1: {"VCPU": 4}})  # capacity int(4.5) == 4
    with pytest.raises(PlacementError):
        put(store, C2, {RP1: {"VCPU": 1}})


def test_reserved_equal_to_total_is_accepted_and_leaves_no_capacity(store):
    make_rp(store, RP1, VCPU={"total": 4, "reserved": 4})
    assert store.allocation_candidates({"VCPU": 1})["allocation_requests"] == []


def test_inventory_defaults_fill_in_and_max_unit_defaults_to_total(store):
    make_rp(store, RP1, VCPU={"total": 8})
    body = store.get_inventories(RP1)
    assert body == {
        "resource_provider_generation": 1,
        "inventories": {
            "VCPU": {
                "total": 8,
                "reserved": 0,
                "min_unit": 1,
                "max_unit": 8,
                "step_size": 1,
                "allocation_ratio": 1.0,
            }
        },
    }


# -- inventory validation and generations --


@pytest.mark.parametrize(
    "record",
    [
        {"total": 4, "reserved": 5},
        {"total": 8, "min_unit": 4, "max_unit": 2},
        {"total": 0},
        {"total": 4, "step_size": 0},
        {"total": 4, "min_unit": 0},
        {"total": 4, "reserved": -1},
        {"total": 4, "allocation_ratio": -1.0},
        {"total": True},
        {"total": 4.5},
        {"total": 2**31},
        {"total": 4, "colour": "red"},
        {"reserved": 1},
    ],
    ids=lambda r: ",".join(f"{k}={v}" for k, v in r.items()),
)
def test_set_inventories_rejects_bad_values_with_400_and_changes_nothing(store, record):
    make_rp(store, RP1, VCPU={"total": 2})
    with pytest.raises(PlacementError) as exc:
        store.set_inventories(RP1, 1, {"VCPU": {"total": 16}, "MEMORY_MB": record})
    assert exc.value.status == 400
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 2
    assert "MEMORY_MB" not in store.get_inventories(RP1)["inventories"]
    assert gen(store, RP1) == 1


def test_set_inventories_rejects_malformed_resource_class_name(store):
    make_rp(store, RP1)
    with pytest.raises(PlacementError) as exc:
        store.set_inventories(RP1, 0, {"vcpu": {"total": 1}})
    assert exc.value.status == 400


def test_set_inventories_with_stale_generation_is_409_concurrent_update(store):
    make_rp(store, RP1, VCPU={"total": 2})
    with pytest.raises(PlacementError) as exc:
        store.set_inventories(RP1, 0, {"VCPU": {"total": 4}})
    assert (exc.value.status, exc.value.code) == (409, CONCURRENT_UPDATE)
    assert "consumer generation conflict" not in exc.value.detail
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 2


def test_set_inventories_on_unknown_provider_is_404(store):
    with pytest.raises(PlacementError) as exc:
        store.set_inventories(RP1, 0, {"VCPU": {"total": 4}})
    assert exc.value.status == 404


def test_provider_generation_increments_on_every_inventory_and_allocation_change(store):
    store.create_resource_provider(RP1, "one")
    assert gen(store, RP1) == 0
    body = store.set_inventories(RP1, 0, {"VCPU": {"total": 8}})
    assert body["resource_provider_generation"] == 1 == gen(store, RP1)
    put(store, C1, {RP1: {"VCPU": 1}})
    assert gen(store, RP1) == 2
    put(store, C1, {RP1: {"VCPU": 2}}, generation=1)
    assert gen(store, RP1) == 3
    store.delete_allocations(C1)
    assert gen(store, RP1) == 4
    store.set_inventories(RP1, 4, {"VCPU": {"total": 4}})
    assert gen(store, RP1) == 5


def test_moving_a_consumer_bumps_both_source_and_destination_generations(store):
    make_rp(store, RP1, VCPU={"total": 8})
    make_rp(store, RP2, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}})
    put(store, C1, {RP2: {"VCPU": 1}}, generation=1)
    assert (gen(store, RP1), gen(store, RP2)) == (3, 2)


def test_failed_allocation_leaves_generations_untouched(store):
    make_rp(store, RP1, VCPU={"total": 1})
    with pytest.raises(PlacementError):
        put(store, C1, {RP1: {"VCPU": 2}})
    assert gen(store, RP1) == 1


def test_removing_an_inventory_class_in_use_is_409_inventory_inuse(store):
    make_rp(store, RP1, VCPU={"total": 8}, MEMORY_MB={"total": 1024})
    put(store, C1, {RP1: {"VCPU": 1}})
    with pytest.raises(PlacementError) as exc:
        store.set_inventories(RP1, 2, {"MEMORY_MB": {"total": 1024}})
    assert (exc.value.status, exc.value.code) == (409, INVENTORY_INUSE)
    # An unused class can go.
    store.set_inventories(RP1, 2, {"VCPU": {"total": 8}})
    assert store.get_usages(RP1) == {"VCPU": 1}


def test_shrinking_total_below_usage_is_allowed_and_blocks_further_claims(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 6}})
    store.set_inventories(RP1, 2, {"VCPU": {"total": 4}})
    assert store.get_usages(RP1) == {"VCPU": 6}
    with pytest.raises(PlacementError):
        put(store, C2, {RP1: {"VCPU": 1}})
    assert store.allocation_candidates({"VCPU": 1})["allocation_requests"] == []


# -- allocation validation --


@pytest.mark.parametrize(
    ("amount", "ok"),
    [(1, False), (2, True), (3, False), (6, True), (7, False), (8, True), (10, False)],
)
def test_allocation_must_respect_min_unit_max_unit_and_step_size(store, amount, ok):
    make_rp(store, RP1, VCPU={"total": 100, "min_unit": 2, "max_unit": 8, "step_size": 2})
    if ok:
        put(store, C1, {RP1: {"VCPU": amount}})
        assert store.get_usages(RP1) == {"VCPU": amount}
    else:
        with pytest.raises(PlacementError) as exc:
            put(store, C1, {RP1: {"VCPU": amount}})
        # Real placement: InvalidAllocationConstraintsViolated -> 409, default code.
        assert (exc.value.status, exc.value.code) == (409, DEFAULT)
        assert "violate inventory constraints" in exc.value.detail
        assert store.get_usages(RP1) == {"VCPU": 0}


@pytest.mark.parametrize("amount", [0, -1, 1.0, True, "1"])
def test_allocation_amount_must_be_a_positive_integer(store, amount):
    make_rp(store, RP1, VCPU={"total": 8})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": amount}})
    assert exc.value.status == 400


@pytest.mark.parametrize(
    "body",
    [
        {RP1: {}},
        {RP1: {"resources": {}}},
        {RP1: {"resources": {"VCPU": 1}, "extra": 1}},
        {RP1: {"resources": {"vcpu": 1}}},
        {RP1: [("VCPU", 1)]},
    ],
)
def test_malformed_allocation_body_is_400(store, body):
    make_rp(store, RP1, VCPU={"total": 8})
    with pytest.raises(PlacementError) as exc:
        store.put_allocations(C1, body, "p", "u", None)
    assert exc.value.status == 400


def test_per_provider_generation_key_in_body_is_accepted(store):
    make_rp(store, RP1, VCPU={"total": 8})
    store.put_allocations(C1, {RP1: {"resources": {"VCPU": 1}, "generation": 99}}, "p", "u", None)
    assert store.get_usages(RP1) == {"VCPU": 1}


def test_over_capacity_is_409_unable_to_allocate(store):
    make_rp(store, RP1, VCPU={"total": 4})
    put(store, C1, {RP1: {"VCPU": 3}})
    with pytest.raises(PlacementError) as exc:
        put(store, C2, {RP1: {"VCPU": 2}})
    assert (exc.value.status, exc.value.code) == (409, DEFAULT)
    assert exc.value.detail.startswith("Unable to allocate inventory")
    assert "exceed the capacity" in exc.value.detail
    assert store.get_usages(RP1) == {"VCPU": 3}


def test_allocation_is_all_or_nothing_when_second_provider_does_not_fit(store):
    make_rp(store, RP1, VCPU={"total": 8})
    make_rp(store, RP2, DISK_GB={"total": 10})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 2}, RP2: {"DISK_GB": 11}})
    assert exc.value.status == 409
    assert store.get_usages(RP1) == {"VCPU": 0}
    assert store.get_usages(RP2) == {"DISK_GB": 0}
    assert store.get_provider_allocations(RP1) == {}
    assert store.get_allocations(C1) == {"allocations": {}, "consumer_generation": None}
    assert (gen(store, RP1), gen(store, RP2)) == (1, 1)


def test_failed_replacement_keeps_the_previous_allocations(store):
    make_rp(store, RP1, VCPU={"total": 8})
    make_rp(store, RP2, DISK_GB={"total": 10})
    put(store, C1, {RP1: {"VCPU": 2}})
    with pytest.raises(PlacementError):
        put(store, C1, {RP1: {"VCPU": 4}, RP2: {"DISK_GB": 11}}, generation=1)
    body = store.get_allocations(C1)
    assert body["consumer_generation"] == 1
    assert body["allocations"][RP1]["resources"] == {"VCPU": 2}
    assert store.get_usages(RP1) == {"VCPU": 2}


def test_allocation_against_unknown_provider_is_400_and_writes_nothing(store):
    make_rp(store, RP1, VCPU={"total": 8})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 1}, "no-such-rp": {"VCPU": 1}})
    assert exc.value.status == 400
    assert store.get_usages(RP1) == {"VCPU": 0}


def test_allocation_of_class_missing_from_inventory_is_409(store):
    # Real placement: a well-formed class the provider has no inventory of is
    # InvalidInventory -> 409 (only a malformed/unknown class name is a 400).
    make_rp(store, RP1, VCPU={"total": 8})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 1, "DISK_GB": 1}})
    assert (exc.value.status, exc.value.code) == (409, DEFAULT)
    assert store.get_usages(RP1) == {"VCPU": 0}


def test_store_does_not_alias_the_callers_dicts(store):
    make_rp(store, RP1, VCPU={"total": 8})
    resources = {"VCPU": 1}
    store.put_allocations(C1, {RP1: {"resources": resources}}, "p", "u", None)
    resources["VCPU"] = 7
    got = store.get_allocations(C1)["allocations"][RP1]["resources"]
    got["VCPU"] = 5
    assert store.get_allocations(C1)["allocations"][RP1]["resources"] == {"VCPU": 1}
    assert store.get_usages(RP1) == {"VCPU": 1}


# -- consumer generations --


def test_new_consumer_with_null_generation_is_created_at_generation_1(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}}, generation=None, project="proj", user="usr")
    body = store.get_allocations(C1)
    assert body["consumer_generation"] == 1
    assert (body["project_id"], body["user_id"]) == ("proj", "usr")
    assert body["allocations"] == {RP1: {"generation": 2, "resources": {"VCPU": 1}}}


def test_null_generation_for_existing_consumer_is_consumer_generation_conflict(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 2}}, generation=None)
    assert (exc.value.status, exc.value.code) == (409, CONCURRENT_UPDATE)
    assert "consumer generation conflict" in exc.value.detail
    assert store.get_usages(RP1) == {"VCPU": 1}


def test_matching_int_generation_replaces_and_increments(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}})
    put(store, C1, {RP1: {"VCPU": 3}}, generation=1)
    assert store.get_allocations(C1)["consumer_generation"] == 2
    assert store.get_usages(RP1) == {"VCPU": 3}


def test_stale_int_generation_is_consumer_generation_conflict(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}})
    put(store, C1, {RP1: {"VCPU": 2}}, generation=1)
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 3}}, generation=1)
    assert (exc.value.status, exc.value.code) == (409, CONCURRENT_UPDATE)
    assert "consumer generation conflict - expected 2 but got 1" in exc.value.detail
    assert store.get_usages(RP1) == {"VCPU": 2}


def test_int_generation_for_unknown_consumer_is_consumer_generation_conflict(store):
    make_rp(store, RP1, VCPU={"total": 8})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 1}}, generation=0)
    assert exc.value.code == CONCURRENT_UPDATE
    assert "consumer generation conflict - expected null but got 0" in exc.value.detail
    assert store.get_usages(RP1) == {"VCPU": 0}


def test_consumer_generation_is_checked_before_capacity(store):
    make_rp(store, RP1, VCPU={"total": 1})
    put(store, C1, {RP1: {"VCPU": 1}})
    with pytest.raises(PlacementError) as exc:
        put(store, C1, {RP1: {"VCPU": 5}}, generation=7)
    assert exc.value.code == CONCURRENT_UPDATE


# -- replacing and deleting --


def test_replacing_allocations_frees_the_old_amounts(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 6}})
    # 6 + 8 > 8, so this only fits if the consumer's own 6 are released first.
    put(store, C1, {RP1: {"VCPU": 8}}, generation=1)
    assert store.get_usages(RP1) == {"VCPU": 8}
    put(store, C1, {RP1: {"VCPU": 2}}, generation=2)
    assert store.get_usages(RP1) == {"VCPU": 2}
    put(store, C2, {RP1: {"VCPU": 6}})
    assert store.get_provider_allocations(RP1) == {C1: {"VCPU": 2}, C2: {"VCPU": 6}}


def test_moving_allocations_to_another_provider_frees_the_source(store):
    make_rp(store, RP1, VCPU={"total": 4}, MEMORY_MB={"total": 512})
    make_rp(store, RP2, VCPU={"total": 4})
    put(store, C1, {RP1: {"VCPU": 4, "MEMORY_MB": 256}})
    put(store, C1, {RP2: {"VCPU": 4}}, generation=1)
    assert store.get_usages(RP1) == {"VCPU": 0, "MEMORY_MB": 0}
    assert store.get_provider_allocations(RP1) == {}
    assert store.get_usages(RP2) == {"VCPU": 4}


def test_empty_allocations_delete_the_consumer(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 2}})
    store.put_allocations(C1, {}, "p", "u", 1)
    assert store.get_usages(RP1) == {"VCPU": 0}
    assert store.get_allocations(C1) == {"allocations": {}, "consumer_generation": None}
    # The consumer is gone, so the next write must claim it is new again.
    with pytest.raises(PlacementError):
        put(store, C1, {RP1: {"VCPU": 1}}, generation=2)
    put(store, C1, {RP1: {"VCPU": 1}}, generation=None)


def test_empty_allocations_still_check_the_consumer_generation(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 2}})
    with pytest.raises(PlacementError) as exc:
        store.put_allocations(C1, {}, "p", "u", None)
    assert exc.value.code == CONCURRENT_UPDATE
    assert store.get_usages(RP1) == {"VCPU": 2}


def test_delete_allocations_frees_usage_and_then_404s(store):
    make_rp(store, RP1, VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 2}})
    store.delete_allocations(C1)
    assert store.get_usages(RP1) == {"VCPU": 0}
    with pytest.raises(PlacementError) as exc:
        store.delete_allocations(C1)
    assert exc.value.status == 404


def test_get_allocations_of_unknown_consumer_is_empty_not_an_error(store):
    assert store.get_allocations(C1) == {"allocations": {}, "consumer_generation": None}


def test_usages_list_every_inventory_class_with_zero_when_unused(store):
    make_rp(store, RP1, VCPU={"total": 8}, MEMORY_MB={"total": 1024}, DISK_GB={"total": 10})
    put(store, C1, {RP1: {"VCPU": 2, "MEMORY_MB": 512}})
    put(store, C2, {RP1: {"VCPU": 1}})
    assert store.get_usages(RP1) == {"VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 0}
    assert store.get_provider_allocations(RP1) == {
        C1: {"VCPU": 2, "MEMORY_MB": 512},
        C2: {"VCPU": 1},
    }


@pytest.mark.parametrize("method", ["get_usages", "get_provider_allocations", "get_inventories"])
def test_provider_reads_of_unknown_provider_are_404(store, method):
    with pytest.raises(PlacementError) as exc:
        getattr(store, method)("nope")
    assert exc.value.status == 404


# -- resource providers --


def test_create_provider_with_duplicate_uuid_or_name_is_409(store):
    store.create_resource_provider(RP1, "one")
    for uuid, name in [(RP1, "other"), (RP2, "one")]:
        with pytest.raises(PlacementError) as exc:
            store.create_resource_provider(uuid, name)
        assert (exc.value.status, exc.value.code) == (409, DUPLICATE_NAME)
    assert store.list_resource_providers() == [{"uuid": RP1, "name": "one", "generation": 0}]


def test_get_and_list_providers(store):
    store.create_resource_provider(RP2, "b")
    store.create_resource_provider(RP1, "a")
    assert store.get_resource_provider(RP1) == {"uuid": RP1, "name": "a", "generation": 0}
    assert [p["uuid"] for p in store.list_resource_providers()] == [RP2, RP1]
    with pytest.raises(PlacementError) as exc:
        store.get_resource_provider(RP3)
    assert exc.value.status == 404


def test_delete_provider_with_allocations_is_409_then_succeeds_when_empty(store):
    make_rp(store, RP1, "one", VCPU={"total": 8})
    put(store, C1, {RP1: {"VCPU": 1}})
    with pytest.raises(PlacementError) as exc:
        store.delete_resource_provider(RP1)
    assert (exc.value.status, exc.value.code) == (409, PROVIDER_IN_USE)
    store.delete_allocations(C1)
    store.delete_resource_provider(RP1)
    assert store.list_resource_providers() == []
    with pytest.raises(PlacementError) as exc:
        store.delete_resource_provider(RP1)
    assert exc.value.status == 404
    # Name and uuid are free again and the deleted provider is no longer a candidate.
    store.create_resource_provider(RP2, "one")
    assert store.allocation_candidates({"VCPU": 1})["allocation_requests"] == []


# -- allocation candidates --


def _candidate_rps(body):
    return [next(iter(ar["allocations"])) for ar in body["allocation_requests"]]


def test_candidates_only_include_providers_with_enough_free_capacity(store):
    make_rp(store, "full", "a-full", VCPU={"total": 4}, MEMORY_MB={"total": 4096})
    make_rp(store, "roomy", "b-roomy", VCPU={"total": 4}, MEMORY_MB={"total": 4096})
    make_rp(store, "no-mem", "c-no-mem", VCPU={"total": 64})
    make_rp(store, "small-mem", "d-small", VCPU={"total": 4}, MEMORY_MB={"total": 1024})
    make_rp(
        store, "big-unit", "e-unit", VCPU={"total": 8, "max_unit": 1}, MEMORY_MB={"total": 8192}
    )
    make_rp(store, "step", "f-step", VCPU={"total": 8, "step_size": 4}, MEMORY_MB={"total": 8192})
    put(store, C1, {"full": {"VCPU": 3}})
    body = store.allocation_candidates({"VCPU": 2, "MEMORY_MB": 2048})
    assert _candidate_rps(body) == ["roomy"]
    assert body["allocation_requests"] == [
        {"allocations": {"roomy": {"resources": {"VCPU": 2, "MEMORY_MB": 2048}}}}
    ]
    # Exactly filling the remaining capacity still qualifies.
    assert sorted(_candidate_rps(store.allocation_candidates({"VCPU": 1}))) == [
        "big-unit", "full", "no-mem", "roomy", "small-mem"]


def test_candidates_are_ordered_by_provider_name_and_limit_truncates():
    store = PlacementStore("name")
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    for i, name in enumerate(names):
        make_rp(store, f"rp-{i}", name, VCPU={"total": 4})
    body = store.allocation_candidates({"VCPU": 1})
    by_uuid = {p["uuid"]: p["name"] for p in store.list_resource_providers()}
    assert [by_uuid[u] for u in _candidate_rps(body)] == sorted(names)
    limited = store.allocation_candidates({"VCPU": 1}, limit=2)
    assert [by_uuid[u] for u in _candidate_rps(limited)] == ["alpha", "bravo"]
    assert list(limited["provider_summaries"]) == _candidate_rps(limited)


def test_candidate_summaries_cover_every_inventory_class_with_capacity_and_used(store):
    make_rp(
        store,
        RP1,
        VCPU={"total": 8, "allocation_ratio": 2.0, "max_unit": 8},
        MEMORY_MB={"total": 2048, "reserved": 512},
        DISK_GB={"total": 100},
    )
    put(store, C1, {RP1: {"VCPU": 3, "MEMORY_MB": 256}})
    body = store.allocation_candidates({"VCPU": 1})
    assert body["provider_summaries"] == {
        RP1: {
            "resources": {
                "VCPU": {"capacity": 16, "used": 3},
                "MEMORY_MB": {"capacity": 1536, "used": 256},
                "DISK_GB": {"capacity": 100, "used": 0},
            }
        }
    }


def test_name_order_tracks_created_deleted_and_renamed_providers():
    store = PlacementStore("name")
    make_rp(store, RP1, "m", VCPU={"total": 1})
    assert _candidate_rps(store.allocation_candidates({"VCPU": 1})) == [RP1]
    make_rp(store, RP2, "a", VCPU={"total": 1})
    assert _candidate_rps(store.allocation_candidates({"VCPU": 1})) == [RP2, RP1]
    store.rename_resource_provider(RP2, "z")
    assert _candidate_rps(store.allocation_candidates({"VCPU": 1})) == [RP1, RP2]
    store.delete_resource_provider(RP2)
    assert _candidate_rps(store.allocation_candidates({"VCPU": 1})) == [RP1]


# -- candidates order: hash (the default) and random --

HOSTS = [f"host-{i:02d}" for i in range(20)]


def _hosts_store(order: str = "hash", hosts: list[str] = HOSTS) -> PlacementStore:
    store = PlacementStore(order)
    for name in hosts:
        make_rp(store, f"uuid-of-{name}", name, VCPU={"total": 4}, MEMORY_MB={"total": 4096})
    return store


def test_hash_order_is_the_default_follows_no_name_nor_creation_and_differs_by_resources():
    store = _hosts_store()
    assert store.candidates_order == PlacementStore().candidates_order == "hash"
    small = _candidate_rps(store.allocation_candidates({"VCPU": 1, "MEMORY_MB": 512}))
    uuids = [f"uuid-of-{name}" for name in HOSTS]
    assert sorted(small) == uuids
    # Neither the names' order nor the uuids' (nor creation order: the same here)
    assert small not in (uuids, uuids[::-1])
    # and the same order whatever order the providers were created in (as Placement's, for
    # a request: fixed while the providers are the same)
    assert _candidate_rps(_hosts_store(hosts=HOSTS[::-1]).allocation_candidates(
        {"MEMORY_MB": 512, "VCPU": 1})) == small
    # but another for other resources (Placement hashes the requested amounts too).
    large = _candidate_rps(store.allocation_candidates({"VCPU": 2, "MEMORY_MB": 512}))
    assert sorted(large) == uuids and large != small


@pytest.mark.parametrize("order", ["hash", "name"])
@pytest.mark.parametrize("limit", [1, 3, 19, 20, 50])
def test_a_limit_keeps_the_first_candidates_of_the_full_answer(order, limit):
    store = _hosts_store(order)
    put(store, C1, {"uuid-of-host-03": {"VCPU": 4}})  # not a candidate: full
    full = store.allocation_candidates({"VCPU": 1})
    limited = store.allocation_candidates({"VCPU": 1}, limit)
    assert len(_candidate_rps(full)) == 19
    assert limited["allocation_requests"] == full["allocation_requests"][:limit]
    assert list(limited["provider_summaries"]) == _candidate_rps(limited)


def test_hash_order_keeps_its_order_through_claims_creations_deletions_and_renames():
    store = _hosts_store()
    before = _candidate_rps(store.allocation_candidates({"VCPU": 1}))
    put(store, C1, {before[0]: {"VCPU": 4}})          # fills the first: it drops out
    put(store, C2, {before[1]: {"VCPU": 1}})          # the second stays where it was
    store.rename_resource_provider(before[2], "aaa")  # a name does not count
    store.delete_resource_provider(before[3])
    make_rp(store, "a-new-one", "host-99", VCPU={"total": 4})
    after = _candidate_rps(store.allocation_candidates({"VCPU": 1}))
    assert [rp for rp in after if rp != "a-new-one"] == [before[1], before[2], *before[4:]]
    assert "a-new-one" in after


def test_hash_order_is_the_same_in_every_process():
    """Not Python's hash(), which differs from process to process (PYTHONHASHSEED): a run
    must reproduce."""
    script = ("from placement_sim.store import PlacementStore\n"
              "s = PlacementStore()\n"
              "for i in range(8):\n"
              "    s.create_resource_provider(f'rp{i}', f'h{i}')\n"
              "    s.set_inventories(f'rp{i}', 0, {'VCPU': {'total': 1}})\n"
              "print([list(r['allocations'])[0] for r in "
              "s.allocation_candidates({'VCPU': 1})['allocation_requests']])\n")
    orders = {subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                             text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
              for seed in ("1", "2")}
    assert len(orders) == 1, orders


def test_random_order_samples_under_a_limit_and_shuffles_without_one():
    store = _hosts_store("random")
    put(store, C1, {"uuid-of-host-03": {"VCPU": 4}})
    fitting = {f"uuid-of-{name}" for name in HOSTS} - {"uuid-of-host-03"}
    # runtime.rng() is the module's generator outside a deterministic run: seeded here (so
    # the test cannot be unlucky) and given back as it was.
    state = random.getstate()
    random.seed(1234)
    try:
        seen, orders = _sample_answers(store, fitting)
    finally:
        random.setstate(state)
    # Over 30 answers every candidate gets sampled, and the orders are not all one.
    assert seen == fitting and len(orders) > 1


def _sample_answers(store: PlacementStore, fitting: set[str]) -> tuple[set, set]:
    seen: set[str] = set()
    orders: set[tuple[str, ...]] = set()
    for _ in range(30):
        limited = store.allocation_candidates({"VCPU": 1}, 5)
        rps = _candidate_rps(limited)
        # As placement's random.sample: `limit` distinct candidates, summarized alike
        assert len(set(rps)) == 5 and set(rps) <= fitting
        assert list(limited["provider_summaries"]) == rps
        seen.update(rps)
        full = _candidate_rps(store.allocation_candidates({"VCPU": 1}))
        assert sorted(full) == sorted(fitting)
        orders.add(tuple(full))
    return seen, orders


def test_an_unknown_candidates_order_is_refused():
    with pytest.raises(ValueError, match="candidates_order 'uuid'"):
        PlacementStore("uuid")


@pytest.mark.parametrize(
    ("resources", "limit"),
    [({}, None), ({"VCPU": 0}, None), ({"vcpu": 1}, None), ({"VCPU": 1}, 0), ({"VCPU": 1.5}, None)],
)
def test_bad_candidate_queries_are_400(store, resources, limit):
    with pytest.raises(PlacementError) as exc:
        store.allocation_candidates(resources, limit)
    assert exc.value.status == 400


# -- errors --


def test_placement_error_renders_the_real_json_error_body():
    err = PlacementError(409, CONCURRENT_UPDATE, "resource provider generation conflict")
    assert err.to_body() == {
        "errors": [
            {
                "status": 409,
                "code": CONCURRENT_UPDATE,
                "detail": "resource provider generation conflict",
                "title": "Conflict",
            }
        ]
    }
    again = PlacementError.from_body(409, err.to_body())
    assert (again.status, again.code, again.detail) == (err.status, err.code, err.detail)


# -- consistency: concurrency and random sequences --


def _assert_consistent(store: PlacementStore, consumers: list[str]) -> None:
    """Usage == sum of allocations (seen from providers and from consumers) <= capacity."""
    by_consumer: dict[tuple[str, str], int] = {}
    for consumer in consumers:
        for rp, entry in store.get_allocations(consumer)["allocations"].items():
            for rc, amount in entry["resources"].items():
                by_consumer[rp, rc] = by_consumer.get((rp, rc), 0) + amount
    for provider in store.list_resource_providers():
        rp = provider["uuid"]
        usages = store.get_usages(rp)
        by_provider: dict[str, int] = {}
        for resources in store.get_provider_allocations(rp).values():
            for rc, amount in resources.items():
                by_provider[rc] = by_provider.get(rc, 0) + amount
        capacities = {
            rc: int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
            for rc, inv in store.get_inventories(rp)["inventories"].items()
        }
        for rc, used in usages.items():
            assert used == by_provider.get(rc, 0) == by_consumer.get((rp, rc), 0)
            assert used <= capacities[rc]


def test_concurrent_claims_never_overcommit_and_usage_matches_allocations(
    store, frequent_thread_switches
):
    make_rp(store, RP1, VCPU={"total": 500, "max_unit": 1})
    n_threads, per_thread = 8, 200
    successes = [0] * n_threads
    barrier = threading.Barrier(n_threads)

    def worker(idx: int) -> None:
        barrier.wait()
        for j in range(per_thread):
            try:
                put(store, f"c-{idx}-{j}", {RP1: {"VCPU": 1}})
            except PlacementError as exc:
                assert exc.status == 409
            else:
                successes[idx] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(successes) == 500
    assert store.get_usages(RP1) == {"VCPU": 500}
    allocations = store.get_provider_allocations(RP1)
    assert len(allocations) == 500
    assert sum(r["VCPU"] for r in allocations.values()) == 500
    assert gen(store, RP1) == 1 + 500


def test_concurrent_claims_replacements_and_deletes_keep_usage_consistent(
    store, frequent_thread_switches
):
    make_rp(store, RP1, VCPU={"total": 40}, MEMORY_MB={"total": 4000})
    make_rp(store, RP2, VCPU={"total": 40}, MEMORY_MB={"total": 4000})
    consumers = [f"c-{i}" for i in range(30)]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            consumer = rng.choice(consumers)
            try:
                if rng.random() < 0.3:
                    store.delete_allocations(consumer)
                else:
                    current = store.get_allocations(consumer)["consumer_generation"]
                    rp = rng.choice([RP1, RP2])
                    amounts = {"VCPU": rng.randint(1, 8), "MEMORY_MB": rng.randint(1, 800)}
                    put(store, consumer, {rp: amounts}, generation=current)
            except PlacementError as exc:
                assert exc.status in (404, 409)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_consistent(store, consumers)


def test_random_put_delete_sequences_keep_usage_equal_to_allocations():
    """Seeded model check (always runs; the hypothesis version explores further)."""
    rng = random.Random(1234)
    for _ in range(20):
        store = PlacementStore()
        for rp in (RP1, RP2, RP3):
            make_rp(
                store,
                rp,
                VCPU={"total": rng.randint(1, 16), "reserved": rng.randint(0, 1), "max_unit": 16},
                MEMORY_MB={"total": rng.randint(64, 512), "step_size": rng.choice([1, 64])},
            )
        consumers = [f"c{i}" for i in range(6)]
        for _ in range(200):
            consumer = rng.choice(consumers)
            try:
                if rng.random() < 0.25:
                    store.delete_allocations(consumer)
                else:
                    body = {
                        rp: {
                            rng.choice(["VCPU", "MEMORY_MB"]): rng.randint(1, 10)
                            * rng.choice([1, 64])
                        }
                        for rp in rng.sample([RP1, RP2, RP3], rng.randint(1, 3))
                    }
                    current = store.get_allocations(consumer)["consumer_generation"]
                    put(store, consumer, body, generation=current)
            except PlacementError as exc:
                assert exc.status in (404, 409)
            _assert_consistent(store, consumers)


def test_hash_order_is_the_same_when_asked_again_after_many_other_resources():
    # The store keeps the order of a bounded number of resources; one it forgot is rebuilt.
    store = _hosts_store()
    first = _candidate_rps(store.allocation_candidates({"VCPU": 1}))
    for amount in range(1, 100):
        store.allocation_candidates({"MEMORY_MB": amount})
    assert _candidate_rps(store.allocation_candidates({"VCPU": 1})) == first
