"""The PlacementClient behaviour tests, run against both clients.

``client`` is parametrized over the in-process client and ``HttpPlacementClient`` talking to
a real uvicorn server (127.0.0.1, ephemeral port, one per module) that serves the test's own
store through a proxy, so a test can inject a flaky or racy store for both clients alike.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from placement_sim.candidate_filters import CandidateFilters
from placement_sim.client import (
    CLAIM_ATTEMPTS,
    InProcessPlacementClient,
    PlacementClient,
    nova_backoff,
)
from placement_sim.conf import make_placement_client, register_opts
from placement_sim.exceptions import (
    CONCURRENT_UPDATE,
    DUPLICATE_NAME,
    AllocationUpdateFailed,
    PlacementError,
    PlacementUnavailable,
)
from placement_sim.http_app import create_app
from placement_sim.http_client import HttpPlacementClient
from placement_sim.store import PlacementStore

TOKEN = "test-token"
RP1 = "a1a1a1a1-0000-4000-8000-000000000001"
RP2 = "a1a1a1a1-0000-4000-8000-000000000002"
NO_RP = "a1a1a1a1-0000-4000-8000-00000000dead"
C1 = "c0c0c0c0-0000-4000-8000-000000000001"
C2 = "c0c0c0c0-0000-4000-8000-000000000002"
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


class StoreProxy:
    """What the live server serves: whichever store the current test put in ``target``."""

    def __init__(self) -> None:
        self.target = PlacementStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


@dataclass
class LiveServer:
    proxy: StoreProxy
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    proxy = StoreProxy()
    server = uvicorn.Server(uvicorn.Config(
        create_app(proxy, TOKEN), host="127.0.0.1", port=0, log_config=None,  # type: ignore
        access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="placement-http", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(proxy, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(params=["inprocess", "http"])
def make_client(request):
    """``make_client(store, **kwargs)``: a client of the parametrized kind over ``store``."""
    made: list[HttpPlacementClient] = []

    def make(store: PlacementStore, **kwargs: Any) -> PlacementClient:
        if request.param == "inprocess":
            return InProcessPlacementClient(store, **kwargs)
        live = request.getfixturevalue("live_server")
        live.proxy.target = store
        client = HttpPlacementClient(live.url, TOKEN, timeout=5.0, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def store() -> PlacementStore:
    return PlacementStore()


@pytest.fixture
def client(make_client, store) -> PlacementClient:
    c = make_client(store, sleep=lambda s: None)
    c.ensure_resource_provider(RP1, "host-1", INV)
    return c


def test_client_satisfies_the_protocol(make_client, store):
    assert isinstance(make_client(store), PlacementClient)


# -- ensure_resource_provider --


def test_ensure_creates_provider_with_inventories(client, store):
    assert client.list_resource_providers() == [{"uuid": RP1, "name": "host-1", "generation": 1}]
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["total"] == 4
    assert store.get_inventories(RP1)["inventories"]["VCPU"]["max_unit"] == 4
    assert client.get_usages(RP1) == {"VCPU": 0, "MEMORY_MB": 0}


def test_ensure_is_idempotent_and_keeps_the_generation(client, store):
    client.ensure_resource_provider(RP1, "host-1", INV)
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


def test_ensure_retries_inventory_update_on_provider_generation_conflict(make_client):
    class RacyStore(PlacementStore):
        raced = False

        def set_inventories(self, rp_uuid, generation, inventories):
            if not self.raced:
                self.raced = True
                super().set_inventories(rp_uuid, generation, {"VCPU": {"total": 1}})
            return super().set_inventories(rp_uuid, generation, inventories)

    racy = RacyStore()
    make_client(racy).ensure_resource_provider(RP1, "host-1", INV)
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
    [request(RP1, VCPU=5), request(NO_RP, VCPU=1), request(RP1, DISK_GB=1)],
    ids=["over-max-unit", "unknown-provider", "class-not-in-inventory"],
)
def test_claim_returns_false_on_other_placement_rejections(client, alloc_request):
    assert client.claim_resources(C1, alloc_request, "p", "u") is False


def test_claim_does_not_retry_a_capacity_conflict(make_client):
    store = FlakyStore(failures=0)
    client = make_client(store, sleep=lambda s: None)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=99), "p", "u") is False
    assert store.put_calls == 1


def test_claim_raises_allocation_update_failed_on_consumer_generation_conflict(client):
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    with pytest.raises(AllocationUpdateFailed) as exc:
        client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")
    assert exc.value.consumer_uuid == C1
    assert "consumer generation conflict" in exc.value.detail
    with pytest.raises(AllocationUpdateFailed):
        client.claim_resources(C1, request(RP1, VCPU=2), "p", "u", consumer_generation=7)
    assert client.get_allocations_for_consumer(C1) == {RP1: {"VCPU": 1}}


def test_claim_with_current_consumer_generation_replaces_allocations(client):
    client.ensure_resource_provider(RP2, "host-2", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    assert client.claim_resources(C1, request(RP2, VCPU=4), "p", "u", consumer_generation=1)
    assert client.get_allocations_for_consumer(C1) == {RP2: {"VCPU": 4}}
    assert client.get_usages(RP1)["VCPU"] == 0


def test_consumer_generation_conflict_is_not_retried(make_client):
    error = PlacementError(409, CONCURRENT_UPDATE, "consumer generation conflict - expected 1")
    store = FlakyStore(failures=10, error=error)
    client = make_client(store, sleep=lambda s: None)
    client.ensure_resource_provider(RP1, "host-1", INV)
    with pytest.raises(AllocationUpdateFailed):
        client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    assert store.put_calls == 1


@pytest.mark.parametrize("failures", [1, CLAIM_ATTEMPTS - 1])
def test_claim_retries_provider_generation_conflicts_then_succeeds(make_client, failures):
    store = FlakyStore(failures=failures)
    sleeps: list[float] = []
    client = make_client(store, sleep=sleeps.append, backoff=lambda n: n * 10.0)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is True
    assert store.put_calls == failures + 1
    assert sleeps == [10.0 * n for n in range(1, failures + 1)]
    assert client.get_usages(RP1)["VCPU"] == 1


def test_claim_gives_up_after_exactly_four_attempts_on_provider_generation_conflicts(
        make_client):
    store = FlakyStore(failures=100)
    sleeps: list[float] = []
    client = make_client(store, sleep=sleeps.append)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert store.put_calls == 4
    assert len(sleeps) == 3
    assert client.get_allocations_for_consumer(C1) == {}


def test_claim_returns_false_when_placement_is_unavailable(make_client):
    # Over HTTP the store's exception is a 500, which the client also calls unavailable.
    store = FlakyStore(failures=1, error=PlacementUnavailable("connection refused"))
    client = make_client(store, sleep=lambda s: None)
    client.ensure_resource_provider(RP1, "host-1", INV)
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert store.put_calls == 1


def test_claim_does_not_modify_or_alias_the_allocation_request(client):
    alloc_request = request(RP1, VCPU=1)
    assert client.claim_resources(C1, alloc_request, "p", "u")
    assert alloc_request == request(RP1, VCPU=1)
    alloc_request["allocations"][RP1]["resources"]["VCPU"] = 4
    assert client.get_usages(RP1)["VCPU"] == 1


# -- the rest of the interface --


def test_get_allocation_candidates_returns_the_placement_body_and_honours_limit(client):
    client.ensure_resource_provider(RP2, "host-0", INV)
    body = client.get_allocation_candidates({"VCPU": 1})
    # In the store's order (docs/fidelity.md, Allocation candidate order): compared apart.
    requests = sorted(body["allocation_requests"], key=lambda r: list(r["allocations"]))
    assert requests == sorted([request(RP2, VCPU=1), request(RP1, VCPU=1)],
                              key=lambda r: list(r["allocations"]))
    assert body["provider_summaries"] == {
        rp: {"resources": {"VCPU": {"capacity": 4, "used": 0},
                           "MEMORY_MB": {"capacity": 2048, "used": 0}}}
        for rp in (RP2, RP1)}
    limited = client.get_allocation_candidates({"VCPU": 1}, limit=1)
    assert limited["allocation_requests"] == body["allocation_requests"][:1]
    assert list(limited["provider_summaries"]) == list(body["allocation_requests"][0][
        "allocations"])
    assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u")
    assert client.get_usages(RP1)["VCPU"] == 1


def test_bad_candidates_request_raises_400(client):
    with pytest.raises(PlacementError) as exc:
        client.get_allocation_candidates({"VCPU": 0})
    assert exc.value.status == 400


def test_delete_allocation_for_instance_reports_whether_anything_was_deleted(client):
    assert client.delete_allocation_for_instance(C1) is False
    assert client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")
    assert client.delete_allocation_for_instance(C1) is True
    assert client.get_usages(RP1)["VCPU"] == 0
    assert client.delete_allocation_for_instance(C1) is False
    assert client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")


def test_get_allocations_for_unknown_consumer_is_empty(client):
    assert client.get_allocations_for_consumer(C2) == {}


def test_provider_reads_for_unknown_provider_raise_404(client):
    for call in (client.get_usages, client.get_provider_allocations):
        with pytest.raises(PlacementError) as exc:
            call(NO_RP)
        assert exc.value.status == 404


def test_concurrent_claims_through_one_client_never_overcommit(client):
    results: list[bool] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        consumer = f"c0c0c0c0-0000-4000-8000-{n:012d}"
        ok = client.claim_resources(consumer, request(RP1, VCPU=1), "p", "u")
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False] * 8 + [True] * 4
    assert client.get_usages(RP1)["VCPU"] == 4


# -- HTTP only --


def test_unreachable_placement_fails_claims_and_raises_on_reads():
    sleeps: list[float] = []
    with HttpPlacementClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2.0,
                             sleep=sleeps.append) as client:
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
        assert sleeps == []  # unavailable is not retried, as with Nova's safe_connect
        with pytest.raises(PlacementUnavailable):
            client.get_allocation_candidates({"VCPU": 1})
        with pytest.raises(PlacementUnavailable):
            client.ensure_resource_provider(RP1, "host-1", INV)


def test_with_patience_unavailable_placement_is_tried_again_until_patience_runs_out():
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    with HttpPlacementClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2.0,
                             sleep=sleep, patience_s=0.5) as client:
        # Tried at once and after 0.2 s; the next pause (0.4 s) would end past the patience.
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert sleeps == [0.2]


class AnswerLostStore(PlacementStore):
    """Writes the first claim, then fails its answer (a 500, as if the answer never came)."""

    def __init__(self) -> None:
        super().__init__()
        self.put_calls = 0

    def put_allocations(self, *args, **kwargs) -> None:
        self.put_calls += 1
        super().put_allocations(*args, **kwargs)
        if self.put_calls == 1:
            raise RuntimeError("the answer to this write is lost")


def test_a_claim_sent_again_after_a_lost_answer_counts_its_own_earlier_write(live_server):
    store = AnswerLostStore()
    store.create_resource_provider(RP1, "host-1")
    store.set_inventories(RP1, 0, INV)
    live_server.proxy.target = store
    with HttpPlacementClient(live_server.url, TOKEN, sleep=lambda s: None,
                             patience_s=5.0) as client:
        # The second PUT meets the consumer the first one made (a consumer generation
        # conflict); its allocations are the ones asked for, so the claim is made, once.
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is True
        assert store.put_calls == 2
        assert client.get_allocations_for_consumer(C1) == {RP1: {"VCPU": 1}}
        # A different claim for the same consumer is still a real conflict.
        store.put_calls = 5
        with pytest.raises(AllocationUpdateFailed):
            client.claim_resources(C1, request(RP1, VCPU=2), "p", "u")


def test_without_patience_a_lost_answer_fails_the_claim(live_server):
    store = AnswerLostStore()
    store.create_resource_provider(RP1, "host-1")
    store.set_inventories(RP1, 0, INV)
    live_server.proxy.target = store
    with HttpPlacementClient(live_server.url, TOKEN, sleep=lambda s: None) as client:
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    assert store.put_calls == 1  # (and its write is what `placement audit` would report)


class SlowStore(PlacementStore):
    """A placement that is slow, not gone: each PUT of allocations is answered `delay_s`
    late, and carried out even when its client has stopped waiting (as an overloaded real
    Placement's queued request is)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.put_calls = 0

    def put_allocations(self, *args, **kwargs) -> None:
        self.put_calls += 1
        time.sleep(self.delay_s)
        super().put_allocations(*args, **kwargs)


def test_without_a_timeout_a_slow_placement_is_waited_for_as_nova_does(live_server):
    store = SlowStore(delay_s=0.6)
    store.create_resource_provider(RP1, "host-1")
    store.set_inventories(RP1, 0, INV)
    live_server.proxy.target = store
    with HttpPlacementClient(live_server.url, TOKEN, timeout=None, sleep=lambda s: None,
                             patience_s=0.0) as client:
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is True
    assert store.put_calls == 1


def test_a_claim_timed_out_on_a_slow_placement_is_written_after_it_counted_failed(live_server):
    """Why [placement] timeout waits for the answer by default: given up on, the claim
    fails (the scheduler would move on to the next host), and placement writes it anyway."""
    store = SlowStore(delay_s=0.6)
    store.create_resource_provider(RP1, "host-1")
    store.set_inventories(RP1, 0, INV)
    live_server.proxy.target = store
    with HttpPlacementClient(live_server.url, TOKEN, timeout=0.2, sleep=lambda s: None,
                             patience_s=0.0) as client:
        assert client.claim_resources(C1, request(RP1, VCPU=1), "p", "u") is False
    deadline = time.monotonic() + 5
    while not store.get_allocations(C1)["allocations"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get_allocations(C1)["allocations"], "the timed-out claim was never written"


def test_wrong_token_is_a_401_placement_error(live_server):
    live_server.proxy.target = PlacementStore()
    with HttpPlacementClient(live_server.url, "wrong") as client:
        with pytest.raises(PlacementError) as exc:
            client.list_resource_providers()
    assert exc.value.status == 401


def test_make_placement_client_picks_http_or_in_process(live_server):
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf([])
    shared = PlacementStore()
    in_process = make_placement_client(conf, store_factory=lambda: shared)
    assert type(in_process) is InProcessPlacementClient
    assert type(make_placement_client(conf)) is InProcessPlacementClient
    in_process.ensure_resource_provider(RP1, "host-1", INV)
    assert shared.get_resource_provider(RP1)["name"] == "host-1"

    live_server.proxy.target = shared
    conf.set_override("endpoint_url", live_server.url + "/", group="placement")
    conf.set_override("auth_token", TOKEN, group="placement")
    conf.set_override("timeout", 3.0, group="placement")
    http = make_placement_client(conf)
    try:
        assert isinstance(http, HttpPlacementClient)
        assert http.endpoint_url == live_server.url
        assert http.list_resource_providers() == [
            {"uuid": RP1, "name": "host-1", "generation": 1}]
    finally:
        http.close()


def test_nova_backoff_is_jittered_within_twice_the_attempt_number():
    for attempt in range(1, 4):
        for _ in range(50):
            assert 0 <= nova_backoff(attempt) <= 2 * attempt


# -- traits and aggregates (what a compute sets at registration) --

def test_set_provider_traits_creates_custom_ones_and_is_idempotent(client, store):
    client.set_provider_traits(RP1, ["CUSTOM_FAST_NIC", "HW_CPU_X86_AVX2"])
    shown = store.get_provider_traits(RP1)
    assert shown["traits"] == ["CUSTOM_FAST_NIC", "HW_CPU_X86_AVX2"]
    assert store.trait_exists("CUSTOM_FAST_NIC")
    # Nothing differs: nothing is written, the generation stays
    client.set_provider_traits(RP1, ["HW_CPU_X86_AVX2", "CUSTOM_FAST_NIC"])
    assert store.get_provider_traits(RP1) == shown


def test_set_provider_aggregates_is_idempotent(client, store):
    aggs = ["0b0b0b0b-0000-4000-8000-000000000002", "0b0b0b0b-0000-4000-8000-000000000001"]
    client.set_provider_aggregates(RP1, aggs)
    shown = store.get_aggregates(RP1)
    assert shown["aggregates"] == sorted(aggs)
    client.set_provider_aggregates(RP1, aggs)
    assert store.get_aggregates(RP1) == shown


@pytest.mark.parametrize("what", ["traits", "aggregates"])
def test_a_provider_generation_bumped_meanwhile_is_read_again(client, store, monkeypatch, what):
    """Another write (an allocation) bumps the provider's generation between the client's
    read and its write: the write conflicts, the client reads again and writes once more."""
    client.ensure_resource_provider(RP1, "host-1", INV)
    agg = "0b0b0b0b-0000-4000-8000-000000000003"
    method = "set_provider_traits" if what == "traits" else "set_aggregates"
    original = getattr(store, method)
    writes: list[int] = []

    def bumped_first(*args, **kwargs):
        if not writes:
            store.put_allocations(C1, {RP1: {"resources": {"VCPU": 1}}}, "project", "user",
                                  None)
        writes.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, method, bumped_first)
    if what == "traits":
        client.set_provider_traits(RP1, ["CUSTOM_FAST_NIC"])
        assert store.get_provider_traits(RP1)["traits"] == ["CUSTOM_FAST_NIC"]
    else:
        client.set_provider_aggregates(RP1, [agg])
        assert store.get_aggregates(RP1)["aggregates"] == [agg]
    assert len(writes) == 2


def test_filtered_candidates_from_both_clients(client, store):
    """required, forbidden and forbidden aggregates reach placement over either client (over
    HTTP at 1.32, the summaries projected onto the store's shape)."""
    other = "a1a1a1a1-0000-4000-8000-000000000003"
    agg = "0b0b0b0b-0000-4000-8000-000000000009"
    client.ensure_resource_provider(RP2, "host-2", INV)
    client.ensure_resource_provider(other, "host-3", INV)
    client.set_provider_traits(RP1, ["CUSTOM_X"])
    client.set_provider_traits(RP2, ["CUSTOM_X"])
    client.set_provider_aggregates(RP2, [agg])

    def providers(**filters) -> dict:
        answer = client.get_allocation_candidates({"VCPU": 1}, filters=CandidateFilters(
            **{k: frozenset(v) for k, v in filters.items()}))
        return answer.provider_summaries

    assert set(providers(required={"CUSTOM_X"})) == {RP1, RP2}
    assert set(providers(forbidden={"CUSTOM_X"})) == {other}
    only = providers(required={"CUSTOM_X"}, forbidden_aggregates={agg})
    assert set(only) == {RP1}
    assert only[RP1] == store.allocation_candidates(
        {"VCPU": 1}, filters=CandidateFilters(required=frozenset({"CUSTOM_X"})))[
            "provider_summaries"][RP1]
    # Unfiltered, every provider, as before
    assert set(client.get_allocation_candidates({"VCPU": 1}).provider_summaries) == {
        RP1, RP2, other}
