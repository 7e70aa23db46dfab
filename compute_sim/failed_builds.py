"""How a build's outcome reaches its host's failed_builds count, which the scheduler's
BuildFailureWeigher reads from the compute node row (`[compute_sim] failed_builds_flush`).

Nova (`ComputeManager._build_failed` and `_build_succeeded`) only changes the resource
tracker's in-memory stats once the build is over; the row gets them at the tracker's next
write: the node's next instance claim or abort, or the `update_available_resource` periodic
task. So a host that fails every spawn keeps its clean record for the next request or two.
`FlushedByTracker` does that; `WrittenWithOutcome` (altsim's former behaviour) writes the
count in the transaction that records the outcome, so the very next request sees it.

The compute calls `with_outcome` inside the outcome's transaction and `after_outcome` once the
build is over (its resources given back, its reschedule cast), each only for an outcome it
committed; each way of counting acts in one of the two.
"""

from __future__ import annotations

from typing import Protocol

from altsim.db.cell import CellDatabase
from altsim.db.engine import Transaction
from compute_sim.tracker import ResourceTracker


class FailedBuilds(Protocol):
    def with_outcome(self, failed: bool, conn: Transaction) -> None:
        """In the transaction that records a build's outcome."""
        ...

    def after_outcome(self, failed: bool) -> None:
        """When the build is over (a failed build's resources already given back)."""
        ...


class FlushedByTracker:
    """Nova's way: counted by the tracker, written at its next write ("tracker")."""

    def __init__(self, tracker: ResourceTracker) -> None:
        self._tracker = tracker

    def with_outcome(self, failed: bool, conn: Transaction) -> None:
        pass

    def after_outcome(self, failed: bool) -> None:
        if failed:
            self._tracker.build_failed()
        else:
            self._tracker.build_succeeded()


class WrittenWithOutcome:
    """altsim's former way: written with the outcome ("immediate"); a success on a host
    without failures writes nothing."""

    def __init__(self, cell_db: CellDatabase, node_uuid: str) -> None:
        self._cell_db = cell_db
        self._node_uuid = node_uuid
        self._count = 0

    def with_outcome(self, failed: bool, conn: Transaction) -> None:
        if failed:
            self._count += 1
        elif self._count:
            self._count = 0
        else:
            return
        self._cell_db.record_build_result(self._node_uuid, failed=failed, conn=conn)

    def after_outcome(self, failed: bool) -> None:
        pass
