"""The oslo.messaging executor of deterministic runs: each message handled by a scheduler task.

oslo.messaging's `threading` executor is a futurist thread pool whose workers wait on a queue
the deterministic scheduler cannot see. This one keeps the pool's contract (at most
`max_workers` messages handled at once, the rest started in arrival order as workers free up,
`shutdown(wait=True)` returns when all are done) but each message runs as a runtime.Thread, so
a task of the scheduler when a server is started from a bound thread.

oslo.messaging 18 loads an executor by entry point (`oslo.messaging.executors`) but only accepts
the names `threading` and `eventlet`, so `use_for` swaps the class on a server already built
(the one private attribute touched, kept here): the server itself, its listener, dispatcher
and the driver stay as in every other mode.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Any

import futurist

from altsim import runtime
from altsim.prompt_stop_pool import PromptStopThreadPool

LOG = logging.getLogger(__name__)


class DeterministicExecutor:
    def __init__(self, max_workers: int = 1) -> None:
        self._max_workers = max(1, max_workers)
        self._cond = runtime.Condition()
        self._pending: collections.deque[tuple[Callable[..., Any], tuple, dict]] = \
            collections.deque()
        self._active = 0
        self._shut = False

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        with self._cond:
            if self._shut:
                raise RuntimeError("cannot submit to an executor that was shut down")
            if self._active >= self._max_workers:
                self._pending.append((fn, args, kwargs))
                return
            self._active += 1
        self._start(fn, args, kwargs)

    def _start(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        name = getattr(fn, "__qualname__", "message")
        runtime.Thread(target=self._work, name=name, args=(fn, args, kwargs)).start()

    def _work(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        job: tuple[Callable[..., Any], tuple, dict] | None = (fn, args, kwargs)
        while job is not None:
            try:
                job[0](*job[1], **job[2])
            except Exception:  # noqa: BLE001 - as a pool worker does: log, take the next
                LOG.exception("Message handler failed")
            job = self._next()

    def _next(self) -> tuple[Callable[..., Any], tuple, dict] | None:
        """The next waiting message for this worker, or None (the worker ends)."""
        with self._cond:
            if self._pending:
                return self._pending.popleft()
            self._active -= 1
            self._cond.notify_all()
            return None

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._shut = True
            if wait:
                self._cond.wait_for(lambda: self._active == 0)


def use_for(server: Any) -> Any:
    """Give `server` (an oslo.messaging RPCServer or notification listener, not yet started)
    the deterministic executor when the calling thread belongs to a deterministic run;
    otherwise the threading executor's pool that stops at once (altsim.prompt_stop_pool).
    Returns the server."""
    if runtime.is_deterministic():
        server._executor_cls = DeterministicExecutor
    elif server._executor_cls is futurist.ThreadPoolExecutor:
        server._executor_cls = PromptStopThreadPool
    return server
