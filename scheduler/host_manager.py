"""Host states: compute nodes from every cell database joined with placement's summaries,
or, without placement, with what each node's own resource tracker reports."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

from altsim.db.cell import CellDatabase
from scheduler.host_state import HostState


class HostManager:
    """Reads the cells' compute nodes (the scheduler is API level and may read every cell DB).

    Each cell's rows are kept with the change stamp they were read at and read again only when
    the stamp moved: any change to a compute node (a failed build, a heartbeat, a new node)
    moves it, so the states are as fresh as reading every row on every request.

    A host's state is rebuilt only when its row or its placement summary changed (placement
    hands out the same summary object until the provider changes); otherwise the last one is
    handed out again, so a request costs little more than the hosts that changed since the last.
    """

    def __init__(self, cell_dbs: Mapping[str, CellDatabase]) -> None:
        self._cell_dbs = cell_dbs
        self._rows: dict[str, tuple[tuple[int, int], list[tuple]]] = {}
        self._states: dict[str, tuple[tuple, dict, HostState]] = {}
        self._lock = threading.Lock()

    def _cell_rows(self, cell_uuid: str, cell_db: CellDatabase) -> list[tuple]:
        cached = self._rows.get(cell_uuid)
        stamp, rows = cell_db.compute_node_rows(unless_stamp=cached[0] if cached else None)
        if rows is None and cached is not None:
            return cached[1]
        with self._lock:
            self._rows[cell_uuid] = (stamp, rows or [])
        return rows or []

    def get_host_states(self, provider_summaries: Mapping[str, dict]) -> list[HostState]:
        """States of the hosts whose provider placement offered, ordered by host name.

        The states are shared with later requests: a caller that consumes resources on one
        must consume on a `copy()`.
        """
        states = []
        for cell_uuid, cell_db in self._cell_dbs.items():
            for row in self._cell_rows(cell_uuid, cell_db):
                summary = provider_summaries.get(row[0])
                if summary is not None:
                    states.append(self._state(cell_uuid, row, summary))
        states.sort(key=lambda state: state.host)
        return states

    def get_node_host_states(self) -> list[HostState]:
        """States of every host whose compute node reports its resources ([scheduler]
        use_placement = false), ordered by host name; shared like get_host_states'."""
        states = []
        for cell_uuid, cell_db in self._cell_dbs.items():
            for row in self._cell_rows(cell_uuid, cell_db):
                if row[6] is not None:
                    states.append(self._state(cell_uuid, row, None))
        states.sort(key=lambda state: state.host)
        return states

    def _state(self, cell_uuid: str, row: tuple, summary: dict | None) -> HostState:
        uuid, host, nodename, disabled, failed_builds, updated_at, capacity, used = row
        cached = self._states.get(uuid)
        if cached is not None and cached[0] is row and cached[1] is summary:
            return cached[2]
        if summary is not None:
            state = HostState.from_summary(host, nodename, uuid, cell_uuid, bool(disabled),
                                           updated_at, failed_builds, summary["resources"])
        else:
            state = HostState(host, nodename, uuid, cell_uuid, bool(disabled), updated_at,
                              failed_builds, json.loads(capacity), json.loads(used or "{}"))
        self._states[uuid] = (row, summary, state)
        return state
