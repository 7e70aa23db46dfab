"""A host's own resource tracker: what its instances use, and its failed builds.

As Nova's ResourceTracker, it claims an instance's resources when its build starts and gives
them back when the build fails, and each claim and release writes the node's usage to its
compute node row (`ResourceTracker._update`), which is what the scheduler reads with
`[scheduler] host_view = compute_nodes`. The usage change moves the compute nodes' change
stamp, so the scheduler sees it at its next request.

With placement the scheduler (or a conductor) claimed before the build arrived, so the tracker
only counts (Nova's claim tests NUMA and PCI, never the resources placement checked). Without
placement (`[scheduler] use_placement = false`) nothing claimed before the compute, so the
tracker checks what fits itself, as pre-Pike Nova's did: a build that does not fit fails with a
reschedulable "Insufficient compute resources" error. Its claim rows then stand for
placement's allocations, so a run can be audited.

Failed builds (`[compute_sim] failed_builds_flush = tracker`, Nova's way): the count is kept
here, in memory (`build_failed`, `build_succeeded`), and reaches the row only with the tracker's
next write: the host's next claim or release, or the `update_available_resource` periodic
task. With `immediate` the compute writes the count with each build's outcome itself, and the
tracker never writes it.

Builds on one host run in parallel (the RPC server's workers), hence the lock.
"""

from __future__ import annotations

from altsim import runtime
from altsim.db.cell import CellDatabase
from compute_sim.host import SimulatedHost


class ResourceTracker:
    def __init__(self, host: SimulatedHost, cell_db: CellDatabase, check_fit: bool = True,
                 keeps_failed_builds: bool = True) -> None:
        self._node_uuid = host.node_uuid
        self._cell_db = cell_db
        self._capacity = host.capacities()
        self._check_fit = check_fit
        self._keeps_failed_builds = keeps_failed_builds
        self._used = dict.fromkeys(self._capacity, 0)
        self._claims: dict[str, dict[str, int]] = {}
        self._failed_builds = 0
        # What the compute node row holds as last written here (a registered node: nothing
        # used, no failed build), so the periodic task writes only what changed.
        self._written: tuple[dict[str, int], int] = (dict(self._used), 0)
        # A runtime Lock: it is held across a DB write, where a deterministic run may switch.
        self._lock = runtime.Lock()

    def claim(self, instance_uuid: str, resources: dict[str, int]) -> str | None:
        """Take the resources for the instance; None if they fit (or placement already
        checked them), else why not (Nova's ComputeResourcesUnavailable text)."""
        with self._lock:
            if instance_uuid in self._claims:
                return None  # a build delivered twice: it holds its resources already
            if self._check_fit:
                short = self._shortfall(resources)
                if short is not None:
                    return short
            for rc, amount in resources.items():
                self._used[rc] = self._used.get(rc, 0) + amount
            self._claims[instance_uuid] = dict(resources)
            self._write(instance_uuid, resources)
        return None

    def release(self, instance_uuid: str) -> bool:
        """Give back what the instance holds here (Nova's abort_instance_claim); False if it
        held nothing. (Its own transaction, never a caller's: a caller holding a DB lock while
        waiting for this lock could deadlock with a claim holding this lock while waiting for
        the DB.)"""
        with self._lock:
            resources = self._claims.pop(instance_uuid, None)
            if resources is None:
                return False
            for rc, amount in resources.items():
                self._used[rc] -= amount
            self._write(instance_uuid, None)
        return True

    def build_failed(self) -> None:
        """One more failed build (Nova's ResourceTracker.build_failed): in memory only."""
        with self._lock:
            self._failed_builds += 1

    def build_succeeded(self) -> None:
        """A build succeeded: the count starts again (Nova's build_succeeded), in memory."""
        with self._lock:
            self._failed_builds = 0

    def update_available_resource(self) -> bool:
        """The periodic task's write (Nova's update_available_resource -> _update): the row
        gets the tracker's state if it changed since the tracker last wrote it; True if it
        wrote."""
        with self._lock:
            if self._state() == self._written:
                return False
            self._cell_db.report_node_usage(self._node_uuid, dict(self._used),
                                            self._reported_failed_builds())
            self._written = self._state()
        return True

    def used(self) -> dict[str, int]:
        with self._lock:
            return dict(self._used)

    def _shortfall(self, resources: dict[str, int]) -> str | None:
        for rc, amount in resources.items():
            free = self._capacity.get(rc, 0) - self._used.get(rc, 0)
            if amount > free:
                return f"Insufficient compute resources: Free {rc} {free} < requested {amount}."
        return None

    def _write(self, instance_uuid: str, resources: dict[str, int] | None) -> None:
        """The claim (or its release, None) and the row's usage, in one transaction. Lock
        held."""
        self._cell_db.record_resource_claim(self._node_uuid, instance_uuid, resources,
                                            dict(self._used),
                                            failed_builds=self._reported_failed_builds())
        self._written = self._state()

    def _reported_failed_builds(self) -> int | None:
        """What the row's failed_builds gets from this tracker: None when the compute writes
        it with each outcome instead ([compute_sim] failed_builds_flush = immediate)."""
        return self._failed_builds if self._keeps_failed_builds else None

    def _state(self) -> tuple[dict[str, int], int]:
        return dict(self._used), (self._failed_builds if self._keeps_failed_builds else 0)
