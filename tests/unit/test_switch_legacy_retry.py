"""[scheduler] legacy_retry: no alternates; a reschedule asks the scheduler again without the
hosts tried, up to max_attempts; only one cell, on the API bus (conductor/tasks/reselect.py,
conductor/service.py, altsim_lab/scenario/topology.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from altsim.events import SELECT_EVENT
from altsim.exceptions import NoValidHost
from altsim.objects import RetryInfo
from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.scenario.schema import parse_scenario
from altsim_lab.scenario.topology import check_config, plan_topology
from altsim_lab.testing import (
    SMALL,
    FakeComputeAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    Loopback,
    make_test_conf,
)
from compute_sim.faults import FaultRule
from conductor import wiring
from conductor.service import (
    LegacyRetryError,
    build_cell_conductor_server,
    build_super_conductor_server,
)

LEGACY = {"scheduler.legacy_retry": True,
          "filter_scheduler.static_host_weights": {"h1": "40", "h2": "30", "h3": "20",
                                                   "h4": "10"}}


class LegacyCellConductor:
    def __init__(self, world, scheduler_api, overrides: dict | None = None) -> None:
        self.world = world
        self.scheduler_api = scheduler_api
        self.compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
        self.task = wiring.reschedule(make_test_conf({**LEGACY, **(overrides or {})}),
                                      world.cell_dbs[world.cell_uuid("cell1")], world.placement,
                                      self.compute_api, FakeNotifier(), scheduler_api)

    def reschedule(self, instance, tried: list[str]) -> None:
        retry = RetryInfo(num_attempts=len(tried), hosts=[(h, h) for h in tried],
                          exc_reason="spawn failed")
        self.task({}, instance, self.world.spec(instance.name), retry, [])


@pytest.fixture
def cell(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4"])
    return world


def test_the_reschedule_asks_the_scheduler_without_the_hosts_tried(cell):
    scheduler = FakeSchedulerAPI(delegate=cell.scheduler_manager(make_test_conf(LEGACY)))
    conductor = LegacyCellConductor(cell, scheduler)
    instance = cell.create_instance("web-1", claim_on="h2")
    conductor.reschedule(instance, ["h1", "h2"])
    [call] = scheduler.calls
    assert call["request_spec"].ignore_hosts == ["h1", "h2"]
    assert (call["instance_uuids"], call["num_alternates"]) == ([instance.uuid], 0)
    [cast] = conductor.compute_api.casts
    assert (cast.host, cast.host_list, cast.retry.num_attempts) == ("h3", [], 3)
    # claimed once, by the scheduler; the failed host's allocation is gone
    assert cell.allocations(instance.uuid) == {"h3": SMALL.resources}
    [event] = [e for e in cell.events(instance) if e.event == SELECT_EVENT]
    assert event.details == {"selection": ["h3"], "ignore_hosts": ["h1", "h2"]}


def test_with_claim_in_conductor_the_reschedule_claims_the_schedulers_answer(cell):
    overrides = {"scheduler.claim_in": "conductor"}
    scheduler = FakeSchedulerAPI(delegate=cell.scheduler_manager(
        make_test_conf({**LEGACY, **overrides})))
    conductor = LegacyCellConductor(cell, scheduler, overrides)
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, ["h1"])
    assert cell.allocations(instance.uuid) == {"h2": SMALL.resources}


def test_the_reschedule_stops_at_max_attempts_without_asking(cell):
    scheduler = FakeSchedulerAPI(error=AssertionError("must not be called"))
    conductor = LegacyCellConductor(cell, scheduler)
    instance = cell.create_instance("web-1", claim_on="h3")
    conductor.reschedule(instance, ["h1", "h2", "h3"])
    assert scheduler.calls == [] and conductor.compute_api.casts == []
    assert "Exceeded max scheduling attempts 3 " in cell.fault(instance)
    assert cell.allocations(instance.uuid) == {}


def test_no_valid_host_from_the_scheduler_ends_the_build_in_error(cell):
    conductor = LegacyCellConductor(cell, FakeSchedulerAPI(error=NoValidHost()))
    instance = cell.create_instance("web-1", claim_on="h1")
    conductor.reschedule(instance, ["h1"])
    assert cell.row(instance)["vm_state"] == "error"
    assert cell.fault(instance) == str(NoValidHost())
    [event] = [e for e in cell.events(instance) if e.event == SELECT_EVENT]
    assert event.result == "failed"


def test_the_whole_path_has_no_alternates_and_asks_again_on_each_reschedule(cell):
    loop = Loopback(cell, make_test_conf(LEGACY),
                    [FaultRule(hosts=["h1", "h2"], action="reschedule")])
    [uuid] = loop.build(["web-1"])
    first, *again = loop.scheduler_api.calls
    assert first["num_alternates"] == 0
    assert [c["request_spec"].ignore_hosts for c in again] == [["h1"], ["h1", "h2"]]
    assert loop.spawn_hosts(uuid) == [("h1", "rescheduled"), ("h2", "rescheduled"),
                                      ("h3", "active")]
    assert cell.allocations(uuid) == {"h3": SMALL.resources}


# -- one cell, on the API bus --------------------------------------------------------------------

def scenario(cells: int):
    return parse_scenario({
        "name": "legacy", "config": {"scheduler.legacy_retry": True},
        "cells": [{"name": f"cell{n}", "host_count": 1, "host_resources": {"VCPU": 1}}
                  for n in range(1, cells + 1)],
        "flavors": {"small": {"VCPU": 1}}, "requests": [{"name": "web", "flavor": "small"}]})


def test_legacy_retry_with_two_cells_is_refused_naming_the_option(tmp_path: Path):
    for refuse in (lambda: check_config(scenario(2)),
                   lambda: plan_topology(scenario(2), "run", tmp_path)):
        with pytest.raises(ConfigOverrideError) as caught:
            refuse()
        assert str(caught.value).startswith("config.scheduler.legacy_retry: ")
        assert "exactly one cell" in str(caught.value) and "cell1, cell2" in str(caught.value)


def test_the_one_cell_runs_on_the_api_bus_and_only_then(tmp_path: Path):
    legacy = plan_topology(scenario(1), "run", tmp_path)
    assert legacy.cells[0].mapping.transport_url == legacy.api_transport_url
    regular = scenario(1).model_copy(update={"config": {}})
    topology = plan_topology(regular, "run", tmp_path)
    assert topology.cells[0].mapping.transport_url != topology.api_transport_url


def test_no_cell_conductor_runs_with_legacy_retry(world):
    with pytest.raises(LegacyRetryError, match=r"\[scheduler\] legacy_retry"):
        build_cell_conductor_server(make_test_conf(LEGACY), None, None, world.cell0_db,
                                    world.placement)


def test_the_super_conductor_refuses_to_serve_two_cells_with_legacy_retry(world):
    world.add_host("a1", "cell1")
    world.add_host("b1", "cell2")
    with pytest.raises(LegacyRetryError, match="exactly one cell, found 2"):
        build_super_conductor_server(make_test_conf(LEGACY), None, None, world.api_db,
                                     world.cell_dbs, world.cell0_db, None, world.placement)
