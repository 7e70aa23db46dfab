"""The scheduler's column path (scheduler/host_columns.py) against the per-host rules it speeds
up: every filter's `passing` equals its `host_passes` host by host, every weigher's column its
`raw_weight`s, and `weighed_order` orders hosts exactly as `weigh_hosts` does, ties included,
for any hosts, flavor and multipliers hypothesis comes up with."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim.objects import Flavor, RequestSpec
from altsim_lab.testing import make_test_conf
from scheduler.filters import ALL_FILTERS
from scheduler.host_columns import HostColumns
from scheduler.host_state import HostState
from scheduler.weights import ALL_WEIGHERS, weigh_hosts, weighed_order

NOW = 1_000_000.0
CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")

# Few distinct values, so that equal free resources, failures and totals (ties) are common.
amounts = st.sampled_from([0, 1, 2, 8, 512, 2048])


@st.composite
def host_states(draw: st.DrawFn) -> list[HostState]:
    count = draw(st.integers(min_value=0, max_value=12))
    states = []
    for index in range(count):
        capacity = {rc: draw(amounts) for rc in CLASSES if draw(st.booleans()) or rc == "VCPU"}
        used = {rc: draw(st.integers(0, total)) for rc, total in capacity.items()}
        states.append(HostState(
            host=f"h{index:02d}", nodename=f"h{index:02d}", uuid=f"u{index}", cell_uuid="c",
            disabled=draw(st.booleans()), updated_at=NOW - draw(st.sampled_from([0, 30, 60, 61])),
            failed_builds=draw(st.integers(0, 3)), capacity=capacity, used=used))
    return states  # in host-name order, as the HostManager hands them out


flavors = st.dictionaries(st.sampled_from(CLASSES), st.sampled_from([1, 2, 512]), min_size=1)
multipliers = st.sampled_from([0.0, 1.0, -1.0, 2.5, 1000.0, 1e6])


def spec_for(resources: dict[str, int]) -> RequestSpec:
    return RequestSpec(instance_uuid="i", name="i", project_id="p", user_id="u",
                       flavor=Flavor(name="f", resources=resources))


def conf_with(ram: float, cpu: float, disk: float, failures: float, static: float,
              weights: dict[str, int]):  # type: ignore[no-untyped-def]
    return make_test_conf({
        "filter_scheduler.ram_weight_multiplier": ram,
        "filter_scheduler.cpu_weight_multiplier": cpu,
        "filter_scheduler.disk_weight_multiplier": disk,
        "filter_scheduler.build_failure_weight_multiplier": failures,
        "filter_scheduler.static_weight_multiplier": static,
        "filter_scheduler.static_host_weights": {h: str(w) for h, w in weights.items()}})


@settings(max_examples=150, deadline=None)
@given(states=host_states(), resources=flavors)
def test_every_filter_passes_the_same_hosts_on_columns(states, resources):
    conf = make_test_conf()
    spec = spec_for(resources)
    for name, cls in ALL_FILTERS.items():
        host_filter = cls(conf)
        expected = [host_filter.host_passes(s, spec, NOW) for s in states]
        assert list(host_filter.passing(HostColumns(states), spec, NOW)) == expected, name


@settings(max_examples=150, deadline=None)
@given(states=host_states(), resources=flavors,
       weights=st.dictionaries(st.sampled_from([f"h{i:02d}" for i in range(12)]),
                               st.integers(-5, 50)),
       mults=st.tuples(multipliers, multipliers, multipliers, multipliers, multipliers))
def test_weighed_order_is_weigh_hosts_order_ties_included(states, resources, weights, mults):
    conf = conf_with(*mults, weights)
    spec = spec_for(resources)
    weighers = [cls(conf) for cls in ALL_WEIGHERS.values()]
    columns = HostColumns(states)
    for weigher in weighers:
        assert list(weigher.raw_weight_column(columns, spec)) == [
            float(w) for w in weigher.raw_weights(states, spec)], type(weigher).__name__
    expected = [s.host for s in weigh_hosts(weighers, states, spec)]
    assert [states[i].host for i in weighed_order(weighers, columns, spec)] == expected


@settings(max_examples=50, deadline=None)
@given(states=host_states(), resources=flavors, data=st.data())
def test_a_subset_has_the_columns_of_its_hosts(states, resources, data):
    columns = HostColumns(states)
    columns.free("VCPU"), columns.disabled  # some read before the subset, some after
    positions = data.draw(st.lists(st.integers(0, max(len(states) - 1, 0)), unique=True)
                          if states else st.just([]))
    part = columns.subset(np.array(positions, dtype=np.intp))
    fresh = HostColumns([states[i] for i in positions])
    for rc in CLASSES:
        assert list(part.free(rc)) == list(fresh.free(rc))
    assert list(part.disabled) == list(fresh.disabled)
    assert list(part.failed_builds) == list(fresh.failed_builds)
    assert part.hosts == fresh.hosts
