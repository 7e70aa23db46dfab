"""Heartbeats: one thread keeps every simulated host of a process marked up in its cell DB."""

from __future__ import annotations

import logging

from altsim import runtime
from altsim.db.cell import CellDatabase

LOG = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, cell_db: CellDatabase, node_uuids: list[str], interval_s: float) -> None:
        self._cell_db = cell_db
        self._node_uuids = list(node_uuids)
        self._interval_s = interval_s
        # Runtime primitives: a deterministic run's heartbeat beats in simulated time.
        self._stopped = runtime.Event()
        self._thread = runtime.Thread(target=self._run, name="compute-heartbeat")

    @property
    def node_uuids(self) -> tuple[str, ...]:
        """The nodes each beat marks up."""
        return tuple(self._node_uuids)

    def add(self, node_uuid: str) -> None:
        """One more host to keep up (added at run time): a new list, so a beat under way
        keeps the one it took."""
        self._node_uuids = [*self._node_uuids, node_uuid]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._cell_db.heartbeat(self._node_uuids)
            except Exception:  # noqa: BLE001 - a missed beat must not kill the thread
                LOG.exception("Heartbeat of %d hosts failed", len(self._node_uuids))
