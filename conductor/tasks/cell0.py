"""Burial in cell0: what the super conductor does with instances it could not schedule."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.events import CLAIM_EVENT, CLAIM_LOST, SCHEDULE_EVENT
from altsim.objects import CELL0_UUID, BuildRequest, Fault, Instance, VmState
from altsim.rpc import Notifier
from conductor.tasks.fail_build import Event, FailBuild, FailedBuild

LOG = logging.getLogger(__name__)


class BuryInCell0:
    """Create each instance in cell0 in ERROR with a fault and a failed create action."""

    def __init__(self, api_db: ApiDatabase, cell0_db: CellDatabase, notifier: Notifier) -> None:
        self._api_db = api_db
        self._cell0_db = cell0_db
        # Nothing in placement belongs to cell0; what the scheduler may have claimed for an
        # instance buried here, ScheduleAndBuild deletes after the burial.
        self._fail_build = FailBuild(cell0_db, notifier)

    def __call__(self, ctxt: dict, build_requests: list[BuildRequest], exc: Exception,
                 selection: Sequence[str] = (), lost_claims: Sequence[str] = ()) -> None:
        """`selection` and `lost_claims`, for an instance the scheduler did place but none of
        whose hosts the super conductor could claim (`[scheduler] claim_in = conductor`):
        the scheduler's list, kept on the failed event, and each lost claim as an event."""
        fault = Fault.of(exc)
        events = [Event(CLAIM_EVENT, "failed", host=host, reason=CLAIM_LOST)
                  for host in lost_claims]
        events.append(Event(SCHEDULE_EVENT, "failed", reason=fault.message,
                            details={"selection": list(selection)} if selection else None))
        for build_request in build_requests:
            self._bury_one(ctxt, build_request, fault, events)

    def _bury_one(self, ctxt: dict, build_request: BuildRequest, fault: Fault,
                  events: list[Event]) -> None:
        uuid = build_request.instance_uuid
        instance = Instance(uuid=uuid, name=build_request.name,
                            project_id=build_request.project_id, user_id=build_request.user_id,
                            flavor=build_request.flavor, cell_uuid=CELL0_UUID,
                            vm_state=VmState.ERROR, task_state=None)
        cell0_db = self._cell0_db
        # Created and ended in one transaction: nobody ever sees it in cell0 without its fault.
        with cell0_db.begin() as conn:
            cell0_db.create_instance(instance, conn=conn)
            cell0_db.start_action(uuid, ctxt.get("request_id"), conn=conn)
            self._fail_build.record(uuid, fault, events, conn=conn, only_if_building=False)
        # Mapped before the notification, so whoever hears it finds the instance in cell0.
        self._api_db.map_instance(uuid, CELL0_UUID, delete_build_request=True)
        LOG.warning("Instance %s buried in cell0: %s", uuid, fault.message)
        self._fail_build.announce(ctxt, FailedBuild(uuid, build_request.name, CELL0_UUID), fault)
