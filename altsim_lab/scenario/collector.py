"""Completion tracking from notifications: the runner waits on events, not on DB polls.

Listens on the API bus and every cell bus. An instance is finished when instance.create.end,
instance.create.error or compute_task.build_instances.error names it; an ACTIVE one finished at
the create.end's `launched_at` (the compute's clock), an ERROR one when the news came (after
its claim was given back). The scheduler's
select_destinations.end carries the hosts that lost a claim race before the chosen one, and
its select_destinations.error the claims a request lost before it failed with NoValidHost.

A notification can be lost where the state change it reports is not: a service killed between
its commit and its notify (the crash tests do that). So when the run has been quiet for
`QUIET_S` with instances still unfinished, `wait_for` asks its `reconcile` callback (the
runner reads the cell DBs) which of those have ended anyway, and when, and counts them, noting
each in `unnotified`. Their finish time is the one the DB gives (when the service committed the
end), not when the look-up found them: a build that ended just before a kill must not count as
one that ended after it. A run that keeps notifying never reads a DB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import oslo_messaging as messaging

from altsim import runtime
from altsim.events import (
    BUILD_INSTANCES_ERROR,
    INSTANCE_CREATE_END,
    INSTANCE_CREATE_ERROR,
    SELECT_DESTINATIONS_END,
    SELECT_DESTINATIONS_ERROR,
)
from altsim.rpc import NOTIFICATION_TOPIC
from altsim.sim import executor as sim_executor

# Seconds without any notification after which the unfinished instances are looked up.
QUIET_S = 3.0

# uuid -> (ACTIVE or ERROR, when the service committed it): what `reconcile` answers.
Ended = dict[str, tuple[str, float]]

TERMINAL_EVENTS = {INSTANCE_CREATE_END: "ACTIVE", INSTANCE_CREATE_ERROR: "ERROR",
                   BUILD_INSTANCES_ERROR: "ERROR"}


class _Endpoint:
    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    def info(self, ctxt, publisher_id, event_type, payload, metadata):  # type: ignore[no-untyped-def]
        self._collector.handle(event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):  # type: ignore[no-untyped-def]
        self._collector.handle(event_type, payload)


class Collector:
    def __init__(self, transports: Iterable[messaging.Transport],
                 on_finished: Callable[[str, str], None] | None = None) -> None:
        self._condition = runtime.Condition()
        self.finished: dict[str, tuple[str, float]] = {}
        self.scheduler_claim_failures: dict[str, list[str]] = {}
        self.scheduler_claim_failures_at: dict[str, float] = {}  # when the news came
        self.messages = 0
        self.unnotified: set[str] = set()  # finished, found by reconcile, never notified
        self._last_heard = runtime.monotonic()
        self._on_finished = on_finished
        targets = [messaging.Target(topic=NOTIFICATION_TOPIC)]
        self._listeners = [sim_executor.use_for(messaging.get_notification_listener(
            transport, targets, [_Endpoint(self)], pool="altsim-runner"))
            for transport in transports]

    def start(self) -> None:
        for listener in self._listeners:
            listener.start()

    @property
    def listeners(self) -> list[messaging.MessageHandlingServer]:
        return list(self._listeners)

    def handle(self, event_type: str, payload: dict) -> None:
        self._last_heard = runtime.monotonic()
        if not isinstance(payload, dict):
            return
        if event_type in (SELECT_DESTINATIONS_END, SELECT_DESTINATIONS_ERROR):
            with self._condition:
                for uuid, info in (payload.get("instances") or {}).items():
                    # Added up: with legacy_retry a reschedule asks the scheduler again.
                    self.scheduler_claim_failures.setdefault(uuid, []).extend(
                        info.get("claim_failures", []))
                    self.scheduler_claim_failures_at[uuid] = runtime.time()
            return
        status = TERMINAL_EVENTS.get(event_type)
        uuid = payload.get("instance_uuid")
        if status is None or not isinstance(uuid, str):
            return
        launched_at = payload.get("launched_at")
        at = launched_at if isinstance(launched_at, (int, float)) else None
        self._finish(uuid, status, at, notified=True)

    def _finish(self, uuid: str, status: str, at: float | None, notified: bool) -> None:
        """`at`: when the instance ended, as its service or its DB says (None: now)."""
        with self._condition:
            first = uuid not in self.finished
            if first:
                self.finished[uuid] = (status, runtime.time() if at is None else at)
                if not notified:
                    self.unnotified.add(uuid)
            self._condition.notify_all()
        if first and self._on_finished is not None:
            self._on_finished(uuid, status)

    def wait_for(self, uuids: Iterable[str], timeout: float,
                 reconcile: Callable[[set[str]], Ended] | None = None) -> bool:
        """True when every uuid finished within timeout seconds. `reconcile(missing)`: the
        status (ACTIVE or ERROR) of those of `missing` that have ended and when, looked up
        after QUIET_S without a notification."""
        wanted = set(uuids)
        deadline = runtime.monotonic() + timeout
        while True:
            with self._condition:
                missing = wanted.difference(self.finished)
                left = deadline - runtime.monotonic()
                if not missing or left <= 0:
                    return not missing
                if reconcile is None:
                    self._condition.wait(left)
                    continue
                quiet_for = runtime.monotonic() - self._last_heard
                if quiet_for < QUIET_S:
                    self._condition.wait(min(left, QUIET_S - quiet_for))
                    continue
            # Quiet, and some still unfinished: outside the lock (it reads databases).
            for uuid, (status, at) in reconcile(missing).items():
                self._finish(uuid, status, at, notified=False)
            self._last_heard = runtime.monotonic()  # at most one look-up per quiet spell
