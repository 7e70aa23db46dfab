"""Completion tracking from notifications: the runner waits on events, it never polls the DBs.

Listens on the API bus and every cell bus. An instance is finished when instance.create.end,
instance.create.error or compute_task.build_instances.error names it. The scheduler's
select_destinations.end carries the hosts that lost a claim race before the chosen one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import oslo_messaging as messaging

from altsim.rpc import NOTIFICATION_TOPIC

TERMINAL_EVENTS = {"instance.create.end": "ACTIVE", "instance.create.error": "ERROR",
                   "compute_task.build_instances.error": "ERROR"}


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
        self._condition = threading.Condition()
        self.finished: dict[str, tuple[str, float]] = {}
        self.scheduler_claim_failures: dict[str, list[str]] = {}
        self.scheduler_claim_failures_at: dict[str, float] = {}  # when the news came
        self.messages = 0
        self._on_finished = on_finished
        targets = [messaging.Target(topic=NOTIFICATION_TOPIC)]
        self._listeners = [messaging.get_notification_listener(
            transport, targets, [_Endpoint(self)], pool="altsim-runner")
            for transport in transports]

    def start(self) -> None:
        for listener in self._listeners:
            listener.start()

    @property
    def listeners(self) -> list[messaging.MessageHandlingServer]:
        return list(self._listeners)

    def handle(self, event_type: str, payload: dict) -> None:
        if not isinstance(payload, dict):
            return
        if event_type == "scheduler.select_destinations.end":
            with self._condition:
                for uuid, info in (payload.get("instances") or {}).items():
                    # Added up: with legacy_retry a reschedule asks the scheduler again.
                    self.scheduler_claim_failures.setdefault(uuid, []).extend(
                        info.get("claim_failures", []))
                    self.scheduler_claim_failures_at[uuid] = time.time()
            return
        status = TERMINAL_EVENTS.get(event_type)
        uuid = payload.get("instance_uuid")
        if status is None or not isinstance(uuid, str):
            return
        with self._condition:
            first = uuid not in self.finished
            if first:
                self.finished[uuid] = (status, time.time())
            self._condition.notify_all()
        if first and self._on_finished is not None:
            self._on_finished(uuid, status)

    def wait_for(self, uuids: Iterable[str], timeout: float) -> bool:
        """True when every uuid finished within timeout seconds."""
        wanted = set(uuids)
        deadline = time.monotonic() + timeout
        with self._condition:
            while not wanted.issubset(self.finished):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True
