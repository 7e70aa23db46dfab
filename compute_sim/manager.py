"""The compute's RPC endpoint: build_and_run_instance on one simulated host.

A spawn either succeeds (ACTIVE), fails in a way that may be retried elsewhere (with retries
enabled the build goes to the cell conductor with the remaining alternates), or fails for good
(ERROR with a fault, allocations removed). The outcome comes from the fault injector, after the
host's tracker claims the build's resources (`BuildResources.claim`; only a host without
placement checks that they fit): a build that does not fit is a reschedulable failure too, as
Nova's ComputeResourcesUnavailable. A failed build's resources go back to the tracker, and the
host's failed-build count changes once the build is over (compute_sim/failed_builds.py).
A `hang` fault makes the spawn never answer: nothing is written or sent, and the instance stays
in BUILD until the cell conductor's build-timeout sweep ends it.

Every outcome is written only if the instance is still building: a spawn that finishes after
its build timed out (the sweep put it in ERROR meanwhile) gives its resources back and leaves
the instance as the sweep left it, recording the attempt as `timed_out`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import oslo_messaging as messaging

from altsim import runtime
from altsim.db.cell import CellDatabase, UnexpectedVmStateError
from altsim.events import (
    BUILD_EVENT,
    COMPUTE_UNCLAIM_EVENT,
    INSTANCE_CREATE_END,
    INSTANCE_CREATE_ERROR,
)
from altsim.exceptions import BuildAbortException, RescheduledException
from altsim.objects import Fault, Instance, PayloadError, RequestSpec, RetryInfo, Selection
from altsim.rpc import Notifier
from compute_sim.failed_builds import FailedBuilds, FlushedByTracker
from compute_sim.faults import FaultInjector
from compute_sim.host import SimulatedHost
from compute_sim.resources import BuildResources, PlacementResources
from compute_sim.tracker import ResourceTracker
from conductor.rpcapi import ConductorAPI
from placement_sim.client import PlacementClient

LOG = logging.getLogger(__name__)

TOO_LATE = "the spawn finished after the build had timed out"


class ComputeManager:
    target = messaging.Target(version="1.0")

    def __init__(self, host: SimulatedHost, cell_db: CellDatabase, placement: PlacementClient,
                 conductor_api: ConductorAPI, notifier: Notifier, faults: FaultInjector,
                 sleep: Callable[[float], None] = runtime.sleep,
                 resources: BuildResources | None = None,
                 failed_builds: FailedBuilds | None = None) -> None:
        self.host = host
        self._cell_db = cell_db
        # By default the Queens design's compute: placement claimed, the cell conductor
        # unclaims; and (Nova's) failed builds counted by the host's tracker, flushed at its
        # next write.
        self._resources = resources or PlacementResources(
            placement, unclaim_on_reschedule=False,
            tracker=ResourceTracker(host, cell_db, check_fit=False))
        self._failed_builds = failed_builds or FlushedByTracker(self._resources.tracker)
        self._conductor_api = conductor_api
        self._notifier = notifier
        self._faults = faults
        self._sleep = sleep

    def build_and_run_instance(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                               retry: RetryInfo | None, host_list: list[Selection],
                               limits: dict) -> None:
        _check_args(instance, request_spec, retry, host_list, limits)
        started = runtime.time()
        attempt = retry.num_attempts if retry else 1
        short = self._resources.claim(instance)
        action = "reschedule"
        try:
            if short is not None:  # does not fit: never spawned, so no fault decision either
                self._reschedule_or_fail(ctxt, instance, request_spec, retry, host_list, short,
                                         started)
                return
            decision = self._faults.decide(self.host.name, instance.name, attempt)
            action = decision.action
            if decision.latency_s:
                self._sleep(decision.latency_s)
            self._outcome(ctxt, instance, request_spec, retry, host_list, action,
                          decision.reason, started)
        except UnexpectedVmStateError:  # its build timed out meanwhile
            self._too_late(instance, action, started)

    def _outcome(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                 retry: RetryInfo | None, host_list: list[Selection], action: str,
                 reason: str, started: float) -> None:
        if action == "succeed":
            self._succeed(ctxt, instance, started)
        elif action == "reschedule":
            self._reschedule_or_fail(ctxt, instance, request_spec, retry, host_list, reason,
                                     started)
        elif action == "hang":
            # Never answers: no state, no event, no cast, no notification; the resources
            # stay claimed until the build-timeout sweep (or, without placement, forever).
            LOG.warning("Spawn of instance %s on %s hangs (fault injection): it will never "
                        "finish", instance.uuid, self.host.name)
        else:
            exc = BuildAbortException(f"Build of instance {instance.uuid} aborted: {reason}")
            self._fail(ctxt, instance, exc, "aborted", reason, started)

    def _too_late(self, instance: Instance, action: str, started: float) -> None:
        """The build timed out while it spawned here: nothing of this outcome is kept but the
        attempt itself, and what this build holds is given back."""
        self._resources.release_failed(instance)
        try:
            self._cell_db.add_event(instance.uuid, BUILD_EVENT, "timed_out",
                                    host=self.host.name, reason=f"{TOO_LATE} ({action})",
                                    start_time=started)
        except LookupError:  # deleted meanwhile: nothing to record it on
            pass
        LOG.warning("Instance %s: %s on %s (it would have been: %s); left in its state",
                    instance.uuid, TOO_LATE, self.host.name, action)

    def _reschedule_or_fail(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                            retry: RetryInfo | None, host_list: list[Selection], reason: str,
                            started: float) -> None:
        if retry is None:
            # Nova (ComputeManager._do_build_and_run_instance, no retry) records the bare
            # reason as the fault message, not the exception's "was re-scheduled" text.
            exc = RescheduledException(f"Build of instance {instance.uuid} was re-scheduled: "
                                       f"{reason}")
            self._fail(ctxt, instance, exc, "failed", reason, started, fault_message=reason)
        else:
            self._reschedule(ctxt, instance, request_spec, retry, host_list, reason, started)

    def _succeed(self, ctxt: dict, instance: Instance, started: float) -> None:
        db = self._cell_db
        launched_at = runtime.time()
        with db.begin() as conn:
            db.update_instance(instance.uuid, conn=conn, expected_vm_state="building",
                               vm_state="active", task_state=None, host=self.host.name,
                               node=self.host.name, launched_at=launched_at)
            self._failed_builds.with_outcome(False, conn)
            db.add_event(instance.uuid, BUILD_EVENT, "active", host=self.host.name,
                         start_time=started, conn=conn)
        # launched_at, as Nova's instance.create.end payload carries it: the runner dates the
        # build by it, not by when the news reached it (a notification can be late).
        self._notifier.info(ctxt, INSTANCE_CREATE_END,
                            {**self._payload(instance, "active"), "launched_at": launched_at})
        self._failed_builds.after_outcome(False)

    def _reschedule(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                    retry: RetryInfo, host_list: list[Selection], reason: str,
                    started: float) -> None:
        # Given back before the cast, so the alternate's claim cannot find it still taken.
        unclaimed = self._resources.release_rescheduled(instance)
        db = self._cell_db
        with db.begin() as conn:
            db.update_instance(instance.uuid, conn=conn, expected_vm_state="building",
                               host=None, node=None, availability_zone=None,
                               task_state="scheduling")
            self._failed_builds.with_outcome(True, conn)
            db.add_event(instance.uuid, BUILD_EVENT, "rescheduled", host=self.host.name,
                         reason=reason, start_time=started, conn=conn)
            if unclaimed is not None:
                db.add_event(instance.uuid, COMPUTE_UNCLAIM_EVENT,
                             "deleted" if unclaimed else "none", host=self.host.name, conn=conn)
        LOG.info("Instance %s failed to spawn on %s (%s); rescheduling", instance.uuid,
                 self.host.name, reason)
        retry = retry.model_copy(update={"exc_reason": reason})
        self._conductor_api.build_instances(ctxt, instance, request_spec, retry, host_list)
        self._failed_builds.after_outcome(True)

    def _fail(self, ctxt: dict, instance: Instance, exc: Exception, result: str, reason: str,
              started: float, fault_message: str | None = None) -> None:
        fault = Fault.of(exc, fault_message)
        db = self._cell_db
        with db.begin() as conn:
            if not db.set_error(instance.uuid, fault, conn=conn, expected_vm_state="building"):
                raise UnexpectedVmStateError(f"instance {instance.uuid} is no longer building")
            self._failed_builds.with_outcome(True, conn)
            db.add_event(instance.uuid, BUILD_EVENT, result, host=self.host.name,
                         reason=reason, start_time=started, conn=conn)
        # As Nova: the claim given back (the tracker writes the row), then the count.
        self._resources.release_failed(instance)
        self._failed_builds.after_outcome(True)
        LOG.warning("Build of instance %s on %s failed: %s", instance.uuid, self.host.name,
                    fault.message)
        payload = self._payload(instance, "error")
        payload["fault"] = fault.message
        self._notifier.error(ctxt, INSTANCE_CREATE_ERROR, payload)

    def _payload(self, instance: Instance, state: str) -> dict:
        return {"instance_uuid": instance.uuid, "name": instance.name, "host": self.host.name,
                "cell_uuid": instance.cell_uuid, "state": state}


def _check_args(instance: object, request_spec: object, retry: object, host_list: object,
                limits: object) -> None:
    for name, value, cls in (("instance", instance, Instance),
                             ("request_spec", request_spec, RequestSpec)):
        if not isinstance(value, cls):
            raise PayloadError(f"build_and_run_instance: {name} must be a {cls.__name__}, "
                               f"got {type(value).__name__}")
    if retry is not None and not isinstance(retry, RetryInfo):
        raise PayloadError(f"build_and_run_instance: retry must be a RetryInfo or None, "
                           f"got {type(retry).__name__}")
    if not isinstance(host_list, list) or not all(isinstance(s, Selection) for s in host_list):
        raise PayloadError("build_and_run_instance: host_list must be a list of Selection")
    if not isinstance(limits, dict):
        raise PayloadError(f"build_and_run_instance: limits must be a mapping, "
                           f"got {type(limits).__name__}")
