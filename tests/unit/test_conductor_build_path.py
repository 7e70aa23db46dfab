"""The whole build path in-process: super conductor -> compute -> cell conductor -> compute ...

`Loopback` (altsim_lab.testing) wires the real ScheduleAndBuild, SchedulerManager, ComputeManager
and Reschedule of a world together; casts are queued and run in order, as a bus would deliver
them. Placement and the databases are real, so allocations and failed_builds are the real ones.
"""

from __future__ import annotations

import pytest

from altsim_lab.testing import SMALL, Loopback, make_test_conf
from compute_sim.faults import FaultRule

HOSTS = ["h1", "h2", "h3", "h4", "h5"]


def conf_for(max_attempts: int, **extra):
    return make_test_conf({
        "scheduler.max_attempts": max_attempts,
        "filter_scheduler.static_host_weights": {"h1": "50", "h2": "40", "h3": "30",
                                                 "h4": "20", "h5": "10"},
        **extra})


def fail(hosts: list[str], **kwargs) -> FaultRule:
    return FaultRule(hosts=hosts, action="reschedule", reason="spawn failed", **kwargs)


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", HOSTS)
    return world


def zero(world, host: str) -> bool:
    return set(world.usage(host).values()) == {0}


# -- rule 23 --------------------------------------------------------------------------------------

def test_rule_23_after_a_successful_reschedule_only_the_final_host_has_allocations(cell):
    loop = Loopback(cell, conf_for(3), [fail(["h1", "h2"])])
    [uuid] = loop.build(["web-1"])
    assert loop.spawn_hosts(uuid) == [("h1", "rescheduled"), ("h2", "rescheduled"),
                                      ("h3", "active")]
    assert cell.row(uuid)["vm_state"] == "active"
    assert cell.row(uuid)["host"] == "h3"
    assert cell.allocations(uuid) == {"h3": SMALL.resources}
    for host in ("h1", "h2", "h4", "h5"):
        assert zero(cell, host), host


# -- rule 24 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("max_attempts", "fault_start"), [
    (3, "Exceeded maximum number of retries. Exceeded max scheduling attempts 3"),
    # Five hosts, five attempts: the count is checked before the (now empty) list, as in Nova.
    (5, "Exceeded maximum number of retries. Exceeded max scheduling attempts 5"),
    (6, "Exceeded maximum number of retries. Exhausted all hosts available"),
])
def test_rule_24_after_a_terminal_reschedule_failure_there_are_no_allocations(
        cell, max_attempts, fault_start):
    loop = Loopback(cell, conf_for(max_attempts), [fail(["*"])])
    [uuid] = loop.build(["web-1"])
    row = cell.row(uuid)
    assert (row["vm_state"], row["task_state"]) == ("error", None)
    fault = cell.cell_dbs[cell.cell_uuid("cell1")].list_faults()[uuid].message
    assert fault.startswith(fault_start)
    assert cell.allocations(uuid) == {}
    assert cell.used_hosts() == set()


def test_rule_24_abort_after_a_reschedule_leaves_no_allocations(cell):
    loop = Loopback(cell, conf_for(3), [fail(["h1"]),
                                        FaultRule(hosts=["h2"], action="abort", reason="no")])
    [uuid] = loop.build(["web-1"])
    assert loop.spawn_hosts(uuid) == [("h1", "rescheduled"), ("h2", "aborted")]
    assert cell.allocations(uuid) == {}
    assert cell.used_hosts() == set()


# -- rule 25 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5, 8])
def test_rule_25_spawn_attempts_are_bounded_by_max_attempts_and_hosts_in_the_cell(
        world, max_attempts):
    """Every spawn fails. cell1 has three hosts, cell2 five (weighing less): a build chosen in
    cell1 can never try more than min(max_attempts, 3) hosts, and never a host of cell2."""
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    world.add_hosts("cell2", ["c2-1", "c2-2", "c2-3", "c2-4", "c2-5"])
    conf = make_test_conf({
        "scheduler.max_attempts": max_attempts,
        "filter_scheduler.static_host_weights": {"h1": "90", "h2": "80", "h3": "70"}})
    loop = Loopback(world, conf, [fail(["*"])])
    [uuid] = loop.build(["web-1"])
    attempts = loop.spawn_hosts(uuid)
    assert len(attempts) == min(max_attempts, 3)
    assert {host for host, _ in attempts} <= {"h1", "h2", "h3"}
    assert len({host for host, _ in attempts}) == len(attempts)  # never the same host twice
    assert world.row(uuid)["vm_state"] == "error"
    assert world.used_hosts() == set()


# -- rule 27 --------------------------------------------------------------------------------------

def test_rule_27_failed_builds_counts_failures_and_a_success_resets_it(cell):
    """h1 fails its first build (failed_builds 1 once the periodic task writes it); with the
    failure weigher switched off the next server lands on h1 again, succeeds there, and h1's
    counter is back to 0 (again at the periodic task)."""
    conf = conf_for(3, **{"filter_scheduler.build_failure_weight_multiplier": 0.0})
    loop = Loopback(cell, conf, [fail(["h1"], first=1)])
    [first] = loop.build(["web-1"])
    assert loop.spawn_hosts(first) == [("h1", "rescheduled"), ("h2", "active")]
    loop.update_available_resource()
    assert (cell.failed_builds("h1"), cell.failed_builds("h2")) == (1, 0)
    [second] = loop.build(["web-2"])
    assert loop.spawn_hosts(second) == [("h1", "active")]
    loop.update_available_resource()
    assert cell.failed_builds("h1") == 0


def test_rule_27_before_the_count_reaches_the_row_the_next_server_goes_to_the_failed_host(cell):
    """Nova: the failure is in h1's tracker, not yet in its row, so the failure weigher does
    not see it and web-2 goes to h1 again (where it succeeds: h1 failed its first build only)."""
    loop = Loopback(cell, conf_for(3), [fail(["h1"], first=1)])
    loop.build(["web-1"])
    [second] = loop.build(["web-2"])
    assert loop.spawn_hosts(second) == [("h1", "active")]


def test_rule_27_once_the_count_is_in_the_row_the_next_server_avoids_the_failed_host(cell):
    loop = Loopback(cell, conf_for(3), [fail(["h1"], first=1)])
    loop.build(["web-1"])
    loop.update_available_resource()
    [second] = loop.build(["web-2"])
    assert loop.spawn_hosts(second) == [("h2", "active")]


def test_rule_27_with_immediate_flush_the_next_server_avoids_the_failed_host_at_once(cell):
    conf = conf_for(3, **{"compute_sim.failed_builds_flush": "immediate"})
    loop = Loopback(cell, conf, [fail(["h1"], first=1)])
    loop.build(["web-1"])
    [second] = loop.build(["web-2"])
    assert loop.spawn_hosts(second) == [("h2", "active")]


# -- a multi-create through the whole path ---------------------------------------------------------

def test_multi_create_every_instance_ends_active_on_its_own_final_host(cell):
    loop = Loopback(cell, conf_for(3), [fail(["h1"])])
    uuids = loop.build(["web-1", "web-2", "web-3"])
    for uuid in uuids:
        assert cell.row(uuid)["vm_state"] == "active"
        [(host, result)] = [a for a in loop.spawn_hosts(uuid) if a[1] == "active"]
        assert cell.allocations(uuid) == {host: SMALL.resources}
    assert zero(cell, "h1")
