"""The scheduler's placement prefilters (scheduler/request_filters.py): the flavor's required
and forbidden traits and Nova's isolate_aggregates, from the extra specs and aggregates to the
candidates the scheduler gets, over the real in-process placement and API database."""

from __future__ import annotations

import pytest
from oslo_messaging.rpc.dispatcher import ExpectedException

from altsim.db.api import Aggregate
from altsim.exceptions import NoValidHost
from altsim.objects import Flavor
from altsim_lab.testing import instance_uuid, make_test_conf
from compute_sim.host import SimulatedHost, aggregate_uuid_for
from placement_sim.candidate_filters import NO_FILTERS
from scheduler.request_filters import RequestFilters, flavor_traits, isolated_aggregates

RESOURCES = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
WEIGHTS = {"filter_scheduler.static_host_weights": {"h1": "40", "h2": "30", "h3": "20",
                                                     "h4": "10"}}


def flavor(**extra_specs: str) -> Flavor:
    return Flavor(name="f", resources=RESOURCES, extra_specs=extra_specs)


def spec_of(world, extra_specs: dict[str, str]):
    return world.spec("a", flavor=Flavor(name="f", resources=RESOURCES,
                                         extra_specs=extra_specs))


def names(selections) -> list[str]:
    return [s.service_host for s in selections]


def test_flavor_traits_reads_required_and_forbidden_and_ignores_the_rest(world):
    spec = spec_of(world, {"trait:CUSTOM_A": "required", "trait:CUSTOM_B": "forbidden",
                           "trait:CUSTOM_C": "preferred", "trait1:CUSTOM_D": "required",
                           "hw:cpu_policy": "dedicated"})
    assert flavor_traits(spec) == ({"CUSTOM_A"}, {"CUSTOM_B"})


def test_isolated_aggregates_as_novas_get_non_matching_by_metadata_keys():
    # The example of Nova's docstring: a request for MMX isolates agg2 (SGX) and agg3 (both).
    aggs = [Aggregate("u1", "agg1", {"trait:HW_CPU_X86_MMX": "required"}),
            Aggregate("u2", "agg2", {"trait:HW_CPU_X86_SGX": "required"}),
            Aggregate("u3", "agg3", {"trait:HW_CPU_X86_MMX": "required",
                                     "trait:HW_CPU_X86_SGX": "required"}),
            Aggregate("u4", "agg4", {"trait:HW_CPU_X86_SGX": "preferred", "az": "x"})]
    assert isolated_aggregates(frozenset({"HW_CPU_X86_MMX"}), aggs) == {"u2", "u3"}
    assert isolated_aggregates(frozenset(), aggs) == {"u1", "u2", "u3"}


def test_a_flavor_without_trait_specs_asks_without_filters(world):
    assert RequestFilters(lambda: [])(spec_of(world, {})) is NO_FILTERS


def _hosts(world, traits: dict[str, tuple[str, ...]], aggregates: dict[str, tuple[str, ...]]):
    for name in ("h1", "h2", "h3", "h4"):
        mapping = world.add_cell("cell1")
        host = SimulatedHost(name, {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100},
                             traits=traits.get(name, ()), aggregates=aggregates.get(name, ()))
        host.register(world.cell_dbs[mapping.uuid], world.placement)
        world.api_db.map_host(name, mapping.uuid)
        world.hosts[name] = host
        world.host_cell[name] = mapping.uuid


def test_a_required_trait_leaves_only_the_hosts_that_have_it(world):
    _hosts(world, {"h2": ("CUSTOM_X",), "h4": ("CUSTOM_X", "HW_CPU_X86_AVX2")}, {})
    assert world.store.get_provider_traits(world.rp("h2"))["traits"] == ["CUSTOM_X"]
    manager = world.scheduler_manager(make_test_conf(WEIGHTS))
    [required] = manager.select_destinations(
        {}, spec_of(world, {"trait:CUSTOM_X": "required"}), [instance_uuid("a")])
    [forbidden] = manager.select_destinations(
        {}, world.spec("b", flavor=flavor(**{"trait:CUSTOM_X": "forbidden"})),
        [instance_uuid("b")])
    [plain] = manager.select_destinations({}, world.spec("c", flavor=flavor()),
                                          [instance_uuid("c")])
    assert names(required) == ["h2", "h4"]
    assert names(forbidden) == ["h1", "h3"]
    assert names(plain) == ["h1", "h2", "h3"]


def test_a_required_trait_no_host_has_is_no_valid_host(world):
    _hosts(world, {}, {})
    world.store.create_trait("CUSTOM_NOBODY")
    manager = world.scheduler_manager(make_test_conf(WEIGHTS))
    with pytest.raises(ExpectedException) as caught:
        manager.select_destinations({}, spec_of(world, {"trait:CUSTOM_NOBODY": "required"}),
                                    [instance_uuid("a")])
    assert caught.value.exc_info[0] is NoValidHost


@pytest.mark.parametrize(("enabled", "plain", "gpu"), [
    (True, ["h3", "h4"], ["h1", "h2"]),
    # Nova's default: aggregates are not isolated, the trait alone decides
    (False, ["h1", "h2", "h3"], ["h1", "h2"]),
])
def test_isolate_aggregates_keeps_other_flavors_off_an_isolated_aggregate(world, enabled, plain,
                                                                        gpu):
    _hosts(world, {"h1": ("CUSTOM_GPU",), "h2": ("CUSTOM_GPU",)},
           {"h1": ("gpu-hosts",), "h2": ("gpu-hosts",)})
    world.api_db.create_aggregate(Aggregate(aggregate_uuid_for("gpu-hosts"), "gpu-hosts",
                                            {"trait:CUSTOM_GPU": "required"}))
    assert world.store.get_aggregates(world.rp("h1"))["aggregates"] == [
        aggregate_uuid_for("gpu-hosts")]
    conf = make_test_conf({**WEIGHTS,
                           "scheduler.enable_isolated_aggregate_filtering": enabled})
    manager = world.scheduler_manager(conf)
    [small] = manager.select_destinations({}, world.spec("a", flavor=flavor()),
                                          [instance_uuid("a")])
    [train] = manager.select_destinations(
        {}, world.spec("b", flavor=flavor(**{"trait:CUSTOM_GPU": "required"})),
        [instance_uuid("b")])
    assert names(small) == plain
    assert names(train) == gpu


def test_isolation_without_the_api_database_is_refused(world):
    from altsim_lab.testing import FakeNotifier
    from scheduler.service import build_scheduler_manager

    conf = make_test_conf({"scheduler.enable_isolated_aggregate_filtering": True})
    with pytest.raises(ValueError, match="needs the API database"):
        build_scheduler_manager(conf, world.placement, world.cell_dbs, FakeNotifier())
