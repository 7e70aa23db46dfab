"""A host's own resource tracker, for `[scheduler] use_placement = false`.

Without placement nothing claims a host's resources before the build reaches it, so the
compute checks them itself, as pre-Pike Nova's resource tracker did: a build that does not fit
fails with a reschedulable "Insufficient compute resources" error. Every claim and release is
written to the cell DB (the claim row and the node's usage, which moves the compute nodes'
change stamp) so the scheduler sees the new usage and the report can audit it. Builds on one
host run in parallel (the RPC server's workers), hence the lock.
"""

from __future__ import annotations

from altsim import runtime
from altsim.db.cell import CellDatabase
from compute_sim.host import SimulatedHost


class ResourceTracker:
    def __init__(self, host: SimulatedHost, cell_db: CellDatabase) -> None:
        self._node_uuid = host.node_uuid
        self._cell_db = cell_db
        self._capacity = host.capacities()
        self._used = dict.fromkeys(self._capacity, 0)
        self._claims: dict[str, dict[str, int]] = {}
        # A runtime Lock: it is held across a DB write, where a deterministic run may switch.
        self._lock = runtime.Lock()

    def claim(self, instance_uuid: str, resources: dict[str, int]) -> str | None:
        """Take the resources for the instance; None if they fit, else why not (Nova's
        ComputeResourcesUnavailable text)."""
        with self._lock:
            short = [(rc, self._capacity.get(rc, 0) - self._used.get(rc, 0), amount)
                     for rc, amount in resources.items()
                     if self._used.get(rc, 0) + amount > self._capacity.get(rc, 0)]
            if short:
                rc, free, amount = short[0]
                return f"Insufficient compute resources: Free {rc} {free} < requested {amount}."
            for rc, amount in resources.items():
                self._used[rc] = self._used.get(rc, 0) + amount
            self._claims[instance_uuid] = dict(resources)
            self._cell_db.record_resource_claim(self._node_uuid, instance_uuid, resources,
                                                dict(self._used))
        return None

    def release(self, instance_uuid: str) -> bool:
        """Give back what the instance holds here; False if it held nothing. (Its own
        transaction, never a caller's: a caller holding a DB lock while waiting for this
        lock could deadlock with a claim holding this lock while waiting for the DB.)"""
        with self._lock:
            resources = self._claims.pop(instance_uuid, None)
            if resources is None:
                return False
            for rc, amount in resources.items():
                self._used[rc] -= amount
            self._cell_db.record_resource_claim(self._node_uuid, instance_uuid, None,
                                                dict(self._used))
        return True

    def used(self) -> dict[str, int]:
        with self._lock:
            return dict(self._used)
