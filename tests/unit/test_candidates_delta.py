"""Allocation candidates kept current from deltas (placement_sim/candidates_delta.py, the
store's candidates_since and the client's candidates_cache): whatever happens to the
providers between two requests, the client's answer is exactly what a full answer would be,
in process and over HTTP; deltas are only given when they can be right."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator

import pytest
import uvicorn
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from altsim_lab.testing import TokenlessStore
from placement_sim.candidates import AllocationCandidates
from placement_sim.candidates_delta import (
    SINCE_HEADER,
    SINCE_PARAMETER,
    TOKEN_HEADER,
    CandidatesToken,
)
from placement_sim.client import InProcessPlacementClient
from placement_sim.exceptions import PlacementError
from placement_sim.http_app import create_app
from placement_sim.http_client import HttpPlacementClient
from placement_sim.store import CHANGE_LOG_LENGTH, PlacementStore

PROVIDERS = [f"rp-{i}" for i in range(5)]
FLAVORS = [{"VCPU": 1}, {"VCPU": 2, "MEMORY_MB": 512}]
INVENTORY = {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 2048}}


def store_with(providers: list[str], order: str = "hash") -> PlacementStore:
    store = PlacementStore(order)
    for rp in providers:
        store.create_resource_provider(rp, f"host-{rp}")
        store.set_inventories(rp, 0, INVENTORY)
    return store


# -- the store's answers --------------------------------------------------------------------------

def test_a_delta_has_the_changed_providers_only_and_names_the_full_ones():
    store = store_with(PROVIDERS[:3])
    first = store.candidates_since({"VCPU": 1}, None, None)
    assert not first.delta and len(first.allocation_requests) == 3
    # When rp-1 fills up and rp-2 takes one VCPU
    store.put_allocations("c1", {"rp-1": {"resources": {"VCPU": 4}}}, "p", "u", None)
    store.put_allocations("c2", {"rp-2": {"resources": {"VCPU": 1}}}, "p", "u", None)
    delta = store.candidates_since({"VCPU": 1}, None, first.token)
    # Then the delta removes rp-1 and gives rp-2's new summary, and rp-0 is not in it
    assert delta.delta and delta.since == first.token
    assert delta.removed == ["rp-1"]
    assert [list(r["allocations"]) for r in delta.allocation_requests] == [["rp-2"]]
    assert delta.provider_summaries["rp-2"]["resources"]["VCPU"]["used"] == 1
    # and nothing changed since this one: an empty delta
    again = store.candidates_since({"VCPU": 1}, None, delta.token)
    assert again.delta and not again.allocation_requests and not again.removed


@pytest.mark.parametrize("token", [None, "another-store:1", "garbage", "x:"])
def test_an_unknown_token_gets_a_full_answer(token):
    store = store_with(PROVIDERS[:2])
    store.candidates_since({"VCPU": 1}, None, None)
    assert not store.candidates_since({"VCPU": 1}, None, token).delta


def test_no_delta_when_the_limit_could_cut_the_candidates_or_the_log_is_too_short():
    store = store_with(PROVIDERS[:3])
    token = store.candidates_since({"VCPU": 1}, 2, None).token
    assert not store.candidates_since({"VCPU": 1}, 2, token).delta
    assert store.candidates_since({"VCPU": 1}, 3, token).delta
    for _ in range(CHANGE_LOG_LENGTH // 2 + 1):  # two changes each: the log forgets token
        store.put_allocations("c", {"rp-0": {"resources": {"VCPU": 1}}}, "p", "u", None)
        store.delete_allocations("c")
    assert not store.candidates_since({"VCPU": 1}, None, token).delta


def test_a_restarted_placement_is_not_taken_for_the_old_one():
    token = store_with(PROVIDERS[:2]).candidates_since({"VCPU": 1}, None, None).token
    restarted = store_with(PROVIDERS[:2])
    for _ in range(10):  # more changes than the old token's number
        restarted.put_allocations("c", {"rp-0": {"resources": {"VCPU": 1}}}, "p", "u", None)
        restarted.delete_allocations("c")
    assert not restarted.candidates_since({"VCPU": 1}, None, token).delta


def test_a_token_reads_back_as_written_and_orders_the_changes_of_one_placement_only():
    token = CandidatesToken.parse("3f2a:17")
    assert token == CandidatesToken("3f2a", 17) and str(token) == "3f2a:17"
    assert token.later_than(CandidatesToken("3f2a", 16))
    assert not token.later_than(token)
    assert not token.later_than(CandidatesToken("0b1c", 1))  # another (restarted) placement
    assert not token.later_than(None)
    for text in (None, "", "garbage", "x:", "x:1a", "x:-1", "x:\u00b2"):
        assert CandidatesToken.parse(text) is None, text


# -- the client's answers, whatever happens between them -------------------------------------------

class CandidatesFollowTheStore(RuleBasedStateMachine):
    """Any sequence of writes: the client's cached candidates equal a fresh full answer, in
    the store's candidates order (hash here; subclasses for the others)."""

    ORDER = "hash"

    def __init__(self) -> None:
        super().__init__()
        self.store = store_with(PROVIDERS[:3], self.ORDER)
        self.client = InProcessPlacementClient(self.store)
        self.next_consumer = 0

    @rule(rp=st.sampled_from(PROVIDERS), vcpu=st.integers(1, 4))
    def claim(self, rp, vcpu):  # type: ignore[no-untyped-def]
        self.next_consumer += 1
        try:
            self.store.put_allocations(f"c{self.next_consumer}",
                                       {rp: {"resources": {"VCPU": vcpu}}}, "p", "u", None)
        except PlacementError:
            pass  # full, or no such provider: nothing changed

    @rule(consumer=st.integers(1, 30))
    def unclaim(self, consumer):  # type: ignore[no-untyped-def]
        try:
            self.store.delete_allocations(f"c{consumer}")
        except PlacementError:
            pass

    @rule(rp=st.sampled_from(PROVIDERS), total=st.integers(1, 8))
    def resize(self, rp, total):  # type: ignore[no-untyped-def]
        try:
            generation = self.store.get_resource_provider(rp)["generation"]
            self.store.set_inventories(rp, generation, {**INVENTORY, "VCPU": {"total": total}})
        except PlacementError:
            pass

    @rule(rp=st.sampled_from(PROVIDERS))
    def add_or_remove(self, rp):  # type: ignore[no-untyped-def]
        try:
            self.store.get_resource_provider(rp)
        except PlacementError:
            self.store.create_resource_provider(rp, f"host-{rp}")
            self.store.set_inventories(rp, 0, INVENTORY)
            return
        try:
            self.store.delete_resource_provider(rp)
        except PlacementError:
            pass  # in use

    @rule(rp=st.sampled_from(PROVIDERS), name=st.sampled_from(["a", "m", "z"]))
    def rename(self, rp, name):  # type: ignore[no-untyped-def]
        """Moves the provider within name order (a delta cannot: the client asks in full)."""
        try:
            self.store.rename_resource_provider(rp, f"{name}-{rp}")
        except PlacementError:
            pass  # no such provider

    @rule(flavor=st.sampled_from(FLAVORS), first=st.sampled_from(PROVIDERS),
          then=st.sampled_from(PROVIDERS), vcpu=st.integers(1, 2))
    def overtaken(self, flavor, first, then, vcpu):  # type: ignore[no-untyped-def]
        """A request whose answer comes back after another thread's later one was applied
        (a scheduler serves requests in a pool of threads)."""
        def fetch(resources, limit, since):  # type: ignore[no-untyped-def]
            self.claim(first, vcpu)
            self.client.get_allocation_candidates(flavor)  # the other thread's request
            self.claim(then, vcpu)
            return self.store.candidates_since(resources, limit, since)

        got = self.client._candidates.get(flavor, 1000, fetch)
        self.check(got, self.store.allocation_candidates(flavor, 1000))

    @invariant()
    def client_sees_what_a_full_answer_says(self):  # type: ignore[no-untyped-def]
        for flavor in FLAVORS:
            self.check(self.client.get_allocation_candidates(flavor),
                       self.store.allocation_candidates(flavor, 1000))

    @staticmethod
    def check(got: AllocationCandidates, full: dict) -> None:
        assert got == full  # the same candidates, in the same order


class NameOrderFollowsTheStore(CandidatesFollowTheStore):
    ORDER = "name"


class RandomOrderFollowsTheStore(CandidatesFollowTheStore):
    """Each full answer is shuffled: the client's has the same candidates and summaries,
    in the order of its last full answer (order chooses nothing without a limit)."""

    ORDER = "random"

    @staticmethod
    def check(got: AllocationCandidates, full: dict) -> None:
        by_provider = {next(iter(r["allocations"])): r for r in full["allocation_requests"]}
        assert got.requests_by_provider == by_provider
        assert got.provider_summaries == full["provider_summaries"]
        assert list(got.provider_summaries) == list(got.requests_by_provider)


for machine in (CandidatesFollowTheStore, NameOrderFollowsTheStore, RandomOrderFollowsTheStore):
    machine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_candidates_follow_the_store = CandidatesFollowTheStore.TestCase
test_candidates_in_name_order_follow_the_store = NameOrderFollowsTheStore.TestCase
test_candidates_in_random_order_follow_the_store = RandomOrderFollowsTheStore.TestCase


def test_an_answer_overtaken_by_a_later_one_is_applied_without_a_full_fetch():
    store = store_with(PROVIDERS[:3])
    client = InProcessPlacementClient(store)
    flavor = {"VCPU": 1}
    client.get_allocation_candidates(flavor)
    sinces: list[str | None] = []

    def fetch(resources, limit, since):  # type: ignore[no-untyped-def]
        sinces.append(since)
        store.put_allocations("c1", {"rp-0": {"resources": {"VCPU": 1}}}, "p", "u", None)
        client.get_allocation_candidates(flavor)  # another thread's, applied first
        store.put_allocations("c2", {"rp-1": {"resources": {"VCPU": 1}}}, "p", "u", None)
        return store.candidates_since(resources, limit, since)

    got = client._candidates.get(flavor, 1000, fetch)
    assert got == store.allocation_candidates(flavor, 1000)
    assert len(sinces) == 1 and sinces[0] is not None  # one delta, no full answer asked for


def test_the_answer_is_a_frozen_value_that_equals_the_body_and_a_delta_makes_a_new_one():
    store = store_with(PROVIDERS[:3])
    client = InProcessPlacementClient(store)
    first = client.get_allocation_candidates({"VCPU": 1})
    assert isinstance(first, AllocationCandidates) and first.token is not None
    assert first.journal is not None and first.journal.start == first.token.number
    assert first == store.allocation_candidates({"VCPU": 1}, 1000)
    position = [next(iter(r["allocations"])) for r in first["allocation_requests"]].index("rp-1")
    assert first.requests_by_provider["rp-1"] is first["allocation_requests"][position]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.token = None  # type: ignore[misc]
    # When rp-1 fills up, the next answer is a delta applied to a copy
    store.put_allocations("c1", {"rp-1": {"resources": {"VCPU": 4}}}, "p", "u", None)
    second = client.get_allocation_candidates({"VCPU": 1})
    assert second.token is not None and second.token.later_than(first.token)
    assert second.journal is first.journal
    assert second == store.allocation_candidates({"VCPU": 1}, 1000)
    assert "rp-1" not in second.requests_by_provider
    # and the first answer is as it was
    assert "rp-1" in first.requests_by_provider and len(first["allocation_requests"]) == 3


def test_from_a_placement_without_tokens_every_answer_is_in_full_and_has_no_journal():
    # Given a placement that gives no token (a real one)
    store = store_with(PROVIDERS[:3])
    tokenless = TokenlessStore(store)
    client = InProcessPlacementClient(tokenless)  # type: ignore[arg-type]
    first = client.get_allocation_candidates({"VCPU": 1})
    # When rp-1 fills up between two requests
    store.put_allocations("c1", {"rp-1": {"resources": {"VCPU": 4}}}, "p", "u", None)
    second = client.get_allocation_candidates({"VCPU": 1})
    # Then both were asked in full, carry no token nor journal, and say what placement says
    assert tokenless.sinces == [None, None]
    assert (first.token, first.journal, second.token, second.journal) == (None,) * 4
    assert second == store.allocation_candidates({"VCPU": 1}, 1000)
    assert sorted(second.requests_by_provider) == ["rp-0", "rp-2"]


# -- over HTTP ------------------------------------------------------------------------------------

HTTP_PROVIDERS = [str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, rp)) for rp in PROVIDERS]


@pytest.fixture
def placement_url() -> Iterator[tuple[str, PlacementStore]]:
    store = store_with(HTTP_PROVIDERS)
    server = uvicorn.Server(uvicorn.Config(create_app(store, "token"), host="127.0.0.1",
                                           port=0, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.005)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", store
    server.should_exit = True
    thread.join(10)


def test_over_http_the_client_asks_for_deltas_and_gets_the_full_answer(placement_url):
    url, store = placement_url
    client = HttpPlacementClient(url, "token")
    seen: list[tuple[str | None, str | None]] = []
    fetch = client.remote.candidates_since

    def recording(resources, limit, since):  # type: ignore[no-untyped-def]
        answer = fetch(resources, limit, since)
        seen.append((since, answer.since))
        return answer

    client.remote.candidates_since = recording  # type: ignore[method-assign]
    try:
        first = client.get_allocation_candidates({"VCPU": 1})
        assert first == store.allocation_candidates({"VCPU": 1}, 1000)
        assert client.claim_resources(str(uuidlib.uuid4()), first["allocation_requests"][0],
                                      "p", "u")
        assert client.claim_resources(str(uuidlib.uuid4()), {"allocations": {
            HTTP_PROVIDERS[3]: {"resources": {"VCPU": 4}}}}, "p", "u")
        second = client.get_allocation_candidates({"VCPU": 1})
        assert second == store.allocation_candidates({"VCPU": 1}, 1000)
        # The second answer was a delta against the first (one provider full, one changed)
        assert seen[0] == (None, None) and seen[1][0] is not None and seen[1][1] == seen[1][0]
    finally:
        client.close()


def test_a_real_placement_gets_no_since_and_answers_in_full(placement_url):
    url, _ = placement_url
    client = HttpPlacementClient(url, "token")
    try:
        body, headers = client.remote._exchange(
            "GET", "/allocation_candidates", params={"resources": "VCPU:1"}, version="1.12")
        token = headers[TOKEN_HEADER]
        assert SINCE_HEADER not in headers and len(body["allocation_requests"]) == 5
        _, delta_headers = client.remote._exchange(
            "GET", "/allocation_candidates",
            params={"resources": "VCPU:1", SINCE_PARAMETER: token}, version="1.12")
        assert delta_headers[SINCE_HEADER] == token
    finally:
        client.close()


def test_a_journal_answers_what_changed_between_two_of_its_changes_until_it_forgets():
    from placement_sim.candidates import JOURNAL_LENGTH, Journal
    journal = Journal(start=10)
    journal.record(12, ("a",), ())
    journal.record(15, ("b",), ("c",))
    journal.record(17, ("a", "d"), ())
    assert journal.between(10, 17) == ({"a", "b", "d"}, {"c"})
    assert journal.between(12, 15) == ({"b"}, {"c"})
    assert journal.between(15, 15) == (set(), set())
    assert journal.between(13, 17) is None          # not a change it recorded
    assert journal.between(9, 17) is None           # before its start
    # Past twice its length it forgets the oldest half, and answers for what it kept
    for number in range(18, 18 + 2 * JOURNAL_LENGTH):
        journal.record(number, (f"p{number}",), ())
    assert journal.between(12, 17) is None
    last = 17 + 2 * JOURNAL_LENGTH
    assert journal.between(last - 1, last) == ({f"p{last}"}, set())


# -- with a limit that cuts the candidates --------------------------------------------------------

@pytest.mark.parametrize("order", ["hash", "name", "random"])
def test_a_limit_that_cuts_is_answered_in_full_in_every_order(order):
    # Given more providers than the limit, some of them claimed on between two requests
    store = store_with(PROVIDERS, order)
    client = InProcessPlacementClient(store)
    first = client.get_allocation_candidates({"VCPU": 1}, limit=3)
    store.put_allocations("c1", {PROVIDERS[0]: {"resources": {"VCPU": 4}}}, "p", "u", None)
    store.put_allocations("c2", {PROVIDERS[1]: {"resources": {"VCPU": 1}}}, "p", "u", None)
    second = client.get_allocation_candidates({"VCPU": 1}, limit=3)
    # Then each answer has the 3 candidates asked for, summarized, none of them full
    for answer in (first, second):
        assert len(answer["allocation_requests"]) == 3 == len(answer.provider_summaries)
        assert list(answer.provider_summaries) == list(answer.requests_by_provider)
    assert PROVIDERS[0] not in second.requests_by_provider
    # and in a fixed order they are the first 3 of the full answer, as placement's.
    if order != "random":
        assert second == store.allocation_candidates({"VCPU": 1}, 3)
        assert second["allocation_requests"] == store.allocation_candidates(
            {"VCPU": 1})["allocation_requests"][:3]
