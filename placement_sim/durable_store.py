"""A PlacementStore whose state survives a restart, kill -9 included: a journal of its writes
and periodic snapshots in a folder of its own.

Reads stay in memory, as in PlacementStore; each successful write (create, rename or delete
a provider, replace its inventories, traits or aggregates, create a custom resource class or
trait, replace or delete consumers' allocations) is applied in
memory and then appended to the journal as one record, its method's name and arguments as
JSON, before the caller is answered. Writes that fail (a 4xx) change nothing and are not
written. Reopening the folder loads the newest snapshot and replays, in order, the journals
written since: every write replays to the same outcome, as the store is deterministic.

Files: ``snapshot-N.json`` is the whole state (``PlacementStore.export_state``) at the start of
``journal-N.log``. Every ``snapshot_every`` records the journal is closed, ``journal-N+1.log``
started and ``snapshot-N+1.json`` written (to a temporary file, fsync'd, renamed) in a
background thread; files of before N+1 are removed once it is in place. Opening does the same
at once, so a torn record at the end of the last journal (a write cut by a kill, never
answered) is ignored by recovery and then dropped with its file.

Candidates tokens: a reopened store is a new incarnation (PlacementStore draws a new epoch
each time it is built or imports state), so a token from before the restart gets a full
answer rather than a delta counted from another life's change numbers.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from placement_sim.exceptions import PlacementError
from placement_sim.journal import Journal, fsync_directory, read_records
from placement_sim.store import DEFAULT_CANDIDATES_ORDER, PlacementStore

_FILE_RE = re.compile(r"^(snapshot|journal)-(\d{8})\.(json|log)$")
DEFAULT_SNAPSHOT_EVERY = 10_000

# The writes a journal record may name, and the in-memory method that carries each out.
_WRITES: dict[str, Callable[..., Any]] = {
    "create_resource_provider": PlacementStore.create_resource_provider,
    "delete_resource_provider": PlacementStore.delete_resource_provider,
    "set_inventories": PlacementStore.set_inventories,
    "put_allocations": PlacementStore.put_allocations,
    "delete_allocations": PlacementStore.delete_allocations,
    "post_allocations": PlacementStore.post_allocations,
    "create_resource_class": PlacementStore.create_resource_class,
    "create_trait": PlacementStore.create_trait,
    "set_provider_traits": PlacementStore.set_provider_traits,
    "delete_provider_traits": PlacementStore.delete_provider_traits,
    "set_aggregates": PlacementStore.set_aggregates,
    "rename_resource_provider": PlacementStore.rename_resource_provider,
}


class StateError(Exception):
    """The state folder cannot be used: unreadable, or a record that does not replay."""


def _encode(value: Any) -> Any:
    # Callers may pass any Mapping (the store accepts them); JSON knows only dict.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot journal a {type(value).__name__}")


class JournaledStore(PlacementStore):
    """A PlacementStore kept in `folder`. `fsync`: each write is made durable against a
    machine crash (fdatasync), not only against the process dying. `sync_each_write`: each
    write method returns only once its record is durable; False leaves that to the caller
    (`sync()`), as the HTTP server does to answer only then while serving other requests.
    `candidates_order`: as PlacementStore's (a setting, not state: not kept in `folder`)."""

    def __init__(self, folder: Path, *, fsync: bool = True, sync_each_write: bool = True,
                 snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
                 candidates_order: str = DEFAULT_CANDIDATES_ORDER) -> None:
        super().__init__(candidates_order)
        self.folder = Path(folder)
        self._fsync = fsync
        self._sync_each_write = sync_each_write
        self._snapshot_every = snapshot_every
        # Orders journal records as the writes were applied; reads never take it.
        self._write_lock = threading.Lock()
        self._compacting = threading.Lock()
        self._closed = False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = self._recover()
            self._number = number + 1
            self._journal = Journal(self._path("journal", self._number), fsync)
            self._write_snapshot(self._number, self.export_state())
        except OSError as exc:
            raise StateError(f"{self.folder}: {exc.strerror or exc}") from exc

    # -- the writes, journaled --

    def create_resource_provider(self, uuid: str, name: str) -> dict[str, Any]:
        return self._write("create_resource_provider", uuid, name)

    def delete_resource_provider(self, uuid: str) -> None:
        self._write("delete_resource_provider", uuid)

    def set_inventories(self, rp_uuid: str, generation: int,
                        inventories: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        return self._write("set_inventories", rp_uuid, generation, inventories)

    def put_allocations(self, consumer_uuid: str, allocations: Mapping[str, Mapping[str, Any]],
                        project_id: str, user_id: str, consumer_generation: int | None,
                        consumer_type: str | None = None) -> None:
        self._write("put_allocations", consumer_uuid, allocations, project_id, user_id,
                    consumer_generation, consumer_type)

    def post_allocations(self, writes: Mapping[str, Mapping[str, Any]]) -> None:
        self._write("post_allocations", writes)

    def create_resource_class(self, name: str) -> bool:
        return self._write("create_resource_class", name)

    def create_trait(self, name: str) -> bool:
        return self._write("create_trait", name)

    def set_provider_traits(self, rp_uuid: str, generation: int,
                            traits: list[str]) -> dict[str, Any]:
        return self._write("set_provider_traits", rp_uuid, generation, list(traits))

    def delete_provider_traits(self, rp_uuid: str) -> None:
        self._write("delete_provider_traits", rp_uuid)

    def set_aggregates(self, rp_uuid: str, aggregates: list[str],
                       generation: int | None) -> dict[str, Any]:
        return self._write("set_aggregates", rp_uuid, list(aggregates), generation)

    def rename_resource_provider(self, rp_uuid: str, name: str) -> dict[str, Any]:
        return self._write("rename_resource_provider", rp_uuid, name)

    def delete_allocations(self, consumer_uuid: str) -> None:
        self._write("delete_allocations", consumer_uuid)

    # -- durability --

    def sync(self) -> None:
        """Return once every write answered so far is durable (group commit: callers in
        several threads share one fdatasync)."""
        self._journal.sync()

    def compact(self, wait: bool = True) -> bool:
        """Start a new journal and write the snapshot it starts from, then remove the older
        files. False when another compaction was under way and `wait` is false."""
        if not self._compacting.acquire(blocking=wait):
            return False
        try:
            if self._closed:
                return False
            with self._write_lock:
                self._journal.close()  # everything in it is durable before it is superseded
                self._number += 1
                self._journal = Journal(self._path("journal", self._number), self._fsync)
                state = self.export_state()
            self._write_snapshot(self._number, state)
            return True
        finally:
            self._compacting.release()

    def close(self) -> None:
        """Close the journal, once a snapshot under way is written. Writes are refused
        from then on (the journal is closed)."""
        with self._compacting, self._write_lock:
            self._closed = True
            self._journal.close()

    # -- internals --

    def _write(self, op: str, *args: Any) -> Any:
        # Encoded before anything changes, so a value JSON cannot hold changes nothing.
        record = json.dumps([op, *args], default=_encode, separators=(",", ":")).encode()
        with self._write_lock:
            result = _WRITES[op](self, *args)
            journal = self._journal
            journal.append(record)
            due = journal.records >= self._snapshot_every
        if self._sync_each_write:
            journal.sync()
        if due and not self._compacting.locked():
            threading.Thread(target=self.compact, args=(False,), name="placement-snapshot",
                             daemon=True).start()
        return result

    def _path(self, kind: str, number: int) -> Path:
        return self.folder / f"{kind}-{number:08d}.{'json' if kind == 'snapshot' else 'log'}"

    def _files(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"snapshot": [], "journal": []}
        for path in self.folder.iterdir():
            match = _FILE_RE.match(path.name)
            if match:
                found[match[1]].append(int(match[2]))
        return {kind: sorted(numbers) for kind, numbers in found.items()}

    def _recover(self) -> int:
        """Load the newest snapshot and replay the journals from it on; the last number."""
        files = self._files()
        base = files["snapshot"][-1] if files["snapshot"] else 0
        if base:
            path = self._path("snapshot", base)
            try:
                self.import_state(json.loads(path.read_bytes()))
            except (ValueError, KeyError, TypeError, PlacementError) as exc:
                raise StateError(f"{path}: not a placement snapshot ({exc})") from exc
        journals = [n for n in files["journal"] if n >= base]
        for number in journals:
            self._replay(self._path("journal", number))
        return max([base, *journals])

    def _replay(self, path: Path) -> None:
        for index, payload in enumerate(read_records(path)):
            try:
                op, *args = json.loads(payload)
                _WRITES[op](self, *args)
            except (ValueError, KeyError, TypeError, PlacementError) as exc:
                raise StateError(f"{path}: record {index} does not replay ({exc})") from exc

    def _write_snapshot(self, number: int, state: dict[str, Any]) -> None:
        """snapshot-`number` in place, atomically and durably; then every older file gone."""
        path = self._path("snapshot", number)
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(json.dumps(state, separators=(",", ":")).encode())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        fsync_directory(self.folder)
        for kind, numbers in self._files().items():
            for old in numbers:
                if old < number:
                    self._path(kind, old).unlink(missing_ok=True)
        for leftover in self.folder.glob("*.tmp"):
            if leftover != temporary:
                leftover.unlink(missing_ok=True)
