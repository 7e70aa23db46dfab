"""Host states: compute nodes from every cell database, with their free resources as the
nodes' own resource trackers report them (Nova's view) or, with `[scheduler] host_view =
placement`, as placement's summaries have them; without placement, from the nodes alone."""

from __future__ import annotations

import json
from collections.abc import Mapping

from altsim import runtime
from altsim.db.cell import CellDatabase, ComputeNodeRow
from placement_sim.candidates import AllocationCandidates
from scheduler.host_state import HostState
from scheduler.host_table import HostTable, TableView
from scheduler.node_rows import CellRows, Changes
from scheduler.node_usage import NodeUsage


class HostManager:
    """Reads the cells' compute nodes (the scheduler is API level and may read every cell DB).

    Each cell's rows are kept (scheduler.node_rows) with the change stamp they were read at;
    when the stamp moved (any change to a compute node: a claim, a failed build, a heartbeat,
    a new node) only the rows that changed are read again, so what the scheduler sees is as
    fresh as reading every row on every request, as Nova's scheduler does.

    With placement the hosts live in a HostTable (scheduler.host_table): a request takes the
    rows whose compute node or placement summary changed since the last one and a view of its
    candidates, so it costs little more than the hosts that changed. Placement decides which
    hosts are candidates; their free resources come from the compute node rows
    (`host_view = compute_nodes`, scheduler.node_usage: Nova's HostState, which a claim in
    placement does not change until the compute's tracker claims too) or from placement's
    summaries (`host_view = placement`, which count every claim at once). Without placement
    each request gets HostState objects, rebuilt only for the rows that changed.
    """

    def __init__(self, cell_dbs: Mapping[str, CellDatabase],
                 host_view: str = "compute_nodes") -> None:
        if host_view not in ("compute_nodes", "placement"):
            raise ValueError(f"host_view: unknown view {host_view!r}")
        self._from_nodes = host_view == "compute_nodes"
        self._cells = {cell_uuid: CellRows(cell_db) for cell_uuid, cell_db in cell_dbs.items()}
        self._rows: dict[str, list[ComputeNodeRow]] = {}
        self._states: dict[str, tuple[ComputeNodeRow, HostState]] = {}
        self._table: HostTable | None = None
        self._usage: NodeUsage | None = None
        # A runtime Lock: a deterministic run may switch threads at the DB reads it guards.
        self._lock = runtime.Lock()

    def _cell_rows(self, cell_uuid: str) -> tuple[list[ComputeNodeRow], Changes | None]:
        """The cell's rows, and what changed since the last read (None: nothing). Lock
        held."""
        changes = self._cells[cell_uuid].read()
        if changes is not None:
            self._rows[cell_uuid] = changes.rows
        return self._rows[cell_uuid], changes

    def get_host_view(self, provider_summaries: Mapping[str, dict],
                      candidates: AllocationCandidates | None = None) -> TableView:
        """The hosts whose provider placement offered, with these summaries, in host-name
        order: a view of the request's own (what it consumes stays in the view).
        `candidates`: the whole answer, whose token and journal (when placement gave a
        token) let HostTable.view look at what changed alone."""
        # One request at a time reads the rows and updates the table, so a slower reader can
        # never put older rows over newer ones.
        with self._lock:
            rows_by_cell, changed = {}, []
            for cell_uuid in self._cells:
                rows_by_cell[cell_uuid], changes = self._cell_rows(cell_uuid)
                if changes is not None:
                    changed.append(changes)
            table = self._table
            if table is None or any(changes.new_nodes for changes in changed):
                table = self._table = HostTable(rows_by_cell)
                self._usage = NodeUsage(table.rows) if self._from_nodes else None
            else:
                for changes in changed:
                    indexes = table.update_rows(changes.changed)
                    if self._usage is not None:
                        self._usage.update(table.rows, indexes)
            usage = self._usage
            return table.view(provider_summaries, candidates,
                              None if usage is None else usage.free)

    def get_node_host_states(self) -> list[HostState]:
        """States of every host whose compute node reports its resources ([scheduler]
        use_placement = false), ordered by host name. They are shared with later requests:
        a request that consumes on one consumes on a copy (HostColumns does)."""
        with self._lock:
            states = [self._state(cell_uuid, row) for cell_uuid in self._cells
                      for row in self._cell_rows(cell_uuid)[0] if row.resources is not None]
        states.sort(key=lambda state: state.host)
        return states

    def _state(self, cell_uuid: str, row: ComputeNodeRow) -> HostState:
        """A host from what its own tracker reports, rebuilt only when its row changed."""
        cached = self._states.get(row.uuid)
        if cached is not None and cached[0] is row:
            return cached[1]
        state = HostState(row.host, row.hypervisor_hostname, row.uuid, cell_uuid,
                          bool(row.disabled), row.updated_at, row.failed_builds,
                          json.loads(row.resources or "{}"),
                          json.loads(row.resources_used or "{}"))
        self._states[row.uuid] = (row, state)
        return state
