"""Burial in cell0: what the super conductor does with instances it could not schedule."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID, BuildRequest, Fault, Instance, VmState
from altsim.rpc import Notifier
from conductor.tasks.claims import CLAIM_EVENT, CLAIM_LOST

LOG = logging.getLogger(__name__)

SCHEDULE_EVENT = "conductor_schedule_and_build_instances"


class BuryInCell0:
    """Create each instance in cell0 in ERROR with a fault and a failed create action."""

    def __init__(self, api_db: ApiDatabase, cell0_db: CellDatabase, notifier: Notifier) -> None:
        self._api_db = api_db
        self._cell0_db = cell0_db
        self._notifier = notifier

    def __call__(self, ctxt: dict, build_requests: list[BuildRequest], exc: Exception,
                 selection: Sequence[str] = (), lost_claims: Sequence[str] = ()) -> None:
        """`selection` and `lost_claims`, for an instance the scheduler did place but none of
        whose hosts the super conductor could claim (`[scheduler] claim_in = conductor`):
        the scheduler's list, kept on the failed event, and each lost claim as an event."""
        fault = Fault(code=500, message=str(exc), details=type(exc).__name__)
        for build_request in build_requests:
            self._bury_one(ctxt, build_request, fault, list(selection), list(lost_claims))

    def _bury_one(self, ctxt: dict, build_request: BuildRequest, fault: Fault,
                  selection: list[str], lost_claims: list[str]) -> None:
        uuid = build_request.instance_uuid
        instance = Instance(uuid=uuid, name=build_request.name,
                            project_id=build_request.project_id, user_id=build_request.user_id,
                            flavor=build_request.flavor, cell_uuid=CELL0_UUID,
                            vm_state=VmState.ERROR, task_state=None)
        cell0_db = self._cell0_db
        with cell0_db.begin() as conn:
            cell0_db.create_instance(instance, conn=conn)
            cell0_db.start_action(uuid, ctxt.get("request_id"), conn=conn)
            for host in lost_claims:
                cell0_db.add_event(uuid, CLAIM_EVENT, result="failed", host=host,
                                   reason=CLAIM_LOST, conn=conn)
            cell0_db.add_event(uuid, SCHEDULE_EVENT, result="failed", reason=fault.message,
                               details={"selection": selection} if selection else None,
                               conn=conn)
            cell0_db.set_error(uuid, fault, conn=conn)
        self._api_db.map_instance(uuid, CELL0_UUID, delete_build_request=True)
        LOG.warning("Instance %s buried in cell0: %s", uuid, fault.message)
        self._notifier.error(ctxt, "compute_task.build_instances.error", {
            "instance_uuid": uuid, "name": build_request.name, "cell_uuid": CELL0_UUID,
            "state": "error", "fault": fault.message})
