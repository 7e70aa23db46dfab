"""Every host the scheduler knows, as columns kept from request to request.

A scheduling request sees up to 1,000 candidate hosts, and between two requests only the few
that were claimed on, failed a build or sent a heartbeat have changed. The table keeps one row
per compute node, in host-name order (so that a stable sort on weight breaks ties by name, as
Nova does), with the compute node's fields and placement's free resources per class. A request
updates the rows whose placement summary differs from the one seen last and takes a
`TableView` of its candidates: numpy arrays by position, and HostState objects only for the
hosts it hands back. The HostManager serializes the updates; a view owns copies of its data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from altsim.db.cell import ComputeNodeRow
from placement_sim.candidates import AllocationCandidates, Journal
from placement_sim.candidates_delta import CandidatesToken
from scheduler.host_columns import Columns
from scheduler.host_state import HostState

# Candidates journals remembered: the current one of each flavor requests ask for.
JOURNALS = 16


class HostTable:
    """Rows for the compute nodes of every cell, their placement columns filled as seen."""

    def __init__(self, rows_by_cell: Mapping[str, Sequence[ComputeNodeRow]]) -> None:
        entries = sorted(((row, cell) for cell, rows in rows_by_cell.items() for row in rows),
                         key=lambda entry: entry[0].host)
        self.rows = [row for row, _ in entries]
        self.cells = [cell for _, cell in entries]
        self.position = {row.uuid: index for index, row in enumerate(self.rows)}
        self.hosts = [row.host for row in self.rows]
        self.disabled = np.array([row.disabled for row in self.rows], dtype=bool)
        self.failed_builds = np.array([row.failed_builds for row in self.rows], dtype=float)
        self.updated_at = np.array([row.updated_at for row in self.rows], dtype=float)
        self.free: dict[str, np.ndarray] = {}
        self.summaries: list[dict | None] = [None] * len(self.rows)
        # The candidates token each row's summary came with (None: not known).
        self.tokens: list[CandidatesToken | None] = [None] * len(self.rows)
        # Journals of candidates seen lately -> (the journal, the change number of the last
        # of its answers viewed, that answer's positions), for _advance().
        self._journals: dict[int, tuple[Journal, int, np.ndarray]] = {}

    def update_rows(self, rows: Sequence[ComputeNodeRow]) -> list[int]:
        """Take the compute node fields of rows that changed (nodes the table has); returns
        the positions of those rows."""
        changed = []
        for row in rows:
            index = self.position[row.uuid]
            if self.rows[index] != row:
                self.rows[index] = row
                self.disabled[index] = row.disabled
                self.failed_builds[index] = row.failed_builds
                self.updated_at[index] = row.updated_at
                changed.append(index)
        return changed

    def view(self, summaries: Mapping[str, dict],
             candidates: AllocationCandidates | None = None,
             free: Mapping[str, np.ndarray] | None = None) -> TableView:
        """The hosts placement offered that have a compute node, with these summaries.
        `free`: columns in row order to take the free resources from instead of placement's
        (scheduler.node_usage, [scheduler] host_view = compute_nodes).

        `candidates`, the answer they came in: when it has a token and a journal (the
        placement client kept it current from deltas) a request whose candidates share a
        journal with ones this table has already seen looks at the providers that changed
        since alone; otherwise (a real Placement's answer has no token) every summary is
        looked at (an identity check for most)."""
        token = candidates.token if candidates is not None else None
        journal = candidates.journal if candidates is not None else None
        seen = self._journals.get(id(journal)) if journal is not None else None
        positions = None
        if seen is not None and seen[0] is journal and token is not None:
            positions = self._advance(seen, summaries, token)
        if positions is None:
            positions = self._scan(summaries, token)
        if journal is not None and token is not None and (seen is None
                                                           or seen[1] <= token.number):
            self._remember(journal, token.number, positions)
        return TableView(self, positions, free)

    def _scan(self, summaries: Mapping[str, dict],
              token: CandidatesToken | None) -> np.ndarray:
        positions = []
        position, seen = self.position, self.summaries
        for rp_uuid, summary in summaries.items():
            index = position.get(rp_uuid)
            if index is None:
                continue  # a provider without a compute node the scheduler can read
            positions.append(index)
            # The placement client hands out the same summary object while a provider is
            # unchanged (placement_sim/candidates_cache): most hosts cost an identity check.
            known = seen[index]
            if known is not summary and known != summary:
                self._take(index, summary, token)
        positions.sort()
        return np.array(positions, dtype=np.intp)

    def _advance(self, seen: tuple[Journal, int, np.ndarray], summaries: Mapping[str, dict],
                 token: CandidatesToken) -> np.ndarray | None:
        """The positions of the candidates as the journal's last answer this table saw had
        them, less the removed since, with the changed ones' summaries taken (a delta never
        adds a provider: the client asks in full then); None to scan instead (an answer
        older than that one, or a journal that no longer reaches back to it)."""
        journal, number, positions = seen
        if token.number < number:
            return None
        delta = journal.between(number, token.number)
        if delta is None:
            return None
        changed, removed = delta
        position = self.position
        if removed:
            gone = [position[rp] for rp in removed if rp in position]
            positions = positions[~np.isin(positions, gone)]
        for rp_uuid in changed:
            index = position.get(rp_uuid)
            if index is not None:
                self._take(index, summaries[rp_uuid], token)
        return positions

    def _remember(self, journal: Journal, number: int, positions: np.ndarray) -> None:
        # Keyed by identity, holding the journal (so its id cannot be reused meanwhile); a
        # few are enough: one journal per flavor requests ask for.
        self._journals.pop(id(journal), None)
        self._journals[id(journal)] = (journal, number, positions)
        while len(self._journals) > JOURNALS:
            self._journals.pop(next(iter(self._journals)))

    def _take(self, index: int, summary: dict, token: CandidatesToken | None) -> None:
        """Take a provider's summary, unless the table has a later one of it already (a
        slower request's answer must not put older usage over newer)."""
        held = self.tokens[index]
        if held is not None and held.later_than(token):
            return
        self.tokens[index] = token
        self.summaries[index] = summary
        resources = summary["resources"]
        for rc in resources.keys() - self.free.keys():
            self.free[rc] = np.zeros(len(self.rows), dtype=np.int64)
        for rc, column in self.free.items():
            amounts = resources.get(rc)
            column[index] = _clip(amounts["capacity"] - amounts["used"]) if amounts else 0


_INT64 = np.iinfo(np.int64)


def _clip(amount: float) -> int:
    """Free resources as the table holds them: more than 2**63 is as good as infinite (a
    capacity of (total - reserved) * allocation_ratio has no bound in placement)."""
    return int(min(max(amount, _INT64.min), _INT64.max))


class TableView(Columns):
    """The candidate hosts of one request, copied out of the table when it was taken; a
    subset shares its parent's copies and picks from them when asked."""

    def __init__(self, table: HostTable, positions: np.ndarray,
                 free: Mapping[str, np.ndarray] | None = None) -> None:
        self._source = _Snapshot(table, positions)
        self._positions: np.ndarray | None = None  # None: every host of the snapshot, in order
        self.disabled = table.disabled[positions]
        self.updated_at = table.updated_at[positions]
        self.failed_builds = table.failed_builds[positions]
        self._free = {rc: column[positions]
                      for rc, column in (table.free if free is None else free).items()}

    def __len__(self) -> int:
        return len(self.disabled)

    @cached_property
    def hosts(self) -> list[str]:  # type: ignore[override]
        return self._source.pick(self._source.hosts, self._positions)

    @cached_property
    def uuids(self) -> list[str]:  # type: ignore[override]
        return self._source.pick(self._source.uuids, self._positions)

    @cached_property
    def cell_uuids(self) -> list[str]:  # type: ignore[override]
        return self._source.pick(self._source.cells, self._positions)

    def free(self, resource_class: str) -> np.ndarray:
        column = self._free.get(resource_class)
        if column is None:
            column = self._free[resource_class] = np.zeros(len(self), dtype=np.int64)
        return column

    def subset(self, positions: np.ndarray) -> TableView:
        part = TableView.__new__(TableView)
        part._source = self._source
        part._positions = positions if self._positions is None else self._positions[positions]
        part.disabled = self.disabled[positions]
        part.updated_at = self.updated_at[positions]
        part.failed_builds = self.failed_builds[positions]
        part._free = {rc: column[positions] for rc, column in self._free.items()}
        return part

    def consume(self, position: int, resources: Mapping[str, int]) -> None:
        for rc, amount in resources.items():
            self.free(rc)[position] -= amount

    def state(self, position: int) -> HostState:
        index = position if self._positions is None else int(self._positions[position])
        row, resources = self._source.rows[index], self._source.summaries[index]["resources"]
        state = HostState.__new__(HostState)
        state.host, state.nodename, state.uuid = row.host, row.hypervisor_hostname, row.uuid
        state.cell_uuid, state.disabled = self._source.cells[index], bool(row.disabled)
        state.updated_at, state.failed_builds = row.updated_at, row.failed_builds
        state.capacity = {rc: amounts["capacity"] for rc, amounts in resources.items()}
        state.free_resources = {rc: int(self.free(rc)[position]) for rc in resources}
        return state


class _Snapshot:
    """A view's positions in the table, and the table: names and rows are read from it as
    needed (it replaces a row or a summary in place when a later request sees it change, so
    a HostState may be a little newer than its view; names never change)."""

    def __init__(self, table: HostTable, positions: np.ndarray) -> None:
        self.table = table
        self.positions = positions

    @cached_property
    def hosts(self) -> list[str]:
        hosts = self.table.hosts
        return [hosts[i] for i in self.positions]

    @cached_property
    def uuids(self) -> list[str]:
        rows = self.table.rows
        return [rows[i].uuid for i in self.positions]

    @cached_property
    def cells(self) -> list[str]:
        cells = self.table.cells
        return [cells[i] for i in self.positions]

    @property
    def rows(self) -> _Picked:
        return _Picked(self.table.rows, self.positions)

    @property
    def summaries(self) -> _Picked:
        return _Picked(self.table.summaries, self.positions)

    @staticmethod
    def pick(values: list[str], positions: np.ndarray | None) -> list[str]:
        return values if positions is None else [values[i] for i in positions]


class _Picked:
    """values[positions[i]] for position i, without copying."""

    def __init__(self, values: list[Any], positions: np.ndarray) -> None:
        self._values, self._positions = values, positions

    def __getitem__(self, index: int) -> Any:
        return self._values[self._positions[index]]
