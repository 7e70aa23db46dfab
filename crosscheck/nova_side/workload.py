"""The scenario's requests sent to Nova's REST API, as altsim's workload sends them.

Each request entry starts `start_ms` (times the plan's time scale) after the run begins and
sends its `count` server-create requests (`num_instances` servers each, as one multi-create),
keeping at most `concurrency` of them unfinished: a slot frees when every server of a request
is ACTIVE or ERROR, as the recorder hears it. Threads here are eventlet's (the harness runs
monkey-patched), as are Nova's services.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from crosscheck.nova_side.names import request_server_name
from crosscheck.nova_side.recorder import Recorder

# Nova's test GlanceFixture serves this image.
IMAGE_UUID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


class Workload:
    def __init__(self, api: Any, recorder: Recorder, flavor_ids: dict[str, str],
                 requests: list[dict[str, Any]], time_scale: float, deadline: float) -> None:
        self._api = api
        self._recorder = recorder
        self._flavor_ids = flavor_ids
        self._requests = requests
        self._time_scale = time_scale
        self._deadline = deadline
        self._lock = threading.Lock()
        self.server_ids: list[str] = []
        self.errors: list[str] = []
        self._waiters: list[threading.Thread] = []

    def run(self) -> None:
        """Send everything and wait until every server has finished or the deadline passed."""
        started = time.monotonic()
        threads = [threading.Thread(target=self._run_entry, args=(entry, started))
                   for entry in self._requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for waiter in list(self._waiters):
            waiter.join()

    def _run_entry(self, entry: dict[str, Any], started: float) -> None:
        try:
            delay = started + entry["start_ms"] * self._time_scale / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            slots = threading.Semaphore(entry["concurrency"])
            for index in range(entry["count"]):
                slots.acquire()
                first = index * entry["num_instances"] + 1
                names = [f"{entry['name']}-{n}"
                         for n in range(first, first + entry["num_instances"])]
                ids = self._submit(names, self._flavor_ids[entry["flavor"]])
                waiter = threading.Thread(target=self._wait_then_release, args=(ids, slots))
                with self._lock:
                    self._waiters.append(waiter)
                waiter.start()
        except Exception as exc:  # noqa: BLE001 - reported in the result, never swallowed
            self.errors.append(f"request {entry['name']}: {exc!r}")

    def _submit(self, names: list[str], flavor_id: str) -> list[str]:
        body: dict[str, Any] = {"name": request_server_name(names), "imageRef": IMAGE_UUID,
                                "flavorRef": flavor_id, "networks": "none"}
        if len(names) > 1:
            body.update(min_count=len(names), max_count=len(names),
                        return_reservation_id=True)
        response = self._api.post_server({"server": body})
        if "reservation_id" in response:
            ids = self._recorder.reservations[response["reservation_id"]]
        else:
            ids = [response["id"]]
        with self._lock:
            self.server_ids.extend(ids)
        return ids

    def _wait_then_release(self, ids: list[str], slots: threading.Semaphore) -> None:
        for uuid in ids:
            self._recorder.finished_event(uuid).wait(max(0.0, self._deadline - time.monotonic()))
        slots.release()
