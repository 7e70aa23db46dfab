"""The build-timeout sweep: builds still in BUILD past `[conductor] build_timeout` go to ERROR.

A cell conductor runs it periodically over its own cell DB (altsim.periodic). Each instance
building since before the cutoff is ended as any failed build is: ERROR with a fault (Nova's
BuildAbortException text with the reason "Instance build timed out"), a
`conductor_build_timeout` event on its create action, its placement allocations deleted and
`compute_task.build_instances.error` notified, which is what the runner counts.

A build may finish while the sweep looks at it. The state change is one conditional UPDATE
(`... WHERE vm_state = 'building'`, conductor.tasks.fail_build): if the compute's ACTIVE (or its
own failure) committed first, no row changes and the sweep does nothing else for that instance;
if the sweep committed first, the compute's own conditional update finds the instance in ERROR
and gives up (compute_sim.manager). The allocations are deleted only after the sweep has won.

Nova's counterpart is each compute's `_check_instance_build_time`, for the instances on its
host, without fault, cleanup or notification (docs/fidelity.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from oslo_context import context as oslo_context

from altsim import rpc, runtime
from altsim.db.cell import CellDatabase, StuckBuild
from altsim.events import TIMEOUT_EVENT
from altsim.exceptions import BuildTimedOut
from altsim.objects import Fault
from altsim.rpc import Notifier
from conductor.tasks.fail_build import Event, FailBuild, FailedBuild
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementError, PlacementUnavailable

LOG = logging.getLogger(__name__)

TIMEOUT_RESULT = "timed_out"


class BuildTimeout:
    """`placement` None: no placement ([scheduler] use_placement = false); the host is then
    the one whose tracker holds the instance, and there are no allocations to delete.
    `cell_uuid` goes into the notification only: a cell conductor has no API DB, so it may
    not know its own cell's uuid (None then; the runner keys on the instance uuid)."""

    def __init__(self, cell_db: CellDatabase, placement: PlacementClient | None,
                 notifier: Notifier, timeout_s: float, cell_uuid: str | None = None,
                 clock: Callable[[], float] = runtime.time) -> None:
        if timeout_s <= 0:
            raise ValueError("a build timeout must be positive (0 disables the sweep)")
        self._cell_db = cell_db
        self._placement = placement
        self._fail_build = FailBuild(cell_db, notifier, placement)
        self._timeout_s = timeout_s
        self._cell_uuid = cell_uuid
        self._clock = clock

    def __call__(self) -> list[str]:
        """One sweep; returns the uuids of the instances it timed out."""
        now = self._clock()
        timed_out = []
        for build in self._cell_db.list_stuck_builds(now - self._timeout_s):
            if self._time_out(build, now):
                timed_out.append(build.uuid)
        return timed_out

    def _time_out(self, build: StuckBuild, now: float) -> bool:
        ctxt = rpc.new_context(build.request_id)
        # The build's own request id in this thread's log lines, as its RPC handlers have.
        oslo_context.RequestContext(request_id=ctxt["request_id"], overwrite=True)
        building_s = now - build.created_at
        fault = Fault.of(BuildTimedOut.after(build.uuid, building_s, self._timeout_s))
        # Read before the state change (a read is harmless if the build wins the race): the
        # host whose claim the build holds is the one it was waiting for, if any.
        event = Event(TIMEOUT_EVENT, TIMEOUT_RESULT, host=self._claimed_host(build.uuid),
                      reason=BuildTimedOut.REASON,
                      details={"build_timeout_s": self._timeout_s,
                               "building_s": round(building_s, 3)})
        if not self._fail_build(ctxt, FailedBuild(build.uuid, build.name, self._cell_uuid),
                                fault, [event]):
            LOG.info("Instance %s finished building while timing out: left as it is",
                     build.uuid)
            return False
        LOG.warning("Instance failed to spawn: %s", fault.message)
        return True

    def _claimed_host(self, instance_uuid: str) -> str | None:
        try:
            if self._placement is None:
                claim = self._cell_db.list_resource_claims().get(instance_uuid)
                nodes = {claim[0]} if claim else set()
            else:
                nodes = set(self._placement.get_allocations_for_consumer(instance_uuid))
        except (PlacementError, PlacementUnavailable):
            return None  # only the event's host is missing: time it out all the same
        if not nodes:
            return None
        # A host's provider uuid is its compute node's uuid (compute_sim.host.node_uuid_for).
        hosts = sorted(node.host for node in self._cell_db.list_compute_nodes()
                       if node.uuid in nodes)
        return hosts[0] if hosts else None
