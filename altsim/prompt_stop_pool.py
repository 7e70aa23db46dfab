"""oslo.messaging's thread pool, stopped at once instead of within a second.

The `threading` executor is a futurist ThreadPoolExecutor whose idle workers wait on their queue
with a one-second timeout and only then notice a shutdown, so stopping a server costs up to a
second even when nothing is running: most of the teardown of an embedded deployment, and of
every test built on one. This pool does what futurist's shutdown does (queued messages are
handled first, then the workers stop) and then wakes each idle worker with a no-op item, so it
sees the stop at once.
"""

from __future__ import annotations

import futurist


class _Wake:
    """A no-op work item: a worker that takes it returns to its loop and sees it must stop."""

    def run(self) -> None:
        return None


class PromptStopThreadPool(futurist.ThreadPoolExecutor):
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if wait:
            self._work_queue.join()  # every message already taken is handled first
        super().shutdown(wait=False, cancel_futures=cancel_futures)
        for _ in self._workers:
            self._work_queue.put(_Wake())
        if wait:
            for worker in self._workers:
                worker.join()
