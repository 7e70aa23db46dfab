"""[conductor] alternates_from: config (max_attempts decides) or request (the RequestSpec's
num_alternates decides the alternates and the attempt bound) (conductor/tasks/attempts.py and
both conductors' use of it)."""

from __future__ import annotations

import pytest

from altsim.objects import RetryInfo
from altsim_lab.testing import (
    FakeComputeAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    Loopback,
    make_test_conf,
)
from compute_sim.faults import FaultRule
from conductor import wiring
from conductor.tasks.attempts import Attempts
from conductor.tasks.cell0 import BuryInCell0

REQUEST = {"conductor.alternates_from": "request"}
WEIGHTS = {"filter_scheduler.static_host_weights": {"h1": "50", "h2": "40", "h3": "30",
                                                     "h4": "20", "h5": "10"},
           "filter_scheduler.weight_classes": ["StaticWeigher"]}


# -- the policy ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("attempts", "asked", "to_request", "allowed"), [
    (Attempts(3), 5, None, 3),                            # config: num_alternates ignored
    (Attempts(3), None, None, 3),
    (Attempts(3, from_request=True), 5, 5, 6),            # request: 1 + num_alternates
    (Attempts(3, from_request=True), 0, 0, 1),            # no alternates: no retry at all
    (Attempts(3, from_request=True), None, None, 3),      # nothing asked: max_attempts
    (Attempts(3, from_request=True, legacy_retry=True), 5, 0, 3),  # legacy: no alternates
])
def test_who_decides_the_alternates_and_the_attempt_bound(world, attempts, asked, to_request,
                                                          allowed):
    spec = world.spec("a", num_alternates=asked)
    assert attempts.alternates_to_request(spec) == to_request
    assert attempts.allowed(spec) == allowed


def test_attempts_are_read_from_the_conf():
    conf = make_test_conf({**REQUEST, "scheduler.max_attempts": 4})
    assert Attempts.from_conf(conf) == Attempts(4, from_request=True, legacy_retry=False)


# -- the super conductor: whether the first compute gets a retry --------------------------------

@pytest.mark.parametrize(("overrides", "asked", "retry"), [
    ({**REQUEST, "scheduler.max_attempts": 3}, 0, False),  # the caller asked for no retry
    ({**REQUEST, "scheduler.max_attempts": 1}, 2, True),   # ... or for some, over the option
    ({"scheduler.max_attempts": 3}, 0, True),              # config ignores the request
])
def test_the_first_cast_carries_a_retry_unless_no_attempt_after_it_is_allowed(
        world, overrides, asked, retry):
    world.add_hosts("cell1", ["h1"])
    compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
    task = wiring.schedule_and_build(
        make_test_conf(overrides), world.api_db, world.cell_dbs,
        FakeSchedulerAPI(result=[[world.selection("h1")]]), lambda cell: compute_api,
        BuryInCell0(world.api_db, world.cell0_db, FakeNotifier()), world.placement)
    build_requests, specs = world.new_request(["web-1"], num_alternates=asked)
    task({}, build_requests, specs)
    [cast] = compute_api.casts
    assert (cast.retry is not None) == retry


# -- the cell conductor: when a reschedule stops -----------------------------------------------

def _reschedule(world, overrides: dict, asked: int | None, tried: int) -> FakeComputeAPI:
    world.add_hosts("cell1", [f"h{n}" for n in range(1, 8)])
    compute_api = FakeComputeAPI(world.cell_uuid("cell1"))
    task = wiring.reschedule(make_test_conf(overrides), world.cell_dbs[world.cell_uuid("cell1")],
                             world.placement, compute_api, FakeNotifier())
    instance = world.create_instance("web-1", claim_on=f"h{tried}")
    retry = RetryInfo(num_attempts=tried, hosts=[(f"h{n}", f"h{n}") for n in range(1, tried + 1)],
                      exc_reason="spawn failed")
    task({}, instance, world.spec("web-1", num_alternates=asked), retry, [world.selection("h7")])
    return compute_api


def _fault(world) -> str:
    [fault] = world.cell_dbs[world.cell_uuid("cell1")].list_faults().values()
    return fault.message


def test_with_request_a_build_may_go_beyond_max_attempts(world):
    compute_api = _reschedule(world, {**REQUEST, "scheduler.max_attempts": 2}, asked=4, tried=4)
    [cast] = compute_api.casts
    assert (cast.host, cast.retry.num_attempts) == ("h7", 5)


def test_with_request_the_bound_is_one_plus_the_alternates_asked_for(world):
    compute_api = _reschedule(world, {**REQUEST, "scheduler.max_attempts": 9}, asked=2, tried=3)
    assert compute_api.casts == []
    assert _fault(world) == (
        f"Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for instance "
        f"{world.spec('web-1').instance_uuid}. Last exception: spawn failed")


def test_with_config_the_request_does_not_matter(world):
    compute_api = _reschedule(world, {"scheduler.max_attempts": 2}, asked=4, tried=2)
    assert compute_api.casts == []
    assert "Exceeded max scheduling attempts 2 " in _fault(world)


# -- the whole build path ------------------------------------------------------------------------

def fail_first_three() -> FaultRule:
    return FaultRule(hosts=["h1", "h2", "h3"], action="reschedule", reason="spawn failed")


@pytest.mark.parametrize(("overrides", "asked", "spawns", "status"), [
    (REQUEST, 4, ["h1", "h2", "h3", "h4"], "active"),
    (REQUEST, 0, ["h1"], "error"),
    ({}, 4, ["h1", "h2"], "error"),
    ({}, 0, ["h1", "h2"], "error"),
])
def test_the_request_decides_both_ways_only_when_configured_to(world, overrides, asked, spawns,
                                                                status):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4", "h5"])
    conf = make_test_conf({**WEIGHTS, **overrides, "scheduler.max_attempts": 2})
    loop = Loopback(world, conf, [fail_first_three()])
    [uuid] = loop.build(["web-1"], num_alternates=asked)
    assert [host for host, _ in loop.spawn_hosts(uuid)] == spawns
    assert world.row(uuid)["vm_state"] == status
