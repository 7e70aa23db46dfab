"""The workload: each request entry submits its servers, keeping at most `concurrency` requests
unfinished at once, starting `start_ms` after the run begins."""

from __future__ import annotations

import threading
from collections.abc import Callable

from altsim import runtime
from altsim.objects import Flavor
from altsim_lab.nova_api import NovaApi
from altsim_lab.scenario.schema import RequestEntry, Scenario


class Workload:
    def __init__(self, scenario: Scenario, nova_api: NovaApi) -> None:
        self._scenario = scenario
        self._nova_api = nova_api
        self._lock = threading.Lock()
        self._pending_by_uuid: dict[str, tuple[runtime.Semaphore, set[str]]] = {}
        self.uuids: dict[str, str] = {}
        self.errors: list[BaseException] = []
        # When the run began and when each instance's request was sent (time.time()), for
        # the report's time to ACTIVE.
        self.started: float | None = None
        self.submitted: dict[str, float] = {}

    def instance_finished(self, uuid: str, status: str) -> None:
        """Collector callback: frees a concurrency slot when a whole request has finished."""
        with self._lock:
            entry = self._pending_by_uuid.pop(uuid, None)
            if entry is None:
                return
            slots, members = entry
            members.discard(uuid)
            done = not members
        if done:
            slots.release()

    def run(self, started: float, on_submitted: Callable[[int], None] = lambda n: None) -> None:
        """Submit everything (returns when the last request is sent, not when it finishes)."""
        self.started = started
        threads = [runtime.Thread(target=self._run_entry, args=(entry, started, on_submitted),
                                  name=f"workload-{entry.name}")
                   for entry in self._scenario.requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run_entry(self, entry: RequestEntry, started: float,
                   on_submitted: Callable[[int], None]) -> None:
        try:
            delay = started + entry.start_ms / 1000.0 - runtime.time()
            if delay > 0:
                runtime.sleep(delay)
            spec = self._scenario.flavors[entry.flavor]
            flavor = Flavor(name=entry.flavor, resources=spec.resources,
                            extra_specs=spec.extra_specs)
            slots = runtime.Semaphore(entry.concurrency)
            for index in range(entry.count):
                slots.acquire()
                first = index * entry.num_instances + 1
                names = [f"{entry.name}-{n}" for n in range(first, first + entry.num_instances)]
                self._submit(names, flavor, slots, entry.num_alternates)
                on_submitted(len(names))
        except BaseException as exc:  # noqa: BLE001 - reported by the runner, never swallowed
            self.errors.append(exc)

    def _submit(self, names: list[str], flavor: Flavor, slots: runtime.Semaphore,
                num_alternates: int | None) -> None:
        members: set[str] = set()
        with self._lock:
            # Register before sending: a fast build may finish before create_servers returns.
            planned = {name: self._nova_api.uuid_for(name) for name in names}
            members.update(planned.values())
            for uuid in planned.values():
                self._pending_by_uuid[uuid] = (slots, members)
            self.uuids.update(planned)
            now = runtime.time()
            self.submitted.update((uuid, now) for uuid in planned.values())
        self._nova_api.create_servers(names, flavor, num_alternates)
