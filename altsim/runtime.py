"""The one seam between the services and how they are run: time, sleeps, yields, threads, waits.

Every service reads the time, sleeps, starts threads and waits through this module. A thread
started by a deterministic scheduler (altsim.sim.scheduler) is *bound* to it: for that thread
`time()` is simulated time, `sleep()` parks it until the simulated clock gets there,
`yield_point()` hands the baton back so the scheduler picks (by its seed) who runs next, and
the primitives below (Lock, Condition, Event, Semaphore, Queue, Thread) wait in the scheduler
instead of in the operating system. Any other thread gets the plain behaviour of `time` and
`threading`: nothing changes unless a deterministic run is under way on the calling thread.

The primitives decide at each wait, not at creation, which is why they can replace
threading's everywhere: an unbound thread blocks on the real lock or condition inside; a bound
thread never blocks the operating-system way on a contended one (it would hold the baton and
stop the whole run), it parks in the scheduler and is woken by whoever releases or notifies.
"""

from __future__ import annotations

import collections
import queue
import random
import threading
import time as _time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from altsim.clock import WALL, Clock


class Controller(Protocol):
    """What a deterministic scheduler offers its threads (altsim.sim.scheduler implements it)."""

    clock: Any  # a SimulatedClock

    def yield_point(self, what: str) -> None: ...

    def block(self, waitlist: list[Any] | None, timeout: float | None) -> bool: ...

    def wake(self, task: Any) -> None: ...

    def current_task(self) -> Any: ...

    def spawn(self, fn: Callable[[], object], name: str) -> None: ...

    def uuid4(self) -> uuid.UUID: ...

    def rng(self) -> random.Random: ...


_local = threading.local()


def bind_thread(controller: Controller | None) -> None:
    """Make the calling thread one of `controller`'s (None: back to the real runtime)."""
    _local.controller = controller


def controller() -> Controller | None:
    """The deterministic scheduler of the calling thread, or None for a real thread."""
    return getattr(_local, "controller", None)


def is_deterministic() -> bool:
    return controller() is not None


# -- time, sleeps, yields, identifiers ---------------------------------------------------------


def clock() -> Clock:
    ctl = controller()
    return WALL if ctl is None else ctl.clock


def time() -> float:
    """`time.time()`, or simulated seconds since the epoch in a deterministic run."""
    return clock().time()


def monotonic() -> float:
    return clock().monotonic()


def sleep(seconds: float) -> None:
    ctl = controller()
    if ctl is None:
        _time.sleep(seconds)
    else:
        ctl.block(None, max(seconds, 0.0))


def yield_point(what: str) -> None:
    """A place where a real deployment could interleave (a message sent, a placement request,
    a DB transaction): the deterministic scheduler may run someone else here. A no-op
    otherwise."""
    ctl = controller()
    if ctl is not None:
        ctl.yield_point(what)


def uuid4() -> uuid.UUID:
    """A random uuid, drawn from the run's seeded stream in a deterministic run."""
    ctl = controller()
    return uuid.uuid4() if ctl is None else ctl.uuid4()


def rng() -> random.Random:
    """The random source for choices that are not a pure function of a seed already (backoff
    jitter): the module's global one, or the deterministic run's seeded stream."""
    ctl = controller()
    return random._inst if ctl is None else ctl.rng()  # type: ignore[attr-defined]


# -- waiting primitives that work for both kinds of thread -------------------------------------


class Lock:
    """threading.Lock that a bound thread waits for in its scheduler."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self._parked: list[Any] = []

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        ctl = controller()
        if ctl is None:
            return self.inner.acquire(blocking, timeout)
        while not self.inner.acquire(False):
            if not blocking:
                return False
            ctl.block(self._parked, None)
        return True

    def release(self) -> None:
        self.inner.release()
        parked, self._parked = self._parked, []
        for task in parked:  # they try again; whoever the scheduler runs first gets it
            task.scheduler.wake(task)

    def locked(self) -> bool:
        return self.inner.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Condition:
    """threading.Condition over a runtime Lock."""

    def __init__(self, lock: Lock | None = None) -> None:
        self._lock = lock or Lock()
        self._real = threading.Condition(self._lock.inner)
        self._parked: list[Any] = []

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        ctl = controller()
        if ctl is None:
            return self._real.wait(timeout)
        self._lock.release()
        try:
            return ctl.block(self._parked, timeout)
        finally:
            self._lock.acquire()

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        deadline = None if timeout is None else monotonic() + timeout
        result = predicate()
        while not result:
            left = None if deadline is None else deadline - monotonic()
            if left is not None and left <= 0:
                break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        self._real.notify(n)
        woken, self._parked = self._parked[:n], self._parked[n:]
        for task in woken:
            task.scheduler.wake(task)

    def notify_all(self) -> None:
        self._real.notify_all()
        parked, self._parked = self._parked, []
        for task in parked:
            task.scheduler.wake(task)


class Event:
    def __init__(self) -> None:
        self._cond = Condition()
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            return bool(self._cond.wait_for(lambda: self._flag, timeout))


class Semaphore:
    def __init__(self, value: int = 1) -> None:
        self._cond = Condition()
        self._value = value

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        with self._cond:
            if not blocking and self._value <= 0:
                return False
            if not self._cond.wait_for(lambda: self._value > 0, timeout):
                return False
            self._value -= 1
            return True

    def release(self) -> None:
        with self._cond:
            self._value += 1
            self._cond.notify()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


class Queue:
    """The part of queue.Queue the services use: put, and get with a timeout (queue.Empty)."""

    def __init__(self) -> None:
        self._cond = Condition()
        self._items: collections.deque[Any] = collections.deque()

    def put(self, item: Any) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout if block else 0):
                raise queue.Empty
            return self._items.popleft()


class Thread:
    """threading.Thread(target, name, daemon=True): a scheduler task when started from a bound
    thread (it is bound too), a real daemon thread otherwise."""

    def __init__(self, target: Callable[..., object], name: str,
                 args: tuple[Any, ...] = ()) -> None:
        self.name = name
        self._target = target
        self._args = args
        self._done = Event()
        self._started = False

    def start(self) -> None:
        self._started = True
        ctl = controller()
        if ctl is None:
            threading.Thread(target=self._body, name=self.name, daemon=True).start()
        else:
            ctl.spawn(self._body, self.name)

    def _body(self) -> None:
        try:
            self._target(*self._args)
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        if self._started:
            self._done.wait(timeout)

    def is_alive(self) -> bool:
        return self._started and not self._done.is_set()
