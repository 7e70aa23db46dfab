"""The deterministic scheduler and the runtime seam: one seed one interleaving, simulated time,
and threads outside a deterministic run untouched."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from altsim import runtime
from altsim.clock import SIM_EPOCH
from altsim.sim.executor import DeterministicExecutor
from altsim.sim.scheduler import DeterministicScheduler, SchedulerError


def _interleaving(seed: int, workers: int = 4, steps: int = 5) -> list[str]:
    """Which worker ran each step when `workers` threads each yield `steps` times."""
    trace: list[str] = []

    def worker(name: str) -> None:
        for _ in range(steps):
            trace.append(name)
            runtime.yield_point("step")

    def main() -> None:
        threads = [runtime.Thread(target=worker, name=f"w{i}", args=(f"w{i}",))
                   for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    DeterministicScheduler(seed).run(main)
    return trace


def test_same_seed_same_interleaving_other_seeds_others():
    assert _interleaving(7) == _interleaving(7)
    orders = {tuple(_interleaving(seed)) for seed in range(1, 9)}
    assert len(orders) > 1, "every seed gave the same order: the seed decides nothing"


def test_every_thread_runs_to_its_end():
    trace = _interleaving(3, workers=3, steps=4)
    assert sorted(trace) == sorted([f"w{i}" for i in range(3)] * 4)


def test_sleep_moves_simulated_time_only():
    # Given threads sleeping for an hour and for a minute
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        runtime.sleep(seconds)
        woke.append((name, runtime.monotonic()))

    def main() -> float:
        threads = [runtime.Thread(target=sleeper, name=n, args=(n, s))
                   for n, s in (("hour", 3600.0), ("minute", 60.0))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return runtime.time()

    began = time.monotonic()
    # When the scheduler runs them
    now = DeterministicScheduler(1).run(main)
    # Then they wake in simulated order at simulated times, at once on the wall clock
    assert woke == [("minute", 60.0), ("hour", 3600.0)]
    assert now == SIM_EPOCH + 3600.0
    assert time.monotonic() - began < 5


def test_a_wait_with_a_timeout_times_out_in_simulated_time():
    def main() -> tuple[bool, float]:
        event = runtime.Event()
        return event.wait(30.0), runtime.monotonic()

    assert DeterministicScheduler(1).run(main) == (False, 30.0)


def test_uuids_repeat_with_the_seed():
    def main() -> list[str]:
        return [str(runtime.uuid4()) for _ in range(3)]

    assert DeterministicScheduler(5).run(main) == DeterministicScheduler(5).run(main)
    assert DeterministicScheduler(5).run(main) != DeterministicScheduler(6).run(main)


def test_a_deadlock_is_an_error_naming_the_waiters():
    def main() -> None:
        runtime.Event().wait()  # nobody will ever set it, and no timer is running

    with pytest.raises(SchedulerError, match="deadlock.*main"):
        DeterministicScheduler(1).run(main)


def test_a_lock_held_across_a_yield_makes_the_other_thread_wait_in_the_scheduler():
    lock = runtime.Lock()
    trace: list[str] = []

    def holder() -> None:
        with lock:
            trace.append("holder in")
            runtime.yield_point("inside")
            trace.append("holder out")

    def other() -> None:
        with lock:
            trace.append("other in")

    def main() -> None:
        threads = [runtime.Thread(target=holder, name="holder"),
                   runtime.Thread(target=other, name="other")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for seed in range(1, 6):
        trace.clear()
        DeterministicScheduler(seed).run(main)
        assert trace.index("holder out") == trace.index("holder in") + 1, trace


def test_the_executor_keeps_at_most_max_workers_busy():
    busy, most = [0], [0]

    def job() -> None:
        busy[0] += 1
        most[0] = max(most[0], busy[0])
        runtime.yield_point("work")
        busy[0] -= 1

    def main() -> None:
        executor = DeterministicExecutor(max_workers=2)
        for _ in range(6):
            executor.submit(job)
        executor.shutdown(wait=True)

    DeterministicScheduler(2).run(main)
    assert most[0] == 2 and busy[0] == 0


def test_outside_a_deterministic_run_the_runtime_is_the_real_one():
    assert not runtime.is_deterministic()
    assert abs(runtime.time() - time.time()) < 1.0
    event, seen = runtime.Event(), []
    thread = runtime.Thread(target=lambda: seen.append(threading.current_thread().name),
                            name="real-worker")
    thread.start()
    thread.join(5)
    event.set()
    assert seen == ["real-worker"] and event.wait(0)
    runtime.yield_point("nothing")  # a no-op
    with pytest.raises(queue.Empty):
        runtime.Queue().get(timeout=0.01)
