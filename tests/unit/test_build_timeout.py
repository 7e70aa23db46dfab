"""The build-timeout sweep (conductor/tasks/build_timeout.py) and the races around it.

A real BuildTimeout on a real cell DB and placement with a recording notifier and a clock the
test sets; the computes and the reschedule are the real ones, their RPC peers recorders. The
races are made deterministic by running the other side at the exact point where it interleaves
(inside the sweep's read, or inside the compute's spawn), never by sleeping.
"""

from __future__ import annotations

import threading

import pytest

from altsim import memory_driver, rpc
from altsim.db.cell import CellDatabase
from altsim.events import BUILD_EVENT, TIMEOUT_EVENT
from altsim.objects import RetryInfo
from altsim.periodic import PeriodicTask
from altsim_lab.testing import FakeComputeAPI, FakeConductorAPI, FakeNotifier, make_test_conf
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.manager import ComputeManager
from conductor.service import build_timeout_sweeper, legacy_retry_sweeper
from conductor.tasks.attempts import Attempts
from conductor.tasks.build_timeout import BuildTimeout
from conductor.tasks.reschedule import Reschedule

TIMEOUT_S = 60.0
ERROR_EVENT = "compute_task.build_instances.error"


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    return world


class Sweep:
    """A sweep of cell1 whose clock is `created_at + ahead` of the instance it is given."""

    def __init__(self, world, cell_db: CellDatabase | None = None) -> None:
        self.world = world
        self.notifier = FakeNotifier()
        self.now = 0.0
        self.task = BuildTimeout(cell_db or world.cell_dbs[world.cell_uuid("cell1")],
                                 world.placement, self.notifier, TIMEOUT_S,
                                 world.cell_uuid("cell1"), clock=lambda: self.now)

    def after(self, instance, seconds: float) -> list[str]:
        self.now = self.world.row(instance)["created_at"] + seconds
        return self.task()

    def errors(self) -> list[dict]:
        return self.notifier.of_type(ERROR_EVENT)


def timeout_events(world, instance) -> list:
    return [e for e in world.events(instance) if e.event == TIMEOUT_EVENT]


# -- the sweep itself -----------------------------------------------------------------------------

def test_a_build_past_the_timeout_is_error_with_a_fault_an_event_no_claim_and_a_notification(
        cell):
    # Given a build stuck on h1 (its claim still there)
    instance = cell.create_instance("web-1", claim_on="h1")
    sweep = Sweep(cell)

    # When the sweep runs after the timeout
    assert sweep.after(instance, TIMEOUT_S + 1) == [instance.uuid]

    # Then it is ERROR with Nova's abort text and the reason, its claim is gone, the event
    # names the host it was stuck on, and the same error notification as any failure is sent
    row = cell.row(instance)
    assert (row["vm_state"], row["task_state"]) == ("error", None)
    fault = cell.fault(instance)
    assert fault.startswith(f"Build of instance {instance.uuid} aborted: Instance build "
                            f"timed out after {TIMEOUT_S + 1:.1f} s in BUILD")
    assert cell.cell_dbs[instance.cell_uuid].list_faults()[instance.uuid].details == \
        "BuildTimedOut"
    assert cell.allocations(instance.uuid) == {}
    [event] = timeout_events(cell, instance)
    assert (event.result, event.host, event.reason) == ("timed_out", "h1",
                                                        "Instance build timed out")
    assert event.details == {"build_timeout_s": TIMEOUT_S, "building_s": TIMEOUT_S + 1}
    [payload] = sweep.errors()
    assert payload == {"instance_uuid": instance.uuid, "name": "web-1",
                       "cell_uuid": instance.cell_uuid, "state": "error", "fault": fault}
    assert sweep.notifier.priorities(ERROR_EVENT) == ["error"]


def test_a_build_within_the_timeout_is_left_alone(cell):
    instance = cell.create_instance("web-1", claim_on="h1")
    sweep = Sweep(cell)
    assert sweep.after(instance, TIMEOUT_S - 1) == []
    assert cell.row(instance)["vm_state"] == "building"
    assert list(cell.allocations(instance.uuid)) == ["h1"]
    assert timeout_events(cell, instance) == [] and sweep.errors() == []


def test_finished_instances_are_never_swept_however_old(cell):
    active = cell.create_instance("web-1", claim_on="h1")
    cell.cell_dbs[active.cell_uuid].update_instance(active.uuid, vm_state="active",
                                                    task_state=None, host="h1")
    failed = cell.create_instance("web-2")
    cell.cell_dbs[failed.cell_uuid].update_instance(failed.uuid, vm_state="error",
                                                    task_state=None)
    sweep = Sweep(cell)
    assert sweep.after(active, 10 * TIMEOUT_S) == []
    assert [cell.row(i)["vm_state"] for i in (active, failed)] == ["active", "error"]
    assert list(cell.allocations(active.uuid)) == ["h1"]
    assert sweep.errors() == []


def test_a_timed_out_build_between_two_hosts_is_swept_too(cell):
    """Nova's task only sees the instances on its own host; a build waiting for its reschedule
    (no host, no claim) is still this cell's."""
    instance = cell.create_instance("web-1")
    sweep = Sweep(cell)
    assert sweep.after(instance, TIMEOUT_S + 1) == [instance.uuid]
    [event] = timeout_events(cell, instance)
    assert event.host is None
    assert len(sweep.errors()) == 1


def test_a_sweep_is_one_pass_over_every_stuck_build_of_the_cell(cell):
    stuck = [cell.create_instance(f"web-{n}", claim_on=f"h{n}") for n in (1, 2, 3)]
    sweep = Sweep(cell)
    assert sorted(sweep.after(stuck[-1], TIMEOUT_S + 1)) == sorted(i.uuid for i in stuck)
    assert sweep.task() == []  # nothing left to time out
    assert len(sweep.errors()) == 3


# -- the race with a build that finishes ---------------------------------------------------------

class FinishesWhileSwept(CellDatabase):
    """The cell DB as the sweep sees it when the compute's ACTIVE commits between the sweep's
    SELECT of stuck builds and its conditional UPDATE."""

    def list_stuck_builds(self, created_before: float):  # type: ignore[no-untyped-def]
        found = super().list_stuck_builds(created_before)
        for build in found:
            self.update_instance(build.uuid, vm_state="active", task_state=None, host="h1")
        return found


def test_an_instance_that_just_went_active_is_not_turned_to_error(cell):
    # Given a build the sweep finds stuck, which goes ACTIVE before the sweep changes it
    instance = cell.create_instance("web-1", claim_on="h1")
    racing_db = FinishesWhileSwept(cell.cell_dbs[instance.cell_uuid].url)
    sweep = Sweep(cell, racing_db)

    # When the sweep runs
    assert sweep.after(instance, TIMEOUT_S + 1) == []

    # Then the ACTIVE instance keeps its state, its claim, and gets no fault, event or error
    row = cell.row(instance)
    assert (row["vm_state"], row["host"]) == ("active", "h1")
    assert cell.fault(instance) is None
    assert timeout_events(cell, instance) == []
    assert list(cell.allocations(instance.uuid)) == ["h1"]
    assert sweep.errors() == []


class SweptDuringSpawn:
    """A compute on h1 whose spawn takes long enough for the sweep to time the build out."""

    def __init__(self, world, action: str | None) -> None:
        rules = [FaultRule(hosts=["h1"], latency_ms=5)]
        if action is not None:
            rules.append(FaultRule(hosts=["h1"], action=action, reason="late failure"))
        self.sweep = Sweep(world)
        self.instance = None
        self.conductor_api = FakeConductorAPI()
        self.notifier = FakeNotifier()
        self.manager = ComputeManager(
            world.hosts["h1"], world.cell_db_of("h1"), world.placement, self.conductor_api,
            self.notifier, FaultInjector(rules, 0),
            sleep=lambda _s: self.sweep.after(self.instance, TIMEOUT_S + 1))

    def build(self, world, instance) -> None:
        self.instance = instance
        self.manager.build_and_run_instance(
            {"request_id": "req-c"}, instance, world.spec(instance.name),
            RetryInfo(num_attempts=1, hosts=[("h1", "h1")]), [world.selection("h2")], {})


@pytest.mark.parametrize("action", [None, "reschedule", "abort"],
                         ids=["would-be-active", "would-reschedule", "would-abort"])
def test_a_spawn_that_ends_after_its_build_timed_out_leaves_it_in_error(cell, action):
    # Given a spawn on h1 during which the sweep times the build out
    instance = cell.create_instance("web-1", claim_on="h1")
    compute = SweptDuringSpawn(cell, action)

    # When the spawn then ends, whatever its outcome
    compute.build(cell, instance)

    # Then the instance stays as the sweep left it: ERROR with the timeout fault, no claim,
    # no reschedule cast, nothing notified by the compute, the host not blamed; the attempt
    # itself is recorded as timed_out
    row = cell.row(instance)
    assert (row["vm_state"], row["host"]) == ("error", None)
    assert "Instance build timed out" in cell.fault(instance)
    assert cell.allocations(instance.uuid) == {}
    assert compute.conductor_api.build_instances_casts == []
    assert compute.notifier.events == []
    assert len(compute.sweep.errors()) == 1
    assert cell.failed_builds("h1") == 0
    [attempt] = [e for e in cell.events(instance) if e.event == BUILD_EVENT]
    assert (attempt.host, attempt.result) == ("h1", "timed_out")


def test_a_reschedule_that_arrives_after_the_timeout_is_not_cast_and_leaves_no_claim(cell):
    # Given a build that timed out while its reschedule was on its way to the cell conductor
    instance = cell.create_instance("web-1")
    sweep = Sweep(cell)
    sweep.after(instance, TIMEOUT_S + 1)
    compute_api = FakeComputeAPI(cell.cell_uuid("cell1"))
    notifier = FakeNotifier()
    reschedule = Reschedule(cell.cell_dbs[instance.cell_uuid], cell.placement, compute_api,
                            notifier, Attempts(3))

    # When the cell conductor handles it: it claims h2, then finds the build over
    reschedule({"request_id": "req-r"}, instance, cell.spec("web-1"),
               RetryInfo(num_attempts=1, hosts=[("h1", "h1")], exc_reason="x"),
               [cell.selection("h2"), cell.selection("h3")])

    # Then nothing is cast, the claim it made is given back, and nothing more is notified
    assert compute_api.casts == []
    assert cell.allocations(instance.uuid) == {}
    assert cell.row(instance)["vm_state"] == "error"
    assert notifier.of_type(ERROR_EVENT) == []


def test_a_reschedule_failing_after_the_timeout_keeps_the_timeout_fault(cell):
    instance = cell.create_instance("web-1")
    sweep = Sweep(cell)
    sweep.after(instance, TIMEOUT_S + 1)
    notifier = FakeNotifier()
    reschedule = Reschedule(cell.cell_dbs[instance.cell_uuid], cell.placement,
                            FakeComputeAPI(), notifier, Attempts(3))
    reschedule({"request_id": "req-r"}, instance, cell.spec("web-1"),
               RetryInfo(num_attempts=1, hosts=[("h1", "h1")]), [])  # exhausted
    assert "Instance build timed out" in cell.fault(instance)
    assert notifier.of_type(ERROR_EVENT) == []


# -- the hang fault -------------------------------------------------------------------------------

def test_a_hanging_spawn_never_answers(cell):
    rule = FaultRule(hosts=["h1"], action="hang", first=1)
    assert FaultInjector([rule], 0).decide("h1", "some-uuid", 1).action == "hang"
    notifier, conductor_api = FakeNotifier(), FakeConductorAPI()
    compute = ComputeManager(cell.hosts["h1"], cell.cell_db_of("h1"), cell.placement,
                             conductor_api, notifier, FaultInjector([rule], 0),
                             sleep=lambda s: None)
    instance = cell.create_instance("web-1", claim_on="h1")
    compute.build_and_run_instance({}, instance, cell.spec("web-1"),
                                   RetryInfo(hosts=[("h1", "h1")]), [cell.selection("h2")], {})
    # The instance stays in BUILD with its claim; nothing recorded, cast or notified.
    assert cell.row(instance)["vm_state"] == "building"
    assert list(cell.allocations(instance.uuid)) == ["h1"]
    assert [e.event for e in cell.events(instance)] == []
    assert conductor_api.build_instances_casts == [] and notifier.events == []
    # Then the sweep is what ends it.
    assert Sweep(cell).after(instance, TIMEOUT_S + 1) == [instance.uuid]


# -- the periodic task and its wiring -------------------------------------------------------------

def test_the_periodic_task_runs_until_stopped_and_survives_a_failure():
    ran = threading.Event()
    calls = []

    def task() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first sweep fails")
        ran.set()

    periodic = PeriodicTask("test-periodic", 0.01, task)
    periodic.start()
    assert ran.wait(10), "the task did not run again after failing"
    periodic.stop()
    assert not periodic.running
    count = len(calls)
    periodic.stop()  # twice is fine
    assert len(calls) == count


def test_stop_does_not_wait_for_the_interval():
    periodic = PeriodicTask("test-periodic", 3600, lambda: None)
    periodic.start()
    stopped = threading.Event()
    threading.Thread(target=lambda: (periodic.stop(), stopped.set()), daemon=True).start()
    assert stopped.wait(10)
    assert not periodic.running


def test_build_timeout_options_and_0_disables_the_sweep(cell):
    conf = make_test_conf()
    assert (conf.conductor.build_timeout, conf.conductor.build_timeout_interval) == (600.0, 60.0)
    cell_db = cell.cell_dbs[cell.cell_uuid("cell1")]
    off = make_test_conf({"conductor.build_timeout": 0})
    assert build_timeout_sweeper(off, None, cell_db, cell.placement) is None
    on = make_test_conf({"conductor.build_timeout": 5, "conductor.build_timeout_interval": 0.5})
    transport = rpc.get_notification_transport(on, "memory:///test-build-timeout-wiring")
    try:
        sweeper = build_timeout_sweeper(on, transport, cell_db, cell.placement)
        assert isinstance(sweeper, PeriodicTask) and not sweeper.running
    finally:
        transport.cleanup()
        memory_driver.delete_vhost("test-build-timeout-wiring")
    with pytest.raises(ValueError):
        BuildTimeout(cell_db, cell.placement, FakeNotifier(), 0)


def test_with_legacy_retry_the_super_conductor_sweeps_the_one_cell(cell, monkeypatch):
    conf = make_test_conf({"scheduler.legacy_retry": True,
                           "api_database.connection": cell.api_db.url})
    built = []
    monkeypatch.setattr("conductor.service.build_timeout_sweeper",
                        lambda conf, transport, cell_db, placement, cell_uuid: built.append(
                            (cell_db.url, cell_uuid)))
    legacy_retry_sweeper(conf, None, cell.placement)
    assert built == [(cell.cell_dbs[cell.cell_uuid("cell1")].url, cell.cell_uuid("cell1"))]
    assert legacy_retry_sweeper(make_test_conf(), None, cell.placement) is None


def test_an_expect_block_counts_timed_out_builds():
    from altsim_lab.scenario.expectations import check_expectations
    from altsim_lab.scenario.schema import Expectations

    report = {"summary": {"timed_out": 1}, "instances": []}
    [check] = check_expectations(Expectations(timed_out=2), report)
    assert check == {"check": "timed_out", "ok": False, "detail": "expected 2, got 1"}
    assert check_expectations(Expectations(timed_out=1), report)[0]["ok"]
