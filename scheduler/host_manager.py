"""Host states: compute nodes from every cell database joined with placement's summaries,
or, without placement, with what each node's own resource tracker reports."""

from __future__ import annotations

import json
from collections.abc import Mapping

from altsim import runtime
from altsim.db.cell import CellDatabase, ComputeNodeRow
from placement_sim.candidates import AllocationCandidates
from scheduler.host_state import HostState
from scheduler.host_table import HostTable, TableView


class HostManager:
    """Reads the cells' compute nodes (the scheduler is API level and may read every cell DB).

    Each cell's rows are kept with the change stamp they were read at and read again only when
    the stamp moved: any change to a compute node (a failed build, a heartbeat, a new node)
    moves it, so what the scheduler sees is as fresh as reading every row on every request.

    With placement the hosts live in a HostTable (scheduler.host_table): a request takes the
    rows whose compute node or placement summary changed since the last one and a view of its
    candidates, so it costs little more than the hosts that changed. Without placement each
    request gets HostState objects, rebuilt only for the rows that changed.
    """

    def __init__(self, cell_dbs: Mapping[str, CellDatabase]) -> None:
        self._cell_dbs = cell_dbs
        self._rows: dict[str, tuple[tuple[int, int], list[ComputeNodeRow]]] = {}
        self._states: dict[str, tuple[ComputeNodeRow, HostState]] = {}
        self._table: HostTable | None = None
        # A runtime Lock: a deterministic run may switch threads at the DB reads it guards.
        self._lock = runtime.Lock()

    def _cell_rows(self, cell_uuid: str,
                   cell_db: CellDatabase) -> tuple[list[ComputeNodeRow], bool]:
        """The cell's rows, and whether they were read anew (the stamp moved). Lock held."""
        cached = self._rows.get(cell_uuid)
        stamp, rows = cell_db.compute_node_rows(unless_stamp=cached[0] if cached else None)
        if rows is None and cached is not None:
            return cached[1], False
        self._rows[cell_uuid] = (stamp, rows or [])
        return rows or [], True

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
            for cell_uuid, cell_db in self._cell_dbs.items():
                rows_by_cell[cell_uuid], fresh = self._cell_rows(cell_uuid, cell_db)
                if fresh:
                    changed.append(cell_uuid)
            table = self._table
            if table is None or (changed and not table.same_nodes(rows_by_cell)):
                table = self._table = HostTable(rows_by_cell)
            else:
                for cell_uuid in changed:
                    table.update_rows(rows_by_cell[cell_uuid])
            return table.view(provider_summaries, candidates)

    def get_node_host_states(self) -> list[HostState]:
        """States of every host whose compute node reports its resources ([scheduler]
        use_placement = false), ordered by host name. They are shared with later requests:
        a request that consumes on one consumes on a copy (HostColumns does)."""
        with self._lock:
            states = [self._state(cell_uuid, row)
                      for cell_uuid, cell_db in self._cell_dbs.items()
                      for row in self._cell_rows(cell_uuid, cell_db)[0]
                      if row.resources is not None]
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
