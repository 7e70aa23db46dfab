"""Ending a build in ERROR: the last step of every build a conductor gives up on.

Three paths end here: the cell conductor's reschedule when no host is left (or a claim or a
reselect raised), its build-timeout sweep, and the super conductor's burial in cell0. Each ends
the way Nova's conductor does (`set_vm_state_and_notify`): the instance in ERROR with its fault
and, in the same transaction, the events that say why; then the allocations deleted where the
path holds some; then `compute_task.build_instances.error`, which the runner counts.

Where the build may still be running on a compute (a reschedule, a sweep), the state change is
one conditional UPDATE, `... WHERE vm_state = 'building'`: of this step and a late spawn, the
one whose UPDATE commits first decides, and the other writes and sends nothing more (the
compute gives up on its own conditional update). The allocations are deleted only after this
step has won.

`__call__` is the whole step. The burial uses its two halves: it creates the instance in cell0
in the transaction that `record` joins, and maps it in the API DB before `announce`, so that
whoever hears the notification finds the instance where the mapping says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from altsim.db.cell import CellDatabase
from altsim.db.engine import Transaction
from altsim.events import BUILD_INSTANCES_ERROR
from altsim.objects import Fault
from altsim.rpc import Notifier
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementError, PlacementUnavailable

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """An action event recorded with the ERROR, in its transaction."""

    name: str
    result: str
    host: str | None = None
    reason: str | None = None
    details: Any = None


@dataclass(frozen=True)
class FailedBuild:
    """The instance whose build ended, as the notification names it. `cell_uuid` None: a cell
    conductor that does not know its own cell's uuid (the runner keys on the instance)."""

    uuid: str
    name: str
    cell_uuid: str | None


class FailBuild:
    """`placement`: where this path's allocations are deleted once the instance is in ERROR;
    None when the path holds none (or there is no placement)."""

    def __init__(self, cell_db: CellDatabase, notifier: Notifier,
                 placement: PlacementClient | None = None) -> None:
        self._cell_db = cell_db
        self._notifier = notifier
        self._placement = placement

    def __call__(self, ctxt: dict, build: FailedBuild, fault: Fault,
                 events: Sequence[Event] = ()) -> bool:
        """End a build that should still be building; False, with nothing written, deleted
        or sent, if it no longer was (it finished, or another path ended it first)."""
        with self._cell_db.begin() as conn:
            if not self.record(build.uuid, fault, events, conn=conn):
                return False
        self.announce(ctxt, build, fault)
        return True

    def record(self, instance_uuid: str, fault: Fault, events: Sequence[Event] = (),
               conn: Transaction | None = None, only_if_building: bool = True) -> bool:
        """ERROR, its fault and `events`, in `conn` (else a transaction of its own); with
        `only_if_building`, only if the instance still is (False, nothing written, if not)."""
        db = self._cell_db
        with db.joined(conn) as tx:
            if not db.set_error(instance_uuid, fault, conn=tx,
                                expected_vm_state="building" if only_if_building else None):
                return False
            for event in events:
                db.add_event(instance_uuid, event.name, event.result, host=event.host,
                             reason=event.reason, details=event.details, conn=tx)
        return True

    def announce(self, ctxt: dict, build: FailedBuild, fault: Fault) -> None:
        """After the commit: give the allocations back, then tell the runner."""
        self._unclaim(build.uuid)
        self._notifier.error(ctxt, BUILD_INSTANCES_ERROR, {
            "instance_uuid": build.uuid, "name": build.name, "cell_uuid": build.cell_uuid,
            "state": "error", "fault": fault.message})

    def _unclaim(self, instance_uuid: str) -> None:
        if self._placement is None:
            return
        try:
            self._placement.delete_allocation_for_instance(instance_uuid)
        except (PlacementError, PlacementUnavailable) as exc:
            # The instance is ERROR already and must still be notified; what is left is an
            # orphan allocation, which `altsim-manage placement audit` reports.
            LOG.error("Could not delete the allocations of instance %s (in ERROR): %s",
                      instance_uuid, exc)
