"""The scheduler's placement decision (scheduler/selector.py) against Nova's build-path rules
(numbered as in docs/fidelity.md).

Real cell DBs and the real in-process placement; hosts are ordered with static weights so the
expected order is explicit.
"""

from __future__ import annotations

import time

import pytest
from oslo_messaging.rpc.dispatcher import ExpectedException

from altsim.exceptions import NoValidHost
from altsim.objects import Flavor
from altsim_lab.testing import (
    SMALL,
    FakeNotifier,
    ScriptedPlacement,
    TokenlessStore,
    fill,
    instance_uuid,
    make_test_conf,
)
from placement_sim.client import InProcessPlacementClient
from placement_sim.exceptions import PlacementUnavailable
from scheduler.host_state import HostState
from scheduler.weights import weigh_hosts
from scheduler.weights.build_failure import BuildFailureWeigher

NOT_ENOUGH = "No valid host was found. There are not enough hosts available."
# Room for exactly one SMALL instance.
ONE_SLOT = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


def static(weights: dict[str, int], **overrides) -> dict:
    return {"filter_scheduler.static_host_weights": {h: str(w) for h, w in weights.items()},
            **overrides}


def names(selections) -> list[str]:
    return [s.service_host for s in selections]


@pytest.fixture
def five_hosts(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4", "h5"])
    return static({"h1": 50, "h2": 40, "h3": 30, "h4": 20, "h5": 10})


# -- rule 2 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("max_attempts", "expected"), [
    (1, ["h1"]), (2, ["h1", "h2"]), (3, ["h1", "h2", "h3"]),
    (5, ["h1", "h2", "h3", "h4", "h5"]), (10, ["h1", "h2", "h3", "h4", "h5"])])
def test_rule_02_list_length_is_min_of_max_attempts_and_eligible_hosts(world, five_hosts,
                                                                      max_attempts, expected):
    conf = make_test_conf({**five_hosts, "scheduler.max_attempts": max_attempts})
    manager = world.scheduler_manager(conf)
    [selections] = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")])
    assert names(selections) == expected


def test_rule_02_only_eligible_hosts_count_and_alternates_keep_weighed_order(world, five_hosts):
    """h2 is disabled, h4's service is down and h5 is full in placement: of the five hosts only
    h1 and h3 are eligible, so even max_attempts 5 gives a list of two, in weighed order."""
    conf = make_test_conf({**five_hosts, "scheduler.max_attempts": 5})
    world.set_compute_node("h2", disabled=True)
    world.set_compute_node("h4", updated_at=time.time() - 3600)
    fill(world.placement, world.rp("h5"))
    [selections] = world.scheduler_manager(conf).select_destinations(
        {}, world.spec("a"), [instance_uuid("a")])
    assert names(selections) == ["h1", "h3"]


def test_rule_02_alternates_are_in_weighed_order(world):
    world.add_hosts("cell1", ["a", "b", "c", "d"])
    conf = make_test_conf(static({"a": 10, "b": 40, "c": 20, "d": 30},
                                 **{"scheduler.max_attempts": 4}))
    placement = world.selector(conf).select(world.spec("x"), [instance_uuid("x")], 3)[0]
    assert names(placement.selections) == ["b", "d", "c", "a"]


# -- rule 3 ---------------------------------------------------------------------------------------

def test_rule_03_only_element_0_is_claimed_alternates_carry_unclaimed_requests(world, five_hosts):
    conf = make_test_conf(five_hosts)
    uuids = [instance_uuid("a"), instance_uuid("b")]
    lists = world.scheduler_manager(conf).select_destinations(
        {}, world.spec("a", num_instances=2), uuids)
    for uuid, selections in zip(uuids, lists, strict=True):
        chosen = selections[0]
        assert world.allocations(uuid) == {chosen.service_host: SMALL.resources}
        for alternate in selections[1:]:
            assert alternate.allocation_request == {
                "allocations": {alternate.compute_node_uuid: {"resources": SMALL.resources}}}
    claimed = {lst[0].service_host for lst in lists}
    alternates = {s.service_host for lst in lists for s in lst[1:]}
    assert alternates and not alternates & claimed
    for host in alternates:
        assert set(world.usage(host).values()) == {0}, host


# -- rule 4 ---------------------------------------------------------------------------------------

def test_rule_04_alternates_are_all_from_the_chosen_hosts_cell(world):
    """cell2's hosts weigh more than cell1's alternates, yet never appear in cell1's list."""
    world.add_hosts("cell1", ["c1-a", "c1-b", "c1-c"])
    world.add_hosts("cell2", ["c2-a", "c2-b", "c2-c"])
    conf = make_test_conf(static({"c1-a": 100, "c2-a": 90, "c2-b": 80, "c2-c": 70,
                                  "c1-b": 20, "c1-c": 10}, **{"scheduler.max_attempts": 3}))
    [selections] = world.scheduler_manager(conf).select_destinations(
        {}, world.spec("a"), [instance_uuid("a")])
    assert names(selections) == ["c1-a", "c1-b", "c1-c"]
    assert {s.cell_uuid for s in selections} == {world.cell_uuid("cell1")}


def test_rule_04_multi_create_across_cells_each_list_stays_in_its_cell(world):
    world.add_hosts("cell1", ["c1-a", "c1-b", "c1-c"], **ONE_SLOT)
    world.add_hosts("cell2", ["c2-a", "c2-b", "c2-c"], **ONE_SLOT)
    conf = make_test_conf(static({"c1-a": 100, "c2-a": 90, "c1-b": 60, "c2-b": 50,
                                  "c1-c": 20, "c2-c": 10}))
    uuids = [instance_uuid(n) for n in ("a", "b")]
    lists = world.scheduler_manager(conf).select_destinations(
        {}, world.spec("a", num_instances=2), uuids)
    assert [names(lst) for lst in lists] == [["c1-a", "c1-b", "c1-c"], ["c2-a", "c2-b", "c2-c"]]
    for lst in lists:
        assert len({s.cell_uuid for s in lst}) == 1


# -- rules 5 and 6 --------------------------------------------------------------------------------

def test_rule_05_no_chosen_host_is_an_alternate_in_any_list_of_the_request(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4", "h5", "h6"], **ONE_SLOT)
    conf = make_test_conf(static({"h1": 60, "h2": 50, "h3": 40, "h4": 30, "h5": 20, "h6": 10},
                                 **{"scheduler.max_attempts": 4}))
    uuids = [instance_uuid(n) for n in ("a", "b", "c")]
    lists = world.scheduler_manager(conf).select_destinations(
        {}, world.spec("a", num_instances=3), uuids)
    chosen = [lst[0].service_host for lst in lists]
    assert chosen == ["h1", "h2", "h3"]
    for lst in lists:
        assert not set(names(lst[1:])) & set(chosen), names(lst)
        assert len(lst) == 4


def test_rule_05_a_host_chosen_later_is_not_an_alternate_of_an_earlier_instance(world):
    """Instance a is placed when h2 is still free (h2 is in its weighed list); instance b then
    takes h2. h2 must not be offered to a as an alternate."""
    world.add_hosts("cell1", ["h1", "h2", "h3"], **ONE_SLOT)
    conf = make_test_conf(static({"h1": 30, "h2": 20, "h3": 10}))
    lists = world.selector(conf).select(world.spec("a", num_instances=2),
                                        [instance_uuid("a"), instance_uuid("b")], 2)
    assert [names(p.selections) for p in lists] == [["h1", "h3"], ["h2", "h3"]]


def test_rule_06_alternates_of_different_instances_may_overlap_and_share_a_candidate(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4"])
    conf = make_test_conf(static({"h1": 40, "h2": 30, "h3": 20, "h4": 10},
                                 **{"scheduler.max_attempts": 3}))
    # Stacking on h1 is possible (h1 has room for both), so force two distinct chosen hosts by
    # making h1 hold exactly one instance.
    world.placement.ensure_resource_provider(world.rp("h1"), "h1",
                                             {rc: {"total": v} for rc, v in ONE_SLOT.items()})
    lists = world.selector(conf).select(world.spec("a", num_instances=2),
                                        [instance_uuid("a"), instance_uuid("b")], 2)
    assert [names(p.selections) for p in lists] == [["h1", "h3", "h4"], ["h2", "h3", "h4"]]
    assert lists[0].selections[1] == lists[1].selections[1]  # same unclaimed candidate
    assert world.allocations(instance_uuid("a")) == {"h1": SMALL.resources}
    assert set(world.usage("h3").values()) == {0}


# -- rule 7 ---------------------------------------------------------------------------------------

def _picks(world, conf, count: int) -> list[str]:
    selector = world.selector(conf)
    picks = []
    for n in range(count):
        uuid = instance_uuid(f"subset-{n}")
        [placement] = selector.select(world.spec(f"subset-{n}"), [uuid], 2)
        picks.append(placement.selections[0].service_host)
        world.placement.delete_allocation_for_instance(uuid)
    return picks


def test_rule_07_host_subset_size_picks_among_the_top_n_and_uses_all_of_them(world, five_hosts):
    conf = make_test_conf({**five_hosts, "filter_scheduler.host_subset_size": 3,
                           "filter_scheduler.weight_classes": ["StaticWeigher"]})
    picks = _picks(world, conf, 120)
    assert set(picks) == {"h1", "h2", "h3"}
    # Roughly uniform: each of the three is picked a fair share of 120 times.
    for host in ("h1", "h2", "h3"):
        assert 20 <= picks.count(host) <= 60, (host, picks.count(host))
    # Deterministic: the same seed gives the same picks, another seed other picks.
    assert _picks(world, conf, 120) == picks
    conf.set_override("seed", 99)
    assert _picks(world, conf, 120) != picks


def test_rule_07_subset_pick_leaves_the_rest_in_weighed_order_as_alternates(world, five_hosts):
    conf = make_test_conf({**five_hosts, "filter_scheduler.host_subset_size": 3,
                           "filter_scheduler.weight_classes": ["StaticWeigher"],
                           "scheduler.max_attempts": 5})
    selector = world.selector(conf)
    seen = set()
    for n in range(30):
        uuid = instance_uuid(f"order-{n}")
        [placement] = selector.select(world.spec("x"), [uuid], 4)
        chosen = placement.selections[0].service_host
        seen.add(chosen)
        rest = [h for h in ["h1", "h2", "h3", "h4", "h5"] if h != chosen]
        assert names(placement.selections) == [chosen, *rest]
        world.placement.delete_allocation_for_instance(uuid)
    assert seen == {"h1", "h2", "h3"}


def test_rule_07_host_subset_size_1_always_takes_the_best(world, five_hosts):
    conf = make_test_conf({**five_hosts, "filter_scheduler.weight_classes": ["StaticWeigher"]})
    assert set(_picks(world, conf, 40)) == {"h1"}


# -- rule 8 ---------------------------------------------------------------------------------------

def test_rule_08_a_lost_claim_falls_down_to_the_next_host_in_sorted_order(world, five_hosts):
    """h1 and h2 are filled by someone else between the candidate listing and the claim: the
    claim falls to h3. As in Nova, hosts whose claim failed are only excluded from being chosen,
    so they may still be offered as alternates (their claim will fail again on a reschedule)."""
    conf = make_test_conf(five_hosts)
    placement = ScriptedPlacement(world.placement, race={world.rp("h1"), world.rp("h2")})
    uuid = instance_uuid("a")
    [result] = world.selector(conf, placement).select(world.spec("a"), [uuid], 2)
    assert names(result.selections) == ["h3", "h1", "h2"]
    assert result.claim_failures == ["h1", "h2"]
    assert [(rp, ok) for _, rp, ok in placement.claims] == [
        (world.rp("h1"), False), (world.rp("h2"), False), (world.rp("h3"), True)]
    assert world.allocations(uuid) == {"h3": SMALL.resources}


def test_rule_08_hosts_without_allocation_candidates_are_skipped(world, five_hosts):
    conf = make_test_conf({**five_hosts, "scheduler.max_attempts": 5})
    fill(world.placement, world.rp("h1"))
    fill(world.placement, world.rp("h3"))
    placement = ScriptedPlacement(world.placement)
    [result] = world.selector(conf, placement).select(world.spec("a"), [instance_uuid("a")], 4)
    assert names(result.selections) == ["h2", "h4", "h5"]
    assert result.claim_failures == []
    assert [rp for _, rp, _ in placement.claims] == [world.rp("h2")]


def test_rule_08_a_placement_without_tokens_is_decided_from_full_answers(world):
    """A real Placement gives no candidates token: every answer is in full, and the selector
    decides from it as from altsim's (the second request sees the first one's claim)."""
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4"], **ONE_SLOT)
    conf = make_test_conf(static({"h1": 40, "h2": 30, "h3": 20, "h4": 10},
                                 **{"scheduler.max_attempts": 3}))
    tokenless = TokenlessStore(world.store)
    selector = world.selector(conf, InProcessPlacementClient(tokenless))  # type: ignore[arg-type]
    fill(world.placement, world.rp("h2"))
    uuids = [instance_uuid("a"), instance_uuid("b")]
    lists = [selector.select(world.spec(name), [uuid], 2)[0]
             for name, uuid in zip("ab", uuids, strict=True)]
    assert [names(result.selections) for result in lists] == [["h1", "h3", "h4"],
                                                              ["h3", "h4"]]
    assert [result.claim_failures for result in lists] == [[], []]
    assert tokenless.sinces == [None, None]
    assert world.allocations(uuids[0]) == {"h1": SMALL.resources}
    assert world.allocations(uuids[1]) == {"h3": SMALL.resources}


def test_rule_08_lost_claims_are_reported_in_the_select_destinations_end_notification(
        world, five_hosts):
    from altsim_lab.testing import FakeNotifier
    conf = make_test_conf(five_hosts)
    notifier = FakeNotifier()
    placement = ScriptedPlacement(world.placement, race={world.rp("h1")})
    uuid = instance_uuid("a")
    world.scheduler_manager(conf, placement, notifier).select_destinations(
        {"request_id": "req-1"}, world.spec("a"), [uuid])
    [payload] = notifier.of_type("scheduler.select_destinations.end")
    assert payload["request_id"] == "req-1"
    assert payload["instances"][uuid] == {"selection": ["h2", "h1", "h3"],
                                          "claim_failures": ["h1"]}


# -- rule 9 ---------------------------------------------------------------------------------------

def test_rule_09_multi_create_that_cannot_place_all_removes_earlier_claims(world):
    """Nova's default filters have no resource filter: the third instance, which fits nowhere
    once the first two are consumed, is claimed on every host in sorted order (placement
    refuses each, SchedulerManager._schedule), then the first two claims are removed."""
    world.add_hosts("cell1", ["h1", "h2"], **ONE_SLOT)
    conf = make_test_conf()
    uuids = [instance_uuid(n) for n in ("a", "b", "c")]
    placement = ScriptedPlacement(world.placement)
    with pytest.raises(NoValidHost) as caught:
        world.selector(conf, placement).select(world.spec("a", num_instances=3), uuids, 2)
    assert str(caught.value) == NOT_ENOUGH
    assert [(c, rp, ok) for c, rp, ok in placement.claims] == [
        (uuids[0], world.rp("h1"), True), (uuids[1], world.rp("h2"), True),
        (uuids[2], world.rp("h1"), False), (uuids[2], world.rp("h2"), False)]
    assert caught.value.claim_failures == {uuids[2]: ["h1", "h2"]}
    for uuid in uuids:
        assert world.allocations(uuid) == {}
    assert world.used_hosts() == set()


def test_rule_09_with_the_resource_filter_a_multi_create_that_cannot_fit_claims_no_further(world):
    """altsim's former default: ResourceFilter drops the hosts the request's own earlier
    instances filled, so the third instance finds no host without trying a claim."""
    world.add_hosts("cell1", ["h1", "h2"], **ONE_SLOT)
    conf = make_test_conf({"filter_scheduler.enabled_filters": ["ComputeFilter",
                                                                "ResourceFilter"]})
    uuids = [instance_uuid(n) for n in ("a", "b", "c")]
    placement = ScriptedPlacement(world.placement)
    with pytest.raises(NoValidHost) as caught:
        world.selector(conf, placement).select(world.spec("a", num_instances=3), uuids, 2)
    assert [(c, ok) for c, _, ok in placement.claims] == [(uuids[0], True), (uuids[1], True)]
    assert caught.value.claim_failures == {}
    assert world.used_hosts() == set()


def test_rule_09_the_claims_a_failed_request_lost_are_notified(world):
    world.add_hosts("cell1", ["h1"], **ONE_SLOT)
    notifier = FakeNotifier()
    manager = world.scheduler_manager(make_test_conf(), notifier=notifier)
    uuids = [instance_uuid("a"), instance_uuid("b")]
    with pytest.raises(ExpectedException):
        manager.select_destinations({"request_id": "req-9"}, world.spec("a", num_instances=2),
                                    uuids)
    [payload] = notifier.of_type("scheduler.select_destinations.error")
    assert payload == {"request_id": "req-9", "instances": {
        uuids[1]: {"selection": [], "claim_failures": ["h1"]}}}
    assert notifier.of_type("scheduler.select_destinations.end") == []


def test_rule_09_a_lost_claim_race_for_a_later_instance_also_removes_earlier_claims(world):
    world.add_hosts("cell1", ["h1", "h2"], **ONE_SLOT)
    conf = make_test_conf(static({"h1": 20, "h2": 10}))
    placement = ScriptedPlacement(world.placement, race={world.rp("h2")})
    uuids = [instance_uuid("a"), instance_uuid("b")]
    with pytest.raises(NoValidHost, match="There are not enough hosts available"):
        world.selector(conf, placement).select(world.spec("a", num_instances=2), uuids, 2)
    assert placement.claims[0] == (uuids[0], world.rp("h1"), True)
    assert placement.claims[-1] == (uuids[1], world.rp("h2"), False)
    assert world.allocations(uuids[0]) == {}
    assert set(world.usage("h1").values()) == {0}


def test_rule_09_the_endpoint_returns_no_valid_host_as_an_expected_exception(world):
    """select_destinations is decorated with expected_exceptions(NoValidHost), as in Nova: the
    RPC server returns it to the caller without logging a server-side traceback."""
    world.add_hosts("cell1", ["h1"], **ONE_SLOT)
    manager = world.scheduler_manager(make_test_conf())
    with pytest.raises(ExpectedException) as caught:
        manager.select_destinations({}, world.spec("a", num_instances=2),
                                    [instance_uuid("a"), instance_uuid("b")])
    error = caught.value.exc_info[1]
    assert isinstance(error, NoValidHost)
    assert str(error) == NOT_ENOUGH
    assert world.used_hosts() == set()


# -- rule 10 --------------------------------------------------------------------------------------

def test_rule_10_zero_allocation_candidates_is_no_valid_host(world, five_hosts):
    too_big = Flavor(name="huge", resources={"VCPU": 64, "MEMORY_MB": 512, "DISK_GB": 1})
    with pytest.raises(NoValidHost, match="^No valid host was found"):
        world.selector(make_test_conf()).select(world.spec("a", flavor=too_big),
                                                [instance_uuid("a")], 2)


def test_rule_10_no_hosts_at_all_is_no_valid_host(world):
    with pytest.raises(NoValidHost):
        world.selector(make_test_conf()).select(world.spec("a"), [instance_uuid("a")], 2)


def test_rule_10_every_candidate_filtered_out_is_no_valid_host(world, five_hosts):
    conf = make_test_conf()
    for host in ("h1", "h2", "h3", "h4", "h5"):
        world.set_compute_node(host, disabled=True)
    with pytest.raises(NoValidHost):
        world.selector(conf).select(world.spec("a"), [instance_uuid("a")], 2)


def test_rule_10_unreachable_placement_is_no_valid_host(world, five_hosts):
    placement = ScriptedPlacement(world.placement,
                                  candidates_error=PlacementUnavailable("connection refused"))
    with pytest.raises(NoValidHost):
        world.selector(make_test_conf(), placement).select(world.spec("a"),
                                                           [instance_uuid("a")], 2)


# -- rule 27 (scheduler side) ----------------------------------------------------------------------

def _state(host: str, failed_builds: int) -> HostState:
    return HostState(host=host, nodename=host, uuid=host, cell_uuid="c", disabled=False,
                     updated_at=0.0, failed_builds=failed_builds, capacity={}, used={})


def test_rule_27_build_failure_weigher_sinks_hosts_with_failures():
    conf = make_test_conf({"filter_scheduler.weight_classes": ["BuildFailureWeigher"]})
    hosts = [_state("a", 3), _state("b", 0), _state("c", 1)]
    ordered = weigh_hosts([BuildFailureWeigher(conf)], hosts, None)
    assert [h.host for h in ordered] == ["b", "c", "a"]


def test_rule_27_a_failing_host_loses_the_pick_even_against_static_weights(world, five_hosts):
    """Default weighers: h1 has the best static weight but one failed build; the failure
    multiplier (1e6) outweighs the static one (1e3), so h2 is chosen and h1 sinks to last."""
    conf = make_test_conf({**five_hosts, "scheduler.max_attempts": 5})
    world.set_compute_node("h1", failed_builds=1)
    [result] = world.selector(conf).select(world.spec("a"), [instance_uuid("a")], 4)
    assert names(result.selections) == ["h2", "h3", "h4", "h5", "h1"]
    world.placement.delete_allocation_for_instance(instance_uuid("a"))
    world.set_compute_node("h1", failed_builds=0)
    [result] = world.selector(conf).select(world.spec("b"), [instance_uuid("b")], 4)
    assert result.selections[0].service_host == "h1"
