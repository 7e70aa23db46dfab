"""The deterministic scheduler: real threads that run one at a time, in an order a seed decides.

Each task is an ordinary OS thread, bound to the scheduler through altsim.runtime, that runs
only while it holds the baton. It hands the baton on at a yield point (a message sent, a
placement request, a DB transaction), when it waits (runtime Lock, Condition, Event, Queue,
sleep) or when it ends, to the next task, which it picks among the runnable ones with a PRNG
seeded by the schedule seed (the thread that called `run` only watches). When nothing can
run it moves the simulated clock to the earliest timer (a sleep or a wait with a timeout) and
wakes what was waiting for it. So one seed gives one interleaving, and the same code runs as in
every other mode: only the points where threads give way are decided here.

Why threads and not coroutines: the services, oslo.messaging's RPC servers and SQLAlchemy are
synchronous code; running them on threads that take turns changes none of it. Why a baton and
not a global lock: the scheduler must know who *could* run to choose among them, and who is
waiting for what to know when time may jump.

A task that blocks the operating-system way (a real lock held by a parked task, a real sleep)
keeps the baton; after `watchdog_s` of wall time the run stops with an error naming the task and
where it is, rather than hanging.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from altsim import runtime
from altsim.clock import SimulatedClock

LOG = logging.getLogger(__name__)

RUNNABLE, BLOCKED, DONE = "runnable", "blocked", "done"


class SchedulerError(RuntimeError):
    """The run cannot go on: every task waits for something that will never come, or a task
    kept the baton too long."""


class _Abandoned(BaseException):
    """Raised in a task still parked when the run is over, so its thread unwinds and ends."""


class Task:
    __slots__ = ("scheduler", "name", "seq", "state", "wake_at", "notified", "go", "thread",
                 "waiting")

    def __init__(self, scheduler: DeterministicScheduler, name: str, seq: int) -> None:
        self.scheduler = scheduler
        self.name = name
        self.seq = seq
        self.state = RUNNABLE
        self.wake_at: float | None = None
        self.notified = False
        self.waiting = ""
        self.go = threading.Event()
        self.thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<task {self.seq} {self.name} {self.state} {self.waiting}>"


class DeterministicScheduler:
    """Runs `main` and every thread it starts, one at a time (see the module docstring)."""

    def __init__(self, schedule_seed: int, *, uuid_seed: int | None = None,
                 watchdog_s: float = 60.0) -> None:
        self.clock = SimulatedClock()
        self.schedule_seed = schedule_seed
        self._choices = random.Random(f"schedule:{schedule_seed}")
        # Separate streams, so drawing one more uuid never shifts a scheduling choice.
        self._uuids = random.Random(f"uuid:{schedule_seed if uuid_seed is None else uuid_seed}")
        self._jitter = random.Random(f"rng:{schedule_seed}")
        self._watchdog_s = watchdog_s
        self._mutex = threading.Lock()  # guards task states against unbound wakers
        self._tasks: list[Task] = []
        self._seq = 0
        self._current: Task | None = None
        self._back = threading.Event()  # set when the watcher in run() has news
        self._first: Task | None = None
        self._failure: SchedulerError | None = None
        self._closing = False
        self.steps = 0
        self.switches: dict[str, int] = {}

    # -- what runtime.Controller promises --------------------------------------------------

    def current_task(self) -> Task:
        task = self._current
        if task is None:
            raise SchedulerError("no task is running")
        return task

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._uuids.getrandbits(128), version=4)

    def rng(self) -> random.Random:
        return self._jitter

    def spawn(self, fn: Callable[[], object], name: str) -> Task:
        with self._mutex:
            self._seq += 1
            task = Task(self, name, self._seq)
            self._tasks.append(task)
        task.thread = threading.Thread(target=self._body, args=(task, fn),
                                       name=f"sim-{task.seq}-{name}", daemon=True)
        task.thread.start()
        return task

    def yield_point(self, what: str) -> None:
        task = self.current_task()
        self.switches[what] = self.switches.get(what, 0) + 1
        task.waiting = what
        self._switch(task)

    def block(self, waitlist: list[Any] | None, timeout: float | None) -> bool:
        """Park the running task until woken (True) or until `timeout` simulated seconds have
        passed (False); a task parked with neither waitlist nor timeout never wakes."""
        task = self.current_task()
        with self._mutex:
            task.state = BLOCKED
            task.notified = False
            task.wake_at = None if timeout is None else self.clock.elapsed + timeout
            task.waiting = "sleep" if waitlist is None else "wait"
            if waitlist is not None:
                waitlist.append(task)
        self._switch(task)
        if waitlist is not None and task in waitlist:
            waitlist.remove(task)
        return task.notified

    def wake(self, task: Task) -> None:
        with self._mutex:
            if task.state == BLOCKED:
                task.state = RUNNABLE
                task.notified = True
                task.wake_at = None

    # -- the baton ------------------------------------------------------------------------
    # The task that gives the baton up picks the next one and hands it over itself: one OS
    # thread switch per step rather than two through a scheduler thread (on a loaded machine
    # each switch waits for a CPU, and that wait was most of a big run's wall time). The
    # thread that called `run` only watches: for the first task to end, a failure, or a task
    # that keeps the baton too long.

    def run(self, main: Callable[[], Any], name: str = "main") -> Any:
        """Run `main` as the first task and every task it starts until `main` returns; return
        what it returned (or raise what it raised). Tasks still parked then are unwound."""
        outcome: dict[str, Any] = {}

        def body() -> None:
            try:
                outcome["value"] = main()
            except BaseException as exc:  # noqa: BLE001 - handed to run()'s caller
                outcome["error"] = exc

        first = self._first = self.spawn(body, name)
        try:
            self._hand_on()
            self._watch(first)
        finally:
            self._unwind()
        if self._failure is not None:
            raise self._failure
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def _watch(self, first: Task) -> None:
        seen = -1
        while first.state != DONE and self._failure is None:
            if self._back.wait(self._watchdog_s):
                self._back.clear()
                continue
            if self.steps == seen:
                task = self._current
                raise SchedulerError(
                    f"task {task.name if task else None!r} kept running for "
                    f"{self._watchdog_s:.0f} s of wall time without reaching a yield point "
                    f"(blocked on a lock or wait the scheduler does not control?):\n"
                    f"{_stack_of(task) if task else ''}")
            seen = self.steps

    def _hand_on(self) -> None:
        """Pick the next task (the PRNG decides among the runnable ones; when none can run,
        time jumps to the earliest timer) and give it the baton."""
        try:
            with self._mutex:
                while not (runnable := [t for t in self._tasks if t.state == RUNNABLE]):
                    self._advance_locked()
                task = runnable[self._choices.randrange(len(runnable))] \
                    if len(runnable) > 1 else runnable[0]
                self.steps += 1
        except SchedulerError as exc:
            self._failure = exc  # run() raises it once every task is unwound
            self._back.set()
            return
        self._current = task
        task.go.set()

    def _advance_locked(self) -> None:
        timers = [t.wake_at for t in self._tasks if t.state == BLOCKED and t.wake_at is not None]
        if not timers:
            raise SchedulerError("deadlock: every task waits and no timer is set: "
                                 + ", ".join(repr(t) for t in self._tasks))
        self.clock.advance_to(min(timers))
        for task in self._tasks:
            if task.state == BLOCKED and task.wake_at is not None \
                    and task.wake_at <= self.clock.elapsed:
                task.state = RUNNABLE
                task.wake_at = None

    def _switch(self, task: Task) -> None:
        """From the running task: hand the baton on and wait to be picked again."""
        if self._closing:
            raise _Abandoned()
        task.go.clear()
        self._hand_on()
        task.go.wait()
        if self._closing:
            raise _Abandoned()

    def _body(self, task: Task, fn: Callable[[], object]) -> None:
        task.go.wait()
        runtime.bind_thread(self)
        try:
            if not self._closing:
                fn()
        except _Abandoned:
            pass
        except BaseException:  # noqa: BLE001 - a task's failure is logged, the run goes on
            LOG.exception("Task %s failed", task.name)
        finally:
            runtime.bind_thread(None)
            with self._mutex:
                task.state = DONE
                self._tasks.remove(task)
            if task is self._first or self._closing:
                self._back.set()
            else:
                self._hand_on()

    def _unwind(self) -> None:
        """End the threads of tasks left parked (a server's idle wait, a stray timer)."""
        self._closing = True
        for task in list(self._tasks):
            self._back.clear()
            task.go.set()
            self._back.wait(5.0)

    def describe(self) -> dict[str, Any]:
        return {"steps": self.steps, "sim_time_s": round(self.clock.elapsed, 6),
                "tasks_spawned": self._seq}


def _stack_of(task: Task) -> str:
    thread = task.thread
    frame = sys._current_frames().get(thread.ident) if thread is not None else None
    return "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)"
