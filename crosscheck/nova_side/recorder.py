"""What Nova did to each instance, recorded where it happens, for the report.

Nova keeps no per-attempt history an outsider can read (an instance action's events keep a
result only on the first event of a name), so the harness wraps the few places that decide:
the scheduler's `select_destinations` (the Selection lists it returned), `claim_resources`
(the claims lost, by the scheduler and by the cell conductor on a reschedule alike), and the
compute manager's `_do_build_and_run_instance` (each attempt, its host and its build result),
with the driver telling what its spawn was made to do. It also hears which instances a
multi-create made (the compute API's `create`) and when an instance is saved or created
ACTIVE or ERROR, so the workload waits on events instead of polling the API (whose requests,
scattered over every cell, cost more CPU than the builds). Everything is keyed by Nova's
instance uuid; the report maps uuids to names and providers to hosts at the end.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

# The vm_states an instance ends a build in.
FINISHED_VM_STATES = ("active", "error")


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.selections: dict[str, list[str]] = {}
        self.lost_claims: dict[str, list[str]] = defaultdict(list)   # uuid -> provider uuids
        self.attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._spawn_reasons: dict[tuple[str, str], tuple[str, str]] = {}
        self._attempt_numbers: dict[tuple[str, str], int] = {}
        self.reservations: dict[str, list[str]] = {}
        self._finished: dict[str, threading.Event] = defaultdict(threading.Event)

    def reserved(self, reservation_id: str, instance_uuids: list[str]) -> None:
        with self._lock:
            self.reservations[reservation_id] = list(instance_uuids)

    def finished_event(self, instance_uuid: str) -> threading.Event:
        """Set once the instance is ACTIVE or ERROR."""
        with self._lock:
            return self._finished[instance_uuid]

    def state_written(self, instance_uuid: str, vm_state: str | None) -> None:
        if vm_state in FINISHED_VM_STATES:
            self.finished_event(instance_uuid).set()

    def selected(self, instance_uuids: list[str], selections: list[list[Any]]) -> None:
        with self._lock:
            for uuid, selection in zip(instance_uuids, selections, strict=False):
                self.selections[uuid] = [item.service_host for item in selection]

    def claimed(self, instance_uuid: str, alloc_req: dict[str, Any], ok: bool) -> None:
        if ok:
            return
        with self._lock:
            self.lost_claims[instance_uuid].extend(alloc_req.get("allocations", {}))

    def build_started(self, host: str, instance_uuid: str, attempt: int) -> None:
        with self._lock:
            self._attempt_numbers[(host, instance_uuid)] = attempt
            self._spawn_reasons.pop((host, instance_uuid), None)
            self.attempts[instance_uuid].append({"host": host, "result": None})

    def attempt_number(self, host: str, instance_uuid: str) -> int:
        return self._attempt_numbers.get((host, instance_uuid), 1)

    def spawned(self, host: str, instance_uuid: str, action: str, reason: str) -> None:
        """The driver's spawn was made to `action` (succeed, reschedule, abort, hang)."""
        with self._lock:
            self._spawn_reasons[(host, instance_uuid)] = (action, reason)

    def build_finished(self, host: str, instance_uuid: str, result: str) -> None:
        """`result` is Nova's build_results value: active, rescheduled or failed (and the
        by-policy ones, which no scenario provokes)."""
        with self._lock:
            action, reason = self._spawn_reasons.get((host, instance_uuid), ("", ""))
            attempt = next((a for a in reversed(self.attempts[instance_uuid])
                            if a["host"] == host and a["result"] is None), None)
            if attempt is None:
                return
            attempt["result"] = _result(result, action)
            if reason and attempt["result"] != "active":
                attempt["reason"] = reason


def _result(build_result: str, action: str) -> str:
    """Nova's build result in the words of altsim's report: a failed build whose spawn aborted
    is `aborted`, one whose spawn asked for a reschedule that retries did not allow `failed`."""
    if build_result == "failed":
        return "aborted" if action == "abort" else "failed"
    return build_result
