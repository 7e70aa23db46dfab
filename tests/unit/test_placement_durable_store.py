"""placement_sim.durable_store and journal: a store reopened from its folder is the store it was,
a torn last record is ignored, a candidates token of before a restart gets a full answer."""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path

import pytest

from placement_sim.durable_answers import DurableAnswers
from placement_sim.durable_store import JournaledStore, StateError
from placement_sim.exceptions import PlacementError
from placement_sim.http_app import create_app
from placement_sim.journal import Journal, frame, read_records
from placement_sim.store import PlacementStore

RP = "11111111-2222-3333-4444-555555555555"
VCPU = {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096, "allocation_ratio": 1.5}}


def populate(store: PlacementStore) -> None:
    """Providers, inventories, allocations, a replaced and a deleted consumer, a deleted
    provider, and writes refused on the way (which must leave no trace)."""
    for name in ("a", "b", "gone"):
        store.create_resource_provider(f"rp-{name}", f"host-{name}")
        store.set_inventories(f"rp-{name}", 0, VCPU)
    store.delete_resource_provider("rp-gone")
    store.put_allocations("c1", {"rp-a": {"resources": {"VCPU": 2}}}, "p", "u", None)
    store.put_allocations("c2", {"rp-b": {"resources": {"VCPU": 1, "MEMORY_MB": 512}}},
                          "p", "u", None)
    store.put_allocations("c2", {"rp-a": {"resources": {"VCPU": 3}}}, "p", "u2", 1)
    store.put_allocations("c3", {"rp-b": {"resources": {"VCPU": 1}}}, "p", "u", None)
    store.delete_allocations("c3")
    for refused in (
        lambda: store.put_allocations("c4", {"rp-a": {"resources": {"VCPU": 99}}},
                                      "p", "u", None),
        lambda: store.put_allocations("c1", {"rp-a": {"resources": {"VCPU": 1}}},
                                      "p", "u", None),
        lambda: store.set_inventories("rp-a", 0, VCPU),
        lambda: store.delete_allocations("c3"),
    ):
        with pytest.raises(PlacementError):
            refused()


def observable(store: PlacementStore) -> dict:
    """What a client can see of the store: its whole state and the candidates."""
    return {"state": store.export_state(),
            "usages": {p["uuid"]: store.get_usages(p["uuid"])
                       for p in store.list_resource_providers()},
            "candidates": store.allocation_candidates({"VCPU": 1})}


def test_reopened_store_equals_the_one_before(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False)
    populate(store)
    before = observable(store)
    store.close()
    reopened = JournaledStore(tmp_path, fsync=False)
    assert observable(reopened) == before
    # Same as the in-memory store given the same writes (refused ones wrote nothing).
    plain = PlacementStore()
    populate(plain)
    assert observable(plain) == before
    # And it goes on from there: generations continue, not restart.
    reopened.put_allocations("c1", {}, "p", "u", 1)
    assert reopened.get_allocations("c1") == {"allocations": {}, "consumer_generation": None}
    assert JournaledStore(tmp_path).get_usages("rp-a") == {"VCPU": 3, "MEMORY_MB": 0}


def test_a_store_that_was_not_closed_loses_nothing(tmp_path: Path):
    # No close(): the records are in the journal as each write returned (kill -9 alike).
    store = JournaledStore(tmp_path, fsync=False)
    populate(store)
    assert observable(JournaledStore(tmp_path)) == observable(store)


def test_snapshots_compact_the_journal_and_reopen_the_same(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False, snapshot_every=1_000_000)
    populate(store)
    assert store.compact()
    store.put_allocations("c9", {"rp-b": {"resources": {"VCPU": 1}}}, "p", "u", None)
    names = sorted(p.name for p in tmp_path.iterdir())
    # The files before the snapshot are gone; the snapshot and its journal remain.
    assert names == ["journal-00000002.log", "snapshot-00000002.json"], names
    assert len(list(read_records(tmp_path / names[0]))) == 1
    assert observable(JournaledStore(tmp_path)) == observable(store)


def test_automatic_snapshots_keep_the_state(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False, snapshot_every=5)
    populate(store)
    for i in range(23):
        store.put_allocations(f"x{i}", {"rp-b": {"resources": {"MEMORY_MB": 1}}},
                              "p", "u", None)
    store.compact()  # waits for a background one under way, if any
    assert len(list(tmp_path.glob("snapshot-*.json"))) == 1
    assert observable(JournaledStore(tmp_path)) == observable(store)


@pytest.mark.parametrize("tear", [
    lambda whole: whole[:-1],                       # the last payload cut short
    lambda whole: whole[:-20],                      # cut at its header
    lambda whole: whole + frame(b"x" * 40)[:5],     # a header half written after it
], ids=["payload", "header", "next-header"])
def test_a_torn_last_record_is_ignored(tmp_path: Path, tear):
    store = JournaledStore(tmp_path, fsync=False)
    populate(store)
    before_last = observable(store)
    store.put_allocations("late", {"rp-b": {"resources": {"VCPU": 1}}}, "p", "u", None)
    after_last = observable(store)
    [journal] = tmp_path.glob("journal-*.log")
    whole = journal.read_bytes()
    journal.write_bytes(tear(whole))
    reopened = JournaledStore(tmp_path, fsync=False)
    # The torn write was never answered; every whole one before it is there.
    torn_last = len(tear(whole)) < len(whole)
    assert observable(reopened) == (before_last if torn_last else after_last)
    # Reopening snapshotted what it recovered: the torn file is gone, writes go on.
    assert not journal.exists()
    reopened.put_allocations("later", {"rp-b": {"resources": {"VCPU": 1}}}, "p", "u", None)
    assert observable(JournaledStore(tmp_path)) == observable(reopened)


def test_a_record_failing_its_checksum_ends_the_journal(tmp_path: Path):
    path = tmp_path / "j.log"
    good, bad = frame(b'["a"]'), bytearray(frame(b'["b"]'))
    bad[-1] ^= 0xFF
    path.write_bytes(good + bytes(bad) + frame(b'["c"]'))
    assert list(read_records(path)) == [b'["a"]']


def test_a_record_that_does_not_replay_is_a_state_error(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False)
    populate(store)
    store.close()
    [journal] = tmp_path.glob("journal-*.log")
    with open(journal, "ab") as file:  # an allocation against a provider that never was
        file.write(frame(json.dumps(["put_allocations", "c5", {"rp-x": {"resources": {
            "VCPU": 1}}}, "p", "u", None]).encode()))
    with pytest.raises(StateError, match=r"journal-\d+\.log: record 12 does not replay"):
        JournaledStore(tmp_path)


def test_a_write_journal_cannot_hold_changes_nothing(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False)
    store.create_resource_provider("rp-a", "a")
    store.set_inventories("rp-a", 0, VCPU)
    with pytest.raises(TypeError):
        store.put_allocations("c1", {"rp-a": {"resources": {"VCPU": 1}, "generation": object()}},
                              "p", "u", None)
    assert store.get_allocations("c1")["consumer_generation"] is None


def test_a_token_from_before_the_restart_gets_a_full_answer(tmp_path: Path):
    store = JournaledStore(tmp_path, fsync=False)
    populate(store)
    token = store.candidates_since({"VCPU": 1}, None, None).token
    store.close()
    reopened = JournaledStore(tmp_path, fsync=False)
    # Same number of changes would make the old token look current to a naive store.
    answer = reopened.candidates_since({"VCPU": 1}, None, token)
    assert not answer.delta
    assert answer.token != token
    assert sorted(answer.provider_summaries) == ["rp-a", "rp-b"]
    # A token of the reopened store itself gets deltas as before.
    reopened.put_allocations("c7", {"rp-b": {"resources": {"VCPU": 1}}}, "p", "u", None)
    delta = reopened.candidates_since({"VCPU": 1}, None, answer.token)
    assert delta.delta and sorted(delta.provider_summaries) == ["rp-b"]


def test_an_unusable_folder_is_a_state_error(tmp_path: Path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StateError, match="file"):
        JournaledStore(tmp_path / "file")


def test_group_commit_syncs_every_append(tmp_path: Path):
    journal = Journal(tmp_path / "j.log", fsync=True)
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(20):
            with lock:
                end = journal.append(f"{n}-{i}".encode())
            journal.sync(end)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert sorted(read_records(tmp_path / "j.log")) == sorted(
        f"{n}-{i}".encode() for n in range(4) for i in range(20))


def test_writes_are_answered_only_once_durable(tmp_path: Path):
    """DurableAnswers over the real app: a write's answer waits for sync(), with the write's
    record appended before it; a read does not wait."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with")
        from fastapi.testclient import TestClient

    store = JournaledStore(tmp_path, sync_each_write=False)
    synced_at: list[int] = []  # the journal's record count at each sync

    def sync() -> None:
        synced_at.append(len(list(read_records(next(tmp_path.glob("journal-*.log"))))))
        store.sync()

    app = create_app(store, None)
    app.add_middleware(DurableAnswers, sync=sync)
    with TestClient(app, headers={"OpenStack-API-Version": "placement 1.36"}) as http:
        assert http.post("/resource_providers", json={
            "uuid": RP, "name": "host"}).status_code == 200
        assert synced_at == [1]
        assert http.get(f"/resource_providers/{RP}").status_code == 200
        assert http.get("/resource_providers").status_code == 200
        assert synced_at == [1]
        assert http.delete(f"/resource_providers/{RP}").status_code == 204
        assert synced_at == [1, 2]
