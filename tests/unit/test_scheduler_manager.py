"""The scheduler's RPC endpoint (scheduler/manager.py): shape of the answer and its arguments."""

from __future__ import annotations

import pytest

from altsim_lab.testing import FakeNotifier, instance_uuid, make_test_conf

ONE_SLOT = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
WEIGHTS = {"filter_scheduler.static_host_weights": {"h1": "50", "h2": "40", "h3": "30",
                                                     "h4": "20", "h5": "10"}}


@pytest.fixture
def manager(world):
    world.add_hosts("cell1", ["h1", "h2", "h3", "h4", "h5"], **ONE_SLOT)
    return world.scheduler_manager(make_test_conf(WEIGHTS))


def test_rule_01_one_list_per_instance_in_instance_uuids_order(world, manager):
    """Each instance's claim (placement) is on element 0 of the list at its own index, whatever
    the order of the uuids: the answer follows instance_uuids, not e.g. a sorted order."""
    uuids = [instance_uuid(n) for n in ("zeta", "alpha", "mu")]
    lists = manager.select_destinations({}, world.spec("zeta", num_instances=3), uuids,
                                        return_alternates=True)
    assert len(lists) == 3
    assert [lst[0].service_host for lst in lists] == ["h1", "h2", "h3"]
    for uuid, lst in zip(uuids, lists, strict=True):
        assert world.allocations(uuid) == {lst[0].service_host: ONE_SLOT}


def test_rule_01_without_return_alternates_each_list_holds_only_the_chosen_host(world, manager):
    lists = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")],
                                        return_alternates=False)
    assert [[s.service_host for s in lst] for lst in lists] == [["h1"]]


def test_num_alternates_from_the_request_overrides_max_attempts(world, manager):
    """altsim's `alternates_from=request` side of the Queens design debate: the caller may ask
    for a
    number of alternates; None means max_attempts - 1."""
    [lst] = manager.select_destinations({}, world.spec("a"), [instance_uuid("a")],
                                        num_alternates=4)
    assert [s.service_host for s in lst] == ["h1", "h2", "h3", "h4", "h5"]
    [lst] = manager.select_destinations({}, world.spec("b"), [instance_uuid("b")],
                                        num_alternates=0)
    assert len(lst) == 1


@pytest.mark.parametrize(("kwargs", "error", "text"), [
    ({"num_alternates": -1}, ValueError, "num_alternates must be >= 0"),
    ({"instance_uuids": []}, ValueError, "instance_uuids is empty"),
    ({"request_spec": {"name": "x"}}, TypeError, "request_spec must be a RequestSpec"),
])
def test_select_destinations_rejects_bad_arguments_without_claiming(world, manager, kwargs,
                                                                    error, text):
    args = {"request_spec": world.spec("a"), "instance_uuids": [instance_uuid("a")], **kwargs}
    with pytest.raises(error, match=text):
        manager.select_destinations({}, **args)
    assert world.used_hosts() == set()


def test_select_destinations_end_notification_lists_every_instance(world):
    world.add_hosts("cell1", ["h1", "h2", "h3"])
    notifier = FakeNotifier()
    manager = world.scheduler_manager(make_test_conf(WEIGHTS), notifier=notifier)
    uuids = [instance_uuid("a"), instance_uuid("b")]
    manager.select_destinations({"request_id": "req-9"}, world.spec("a", num_instances=2),
                                uuids)
    [payload] = notifier.of_type("scheduler.select_destinations.end")
    assert set(payload["instances"]) == set(uuids)
    for info in payload["instances"].values():
        assert info["claim_failures"] == []
        assert len(info["selection"]) >= 1
