"""Host states: compute nodes from every cell database joined with placement's summaries."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from altsim.db.cell import CellDatabase
from scheduler.host_state import HostState


class HostManager:
    """Reads the cells' compute nodes (the scheduler is API level and may read every cell DB).

    Each cell's rows are kept with the change stamp they were read at and read again only when
    the stamp moved: any change to a compute node (a failed build, a heartbeat, a new node)
    moves it, so the states are as fresh as reading every row on every request.
    """

    def __init__(self, cell_dbs: Mapping[str, CellDatabase]) -> None:
        self._cell_dbs = cell_dbs
        self._rows: dict[str, tuple[tuple[int, int], list[tuple]]] = {}
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
        """States of the hosts whose provider placement offered, ordered by host name."""
        states = []
        for cell_uuid, cell_db in self._cell_dbs.items():
            for uuid, host, nodename, disabled, failed_builds, updated_at in self._cell_rows(
                    cell_uuid, cell_db):
                summary = provider_summaries.get(uuid)
                if summary is not None:
                    states.append(HostState.from_summary(
                        host, nodename, uuid, cell_uuid, bool(disabled), updated_at,
                        failed_builds, summary["resources"]))
        states.sort(key=lambda state: state.host)
        return states
