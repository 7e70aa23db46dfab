"""A periodic task: one thread calling a function every `interval_s` seconds until stopped.

Nova runs its periodic tasks (`_check_instance_build_time` among them) from the service's
timer; altsim's services are plain threads around their RPC servers, so a periodic task is a
thread of its own that the service starts with its servers and stops with them. It waits on an
Event between runs, so stop() returns as soon as the run in progress (if any) ends, never after
a whole interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from altsim import runtime

LOG = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, name: str, interval_s: float, task: Callable[[], object]) -> None:
        if interval_s <= 0:
            raise ValueError(f"{name}: the interval must be positive, got {interval_s}")
        self.name = name
        self._interval_s = interval_s
        self._task = task
        # Runtime primitives: a deterministic run's periodic task waits in simulated time.
        self._stopped = runtime.Event()
        self._thread = runtime.Thread(target=self._run, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (safe to call twice, or before start)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._task()
            except Exception:  # noqa: BLE001 - one failed run must not end the task
                LOG.exception("Periodic task %s failed; it runs again in %g s", self.name,
                              self._interval_s)
