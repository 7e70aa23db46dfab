"""altsim.prompt_stop_pool: queued work is done first, then idle workers stop without waiting
for their queue poll to time out."""

from __future__ import annotations

import threading

import futurist
from futurist import _thread as futurist_thread

from altsim.prompt_stop_pool import PromptStopThreadPool
from altsim.sim import executor as sim_executor


def _shutdown_in_thread(pool: futurist.ThreadPoolExecutor) -> threading.Thread:
    stopper = threading.Thread(target=pool.shutdown, daemon=True)
    stopper.start()
    return stopper


def test_idle_workers_stop_without_waiting_for_their_poll(monkeypatch) -> None:
    # Given idle workers whose queue poll would wait a minute
    monkeypatch.setattr(futurist_thread.ThreadWorker, "MAX_IDLE_FOR", 60)
    pool = PromptStopThreadPool(max_workers=4)
    for future in [pool.submit(lambda: None) for _ in range(4)]:
        future.result(timeout=5)
    # When the pool shuts down, Then it returns long before the poll would end
    stopper = _shutdown_in_thread(pool)
    stopper.join(timeout=10)
    assert not stopper.is_alive()
    assert not any(worker.is_alive() for worker in pool._workers)


def test_plain_futurist_pool_waits_for_the_poll(monkeypatch) -> None:
    # The reason for the class: the same pool from futurist is still stopping after 2 s.
    monkeypatch.setattr(futurist_thread.ThreadWorker, "MAX_IDLE_FOR", 60)
    pool = futurist.ThreadPoolExecutor(max_workers=2)
    pool.submit(lambda: None).result(timeout=5)
    stopper = _shutdown_in_thread(pool)
    stopper.join(timeout=2)
    assert stopper.is_alive()
    for worker in pool._workers:  # let it go now
        worker.stop()
        pool._work_queue.put(futurist._utils.WorkItem(futurist.Future(), lambda: None))


def test_queued_work_is_done_before_shutdown_returns() -> None:
    pool = PromptStopThreadPool(max_workers=1)
    release = threading.Event()
    done: list[int] = []
    pool.submit(release.wait, 5)
    futures = [pool.submit(done.append, n) for n in range(5)]
    release.set()
    pool.shutdown(wait=True)
    assert done == [0, 1, 2, 3, 4]
    assert all(future.done() for future in futures)


class _Server:
    _executor_cls = futurist.ThreadPoolExecutor


def test_servers_get_the_prompt_pool_outside_a_deterministic_run() -> None:
    assert sim_executor.use_for(_Server())._executor_cls is PromptStopThreadPool
