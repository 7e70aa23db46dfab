"""The runner's collector: finished from notifications, and, once the run has gone quiet,
from the cell DBs for instances whose notification was lost."""

from __future__ import annotations

import threading
import time

import pytest

from altsim_lab.scenario import collector as collector_module
from altsim_lab.scenario.collector import Collector


@pytest.fixture(autouse=True)
def short_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector_module, "QUIET_S", 0.05)


def test_notified_instances_finish_without_any_db_look_up():
    collector = Collector([])
    looked_up: list[set[str]] = []
    collector.handle("instance.create.end", {"instance_uuid": "a"})
    collector.handle("compute_task.build_instances.error", {"instance_uuid": "b"})
    assert collector.wait_for(["a", "b"], 1.0, lambda missing: looked_up.append(missing) or {})
    assert looked_up == []
    assert {u: s for u, (s, _) in collector.finished.items()} == {"a": "ACTIVE", "b": "ERROR"}
    assert collector.unnotified == set()


def test_a_lost_notification_is_made_up_from_the_dbs_once_quiet():
    finished: list[tuple[str, str]] = []
    collector = Collector([], on_finished=lambda u, s: finished.append((u, s)))
    collector.handle("instance.create.end", {"instance_uuid": "a"})
    looked_up: list[set[str]] = []

    ended_at = time.time() - 30.0  # committed long before the look-up found it

    def reconcile(missing: set[str]) -> dict[str, tuple[str, float]]:
        looked_up.append(set(missing))
        return {"b": ("ERROR", ended_at)} if "b" in missing else {}

    assert collector.wait_for(["a", "b"], 5.0, reconcile)
    assert looked_up == [{"b"}]  # only what was missing, once
    # It finished when its DB says, not when it was found.
    assert collector.finished["b"] == ("ERROR", ended_at)
    assert collector.finished["a"][1] > ended_at
    assert collector.unnotified == {"b"}
    assert finished == [("a", "ACTIVE"), ("b", "ERROR")]


def test_a_build_still_running_is_looked_up_again_and_times_out_if_it_never_ends():
    collector = Collector([])
    calls = 0

    def reconcile(missing: set[str]) -> dict[str, tuple[str, float]]:
        nonlocal calls
        calls += 1
        return {}

    started = time.monotonic()
    assert not collector.wait_for(["c"], 0.4, reconcile)
    assert 0.4 <= time.monotonic() - started < 2.0
    assert calls >= 2  # once per quiet spell, not in a busy loop
    assert calls < 20


def test_a_notification_arriving_meanwhile_wins_over_the_look_up():
    collector = Collector([])
    threading.Timer(0.01, collector.handle,
                    ("instance.create.end", {"instance_uuid": "d"})).start()
    assert collector.wait_for(["d"], 2.0, lambda missing: {})
    assert collector.unnotified == set()


def test_an_active_instance_finished_when_its_compute_launched_it_not_when_heard():
    # A create.end heard late (a busy broker, a busy runner) still dates the build right.
    collector = Collector([])
    launched_at = time.time() - 5.0
    collector.handle("instance.create.end", {"instance_uuid": "e", "launched_at": launched_at})
    collector.handle("instance.create.error", {"instance_uuid": "f"})
    assert collector.finished["e"] == ("ACTIVE", launched_at)
    assert collector.finished["f"][1] > launched_at + 4.0  # no date given: when heard
    assert collector.unnotified == set()
