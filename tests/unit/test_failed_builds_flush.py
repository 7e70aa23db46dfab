"""[compute_sim] failed_builds_flush and [DEFAULT] update_resources_interval: when a host's
failed builds reach its compute node row (compute_sim/failed_builds.py, compute_sim/tracker.py,
compute_sim/service.py). The manager's side is in test_compute_manager.py and the whole build
path's in test_conductor_build_path.py."""

from __future__ import annotations

import threading

import pytest

from altsim import memory_driver, rpc
from altsim_lab.testing import SMALL, make_test_conf
from compute_sim.faults import FaultInjector
from compute_sim.service import ComputeSimService
from compute_sim.tracker import ResourceTracker


@pytest.fixture
def service_of(world):
    """A compute process (its RPC server never started) for the world's cell1 hosts."""
    made = []

    def make(overrides: dict) -> ComputeSimService:
        conf = make_test_conf(overrides)
        vhost = f"test-flush-{len(made)}"
        transport = rpc.get_rpc_transport(conf, f"memory:///{vhost}")
        notifications = rpc.get_notification_transport(conf, f"memory:///{vhost}")
        service = ComputeSimService(conf, transport, notifications,
                                    world.cell_dbs[world.cell_uuid("cell1")], world.placement,
                                    [world.hosts[h] for h in ("h1", "h2")],
                                    FaultInjector([], 0))
        made.append((service, transport, notifications, vhost))
        return service

    world.add_hosts("cell1", ["h1", "h2"])
    yield make
    for service, transport, notifications, vhost in made:
        if service.resource_updates is not None:
            service.resource_updates.stop()
        transport.cleanup()
        notifications.cleanup()
        memory_driver.delete_vhost(vhost)


def test_the_defaults_are_novas():
    conf = make_test_conf()
    assert conf.compute_sim.failed_builds_flush == "tracker"
    assert conf.update_resources_interval == 60.0


def test_the_tracker_writes_its_count_only_when_it_writes_anyway(world):
    world.add_host("h1")
    tracker = ResourceTracker(world.hosts["h1"], world.cell_db_of("h1"), check_fit=False)
    tracker.build_failed()
    tracker.build_failed()
    assert world.failed_builds("h1") == 0
    tracker.claim("a", SMALL.resources)  # Nova's instance_claim -> _update
    assert world.failed_builds("h1") == 2
    tracker.build_succeeded()
    tracker.release("a")  # Nova's abort_instance_claim -> _update
    assert world.failed_builds("h1") == 0


def test_an_immediate_tracker_never_writes_failed_builds(world):
    world.add_host("h1")
    world.set_compute_node("h1", failed_builds=3)  # written with the outcomes, elsewhere
    tracker = ResourceTracker(world.hosts["h1"], world.cell_db_of("h1"), check_fit=False,
                              keeps_failed_builds=False)
    tracker.build_failed()
    tracker.claim("a", SMALL.resources)
    assert not tracker.update_available_resource()
    assert world.failed_builds("h1") == 3
    assert world.node_usage("h1") == SMALL.resources


def test_the_periodic_task_writes_every_hosts_pending_count(service_of, world):
    service = service_of({"update_resources_interval": 0.01})
    failing, written = service.trackers[0], threading.Event()
    update = failing.update_available_resource

    def noting_the_write() -> bool:
        wrote = update()
        if wrote:
            written.set()
        return wrote

    failing.update_available_resource = noting_the_write  # type: ignore[method-assign]
    failing.build_failed()
    assert world.failed_builds("h1") == 0
    service.resource_updates.start()
    assert written.wait(10), "the periodic task never wrote h1's failed build"
    assert (world.failed_builds("h1"), world.failed_builds("h2")) == (1, 0)
    assert service.update_available_resource() == 0  # nothing left to write


def test_an_interval_of_0_runs_no_periodic_task(service_of):
    service = service_of({"update_resources_interval": 0})
    assert service.resource_updates is None
    service.trackers[1].build_failed()
    assert service.update_available_resource() == 1  # still callable by hand


@pytest.mark.parametrize(("flush", "keeps"), [("tracker", True), ("immediate", False)])
def test_the_option_decides_who_writes_the_count(service_of, world, flush, keeps):
    service = service_of({"compute_sim.failed_builds_flush": flush})
    service.trackers[0].build_failed()
    assert service.update_available_resource() == int(keeps)
    assert world.failed_builds("h1") == int(keeps)


def test_the_report_counts_failed_builds_as_the_computes_do():
    """altsim_lab/scenario/report.py: per host, failures since its last success, from the
    attempts in the order they ended, whatever the rows say yet."""
    from altsim.db.cell import ActionEvent
    from altsim.events import BUILD_EVENT, CLAIM_EVENT
    from altsim_lab.scenario.report import failed_build_counts

    def attempt(host: str, result: str, at: float, event: str = BUILD_EVENT) -> ActionEvent:
        return ActionEvent(event, host, result, None, None, at - 0.1, at)

    instances = {
        "a": {"events": [attempt("h1", "rescheduled", 1.0), attempt("h2", "active", 2.0)]},
        "b": {"events": [attempt("h1", "aborted", 3.0)]},
        "c": {"events": [attempt("h2", "failed", 4.0), attempt("h3", "failed", 5.0),
                         attempt("h3", "timed_out", 6.0), attempt("h3", "failed", 7.0,
                                                                  event=CLAIM_EVENT)]},
        "d": {"events": [attempt("h3", "active", 4.5)]},
    }
    assert failed_build_counts(instances) == {"h1": 2, "h2": 1, "h3": 1}
