"""The names the services write and the lab reads: instance-action events and notifications.

Action events are rows of an instance's `create` action in its cell DB, one per step of its
build, named as Nova names its own: the service, then the method that ran the step. Notifications
are what the services tell the runner on their buses; three of them end a build.

The values are the wire format: reports, the client's views and tests read them, so a value
changes only together with everything that reads it.
"""

from __future__ import annotations

# -- Instance-action events (cell DB, action "create") --------------------------------------

# The super conductor scheduled the instance into a cell ("success", with the scheduler's
# host list in details) or buried it in cell0 ("failed").
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
# A conductor's claim of a host in placement lost ("failed", reason CLAIM_LOST).
CLAIM_EVENT = "conductor_claim_resources"
CLAIM_LOST = "claim failed in placement"
# One spawn on one compute: "active", "rescheduled", "failed", "aborted" or "timed_out".
BUILD_EVENT = "compute_build_and_run_instance"
# Who gave a rescheduled attempt's allocations back: two events, because the report tells
# them apart ([conductor] unclaim_by); "deleted" or "none".
COMPUTE_UNCLAIM_EVENT = "compute_unclaim_resources"
CONDUCTOR_UNCLAIM_EVENT = "conductor_unclaim_resources"
# With [scheduler] legacy_retry, the cell conductor asked the scheduler again.
SELECT_EVENT = "conductor_select_destinations"
# The cell conductor's build-timeout sweep ended the build ("timed_out").
TIMEOUT_EVENT = "conductor_build_timeout"

# -- Notifications (event types) --------------------------------------------------------------

# The compute built the instance: ACTIVE.
INSTANCE_CREATE_END = "instance.create.end"
# The compute ended the build in ERROR (an abort, or a failure with no retry).
INSTANCE_CREATE_ERROR = "instance.create.error"
# A conductor ended the build in ERROR (no host left, cell0 burial, build timeout).
BUILD_INSTANCES_ERROR = "compute_task.build_instances.error"
# The scheduler's answer, with the hosts that lost a claim race before the chosen one.
SELECT_DESTINATIONS_END = "scheduler.select_destinations.end"
# A request the scheduler began placing and could not place (NoValidHost), with the claims
# each instance lost before it failed (Nova only logs them).
SELECT_DESTINATIONS_ERROR = "scheduler.select_destinations.error"
