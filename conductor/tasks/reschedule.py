"""The cell conductor's reschedule: unclaim, count the attempt, claim an alternate, cast.

The cell conductor has its cell's bus and DB and placement, nothing else: it never asks the
scheduler and never reads the API DB. It can only walk down the alternates it was handed. The
one exception is `[scheduler] legacy_retry` (pre-Queens), where the cell shares the API bus and
a `Reselect` asks the scheduler for a new host instead of popping an alternate.
"""

from __future__ import annotations

import logging

from altsim.db.cell import CellDatabase, UnexpectedVmStateError
from altsim.events import CLAIM_EVENT, CLAIM_LOST, CONDUCTOR_UNCLAIM_EVENT
from altsim.exceptions import MaxRetriesExceeded
from altsim.objects import Fault, Instance, RequestSpec, RetryInfo, Selection
from altsim.rpc import Notifier
from compute_sim.rpcapi import ComputeAPI
from conductor.tasks.attempts import Attempts
from conductor.tasks.claims import claim_first
from conductor.tasks.fail_build import FailBuild, FailedBuild
from conductor.tasks.reselect import Reselect
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementError, PlacementUnavailable

LOG = logging.getLogger(__name__)


class Reschedule:
    """`unclaim`: this conductor removes the failed host's allocations ([conductor] unclaim_by
    = cell_conductor, with placement); otherwise the compute did, or there are none."""

    def __init__(self, cell_db: CellDatabase, placement: PlacementClient, compute_api: ComputeAPI,
                 notifier: Notifier, attempts: Attempts, unclaim: bool = True,
                 reselect: Reselect | None = None) -> None:
        self._cell_db = cell_db
        self._placement = placement
        self._compute_api = compute_api
        # Nothing to delete when a reschedule fails: the failed host's allocations are gone
        # already (unclaimed above, or by the compute) and no alternate was claimed.
        self._fail_build = FailBuild(cell_db, notifier)
        self._attempts = attempts
        self._unclaim = unclaim
        self._reselect = reselect

    def __call__(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                 retry: RetryInfo, host_list: list[Selection]) -> None:
        if self._unclaim:
            self._unclaim_failed_host(instance, retry)
        retry = retry.model_copy(update={"num_attempts": retry.num_attempts + 1})
        allowed = self._attempts.allowed(request_spec)
        try:
            if retry.num_attempts > allowed:
                raise MaxRetriesExceeded.exceeded_attempts(allowed, instance.uuid,
                                                           retry.exc_reason)
            if self._reselect is not None:
                host_list = self._reselect(ctxt, instance, request_spec, retry)
            elif not host_list:
                raise MaxRetriesExceeded.exhausted_hosts(instance.uuid)
            host, remaining = self._claim_alternate(instance, host_list)
        except Exception as exc:  # noqa: BLE001 - any failure ends the build in ERROR (rule 21)
            self._fail(ctxt, instance, exc)
            return
        self._cast(ctxt, instance, request_spec, retry, host, remaining)

    def _unclaim_failed_host(self, instance: Instance, retry: RetryInfo) -> None:
        # As the Queens design describes it: the cell conductor removes the failed host's
        # allocations (Nova master has the compute do it: unclaim_by = compute). Only
        # one host holds the instance's allocations at a time, so that is the whole consumer.
        deleted = self._placement.delete_allocation_for_instance(instance.uuid)
        failed_host = retry.hosts[-1][0] if retry.hosts else None
        self._cell_db.add_event(instance.uuid, CONDUCTOR_UNCLAIM_EVENT,
                                result="deleted" if deleted else "none", host=failed_host)

    def _claim_alternate(self, instance: Instance,
                         host_list: list[Selection]) -> tuple[Selection, list[Selection]]:
        def lost(host: str) -> None:
            self._cell_db.add_event(instance.uuid, CLAIM_EVENT, result="failed", host=host,
                                    reason=CLAIM_LOST)

        host, remaining = claim_first(self._placement, instance.uuid, instance.project_id,
                                      instance.user_id, host_list, lost)
        if host is None:
            raise MaxRetriesExceeded.exhausted_hosts(instance.uuid)
        return host, remaining

    def _cast(self, ctxt: dict, instance: Instance, request_spec: RequestSpec, retry: RetryInfo,
              host: Selection, remaining: list[Selection]) -> None:
        retry = retry.model_copy(update={"hosts": [*retry.hosts,
                                                   (host.service_host, host.nodename)]})
        instance = instance.model_copy(update={"availability_zone": host.availability_zone})
        try:
            self._cell_db.update_instance(instance.uuid, expected_vm_state="building",
                                          availability_zone=host.availability_zone)
        except UnexpectedVmStateError:
            # The build timed out while this reschedule waited ([conductor] build_timeout):
            # no cast, and the claim just made on the alternate must not stay behind.
            try:
                self._placement.delete_allocation_for_instance(instance.uuid)
            except (PlacementError, PlacementUnavailable) as exc:  # e.g. no placement at all
                LOG.error("Could not delete the allocations of %s: %s", instance.uuid, exc)
            LOG.warning("Instance %s is no longer building (timed out?): not rescheduled to "
                        "%s", instance.uuid, host.service_host)
            return
        LOG.info("Rescheduling instance %s to %s (attempt %d); alternates left: %s",
                 instance.uuid, host.service_host, retry.num_attempts,
                 [s.service_host for s in remaining])
        self._compute_api.build_and_run_instance(ctxt, host.service_host, instance,
                                                 request_spec, retry, remaining, host.limits)

    def _fail(self, ctxt: dict, instance: Instance, exc: Exception) -> None:
        fault = Fault.of(exc)
        if not self._fail_build(ctxt, FailedBuild(instance.uuid, instance.name,
                                                  instance.cell_uuid), fault):
            # Ended already (its build timed out): that fault and notification stand.
            LOG.warning("Build of instance %s failed (%s), but it is no longer building",
                        instance.uuid, fault.message)
            return
        LOG.warning("Build of instance %s failed: %s", instance.uuid, fault.message)
