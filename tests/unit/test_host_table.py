"""The scheduler's table of hosts (scheduler/host_table.py, through HostManager.get_host_view):
a view shows each host as its compute node row and latest placement summary say, whatever
changed between two requests, and what one request consumes stays in its own view. Most tests
take the free resources from placement's summaries ([scheduler] host_view = placement); the
last ones from the compute node rows (host_view = compute_nodes, scheduler/node_usage.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from altsim.db.cell import ComputeNodeRow
from scheduler.host_manager import HostManager


def placement_view(cell_dbs: dict) -> HostManager:
    return HostManager(cell_dbs, host_view="placement")


class FakeCellDb:
    """compute_node_changes as CellDatabase answers it: a stamp, and unless it is unchanged
    every row (each at the table's version, so they add up to the stamp; never stamped with
    a changed_at)."""

    url = "fake://"

    def __init__(self, rows: list[ComputeNodeRow]) -> None:
        self.rows = rows
        self.version = 0

    def set_rows(self, rows: list[ComputeNodeRow]) -> None:
        self.rows, self.version = rows, self.version + 1

    def compute_node_changes(self, unless_stamp, since):  # type: ignore[no-untyped-def]
        stamp = (len(self.rows), len(self.rows) * self.version)
        if stamp == unless_stamp:
            return stamp, None
        return stamp, [(self.version, None, row)
                       for row in sorted(self.rows, key=lambda r: r.host)]


def row(uuid: str, host: str, disabled: bool = False, failed: int = 0,
        updated: float = 100.0) -> ComputeNodeRow:
    return ComputeNodeRow(uuid, host, host, disabled, failed, updated, None, None)


def summary(vcpu_used: int, vcpu: int = 8, ram: int | None = 1024) -> dict:
    resources = {"VCPU": {"capacity": vcpu, "used": vcpu_used}}
    if ram is not None:
        resources["MEMORY_MB"] = {"capacity": ram, "used": 0}
    return {"resources": resources}


def test_a_view_is_in_host_name_order_across_cells_and_skips_unknown_providers():
    cell1 = FakeCellDb([row("u-b", "b"), row("u-d", "d")])
    cell2 = FakeCellDb([row("u-a", "a"), row("u-c", "c")])
    manager = placement_view({"c1": cell1, "c2": cell2})
    view = manager.get_host_view({"u-d": summary(1), "u-a": summary(2), "u-x": summary(0),
                                  "u-b": summary(3)})
    assert view.hosts == ["a", "b", "d"]
    assert view.cell_uuids == ["c2", "c1", "c1"]
    assert list(view.free("VCPU")) == [6, 5, 7]
    assert list(view.free("DISK_GB")) == [0, 0, 0]


def test_every_change_between_requests_shows_in_the_next_view():
    # Given a first request's view
    cell = FakeCellDb([row("u-a", "a"), row("u-b", "b")])
    manager = placement_view({"c1": cell})
    manager.get_host_view({"u-a": summary(0), "u-b": summary(0)})
    # When a claim uses host a, host b fails a build and is disabled, host a loses its RAM
    cell.set_rows([row("u-a", "a", updated=200.0), row("u-b", "b", disabled=True, failed=1)])
    view = manager.get_host_view({"u-a": summary(5, ram=None), "u-b": summary(0)})
    # Then the next view has all of it
    assert list(view.free("VCPU")) == [3, 8]
    assert list(view.free("MEMORY_MB")) == [0, 1024]
    assert list(view.disabled) == [False, True]
    assert list(view.failed_builds) == [0.0, 1.0]
    assert list(view.updated_at) == [200.0, 100.0]
    assert view.state(0).capacity == {"VCPU": 8}
    # and a host added to the cell appears, in its place by name
    cell.set_rows([*cell.rows, row("u-0", "0")])
    view = manager.get_host_view({"u-0": summary(0), "u-a": summary(5), "u-b": summary(0)})
    assert view.hosts == ["0", "a", "b"]


def test_what_a_request_consumes_stays_in_its_view():
    manager = placement_view({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b")])})
    first = manager.get_host_view({"u-a": summary(0), "u-b": summary(0)})
    first.consume(1, {"VCPU": 3})
    part = first.subset(np.array([1], dtype=np.intp))
    assert list(part.free("VCPU")) == [5]
    assert part.state(0).free_resources == {"VCPU": 5, "MEMORY_MB": 1024}
    again = manager.get_host_view({"u-a": summary(0), "u-b": summary(0)})
    assert list(again.free("VCPU")) == [8, 8]


def test_a_subset_in_any_order_picks_its_hosts_in_that_order():
    manager = placement_view({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b"),
                                            row("u-c", "c")])})
    view = manager.get_host_view({"u-a": summary(1), "u-b": summary(2), "u-c": summary(3)})
    part = view.subset(np.array([2, 0, 1], dtype=np.intp))
    assert part.hosts == ["c", "a", "b"] and part.uuids == ["u-c", "u-a", "u-b"]
    assert list(part.free("VCPU")) == [5, 7, 6]
    assert [part.state(i).host for i in range(3)] == ["c", "a", "b"]
    again = part.subset(np.array([1], dtype=np.intp))
    assert again.hosts == ["a"] and again.state(0).free_resources["VCPU"] == 7


def test_a_capacity_past_64_bits_counts_as_plenty():
    # Placement allows allocation ratios up to 3.4e38, and HTTP may hand the result as a float
    manager = placement_view({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b")])})
    view = manager.get_host_view({"u-a": summary(1, vcpu=10**32), "u-b": summary(0, vcpu=1e32)})
    assert list(view.free("VCPU")) == [2**63 - 1, 2**63 - 1]
    assert view.state(0).capacity["VCPU"] == 10**32


# -- views from candidates kept by deltas ----------------------------------------------------------

from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402

from altsim_lab.testing import TokenlessStore  # noqa: E402
from placement_sim.client import InProcessPlacementClient  # noqa: E402
from placement_sim.exceptions import PlacementError  # noqa: E402
from placement_sim.store import PlacementStore  # noqa: E402

PROVIDERS = [f"rp-{i}" for i in range(5)]
FLAVORS = [{"VCPU": 1}, {"VCPU": 2, "MEMORY_MB": 100}]


class ViewsFollowPlacement(RuleBasedStateMachine):
    """Claims, deletes and resizes between requests of two flavors: every view the table
    gives (through the deltas' lineage or a scan) equals a fresh table's view."""

    def __init__(self) -> None:
        super().__init__()
        self.store = PlacementStore()
        for rp in PROVIDERS:
            self.store.create_resource_provider(rp, f"host-{rp}")
            self.store.set_inventories(rp, 0, {"VCPU": {"total": 4},
                                               "MEMORY_MB": {"total": 300}})
        self.client = InProcessPlacementClient(self.store)
        self.cell = FakeCellDb([row(rp, f"host-{rp}") for rp in PROVIDERS])
        self.manager = placement_view({"c1": self.cell})
        self.consumers = 0

    @rule(rp=st.sampled_from(PROVIDERS), vcpu=st.integers(1, 4))
    def claim(self, rp, vcpu):  # type: ignore[no-untyped-def]
        self.consumers += 1
        try:
            self.store.put_allocations(f"c{self.consumers}", {rp: {"resources": {
                "VCPU": vcpu, "MEMORY_MB": 50}}}, "p", "u", None)
        except PlacementError:
            pass

    @rule(consumer=st.integers(1, 20))
    def unclaim(self, consumer):  # type: ignore[no-untyped-def]
        try:
            self.store.delete_allocations(f"c{consumer}")
        except PlacementError:
            pass

    @rule(rp=st.sampled_from(PROVIDERS), total=st.integers(1, 6))
    def resize(self, rp, total):  # type: ignore[no-untyped-def]
        generation = self.store.get_resource_provider(rp)["generation"]
        try:
            self.store.set_inventories(rp, generation, {"VCPU": {"total": total},
                                                        "MEMORY_MB": {"total": 300}})
        except PlacementError:
            pass  # in use

    @rule(flavor=st.sampled_from(FLAVORS))
    def request(self, flavor):  # type: ignore[no-untyped-def]
        self.check(flavor)

    @invariant()
    def both_flavors(self):  # type: ignore[no-untyped-def]
        for flavor in FLAVORS:
            self.check(flavor)

    def check(self, flavor: dict) -> None:
        candidates = self.client.get_allocation_candidates(flavor)
        view = self.manager.get_host_view(candidates["provider_summaries"], candidates)
        fresh = placement_view({"c1": FakeCellDb(list(self.cell.rows))}).get_host_view(
            self.store.allocation_candidates(flavor, 1000)["provider_summaries"])
        assert view.hosts == fresh.hosts
        for rc in ("VCPU", "MEMORY_MB"):
            assert list(view.free(rc)) == list(fresh.free(rc)), rc


ViewsFollowPlacement.TestCase.settings = settings(max_examples=50, stateful_step_count=25,
                                                  deadline=None)
test_views_follow_placement = ViewsFollowPlacement.TestCase


class ViewsFollowATokenlessPlacement(ViewsFollowPlacement):
    """The same against a placement that gives no token (a real one): every answer is in
    full, with no journal, and every view is a scan that still equals a fresh table's."""

    def __init__(self) -> None:
        super().__init__()
        self.client = InProcessPlacementClient(TokenlessStore(self.store))  # type: ignore[arg-type]

    @invariant()
    def answers_carry_no_token(self):  # type: ignore[no-untyped-def]
        for flavor in FLAVORS:
            candidates = self.client.get_allocation_candidates(flavor)
            assert candidates.token is None and candidates.journal is None


ViewsFollowATokenlessPlacement.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None)
test_views_follow_a_tokenless_placement = ViewsFollowATokenlessPlacement.TestCase


# -- host_view = compute_nodes: free resources from the rows --------------------------------------

def node_row(uuid: str, host: str, used_vcpu: int, failed: int = 0) -> ComputeNodeRow:
    return ComputeNodeRow(uuid, host, host, False, failed, 100.0,
                          json.dumps({"VCPU": 8, "MEMORY_MB": 1024}),
                          json.dumps({"VCPU": used_vcpu, "MEMORY_MB": 0}))


def test_the_compute_nodes_view_takes_free_resources_from_the_rows_not_placement():
    # Given placement counting claims its rows do not have yet (the computes have not claimed)
    cell = FakeCellDb([node_row("u-a", "a", 1), node_row("u-b", "b", 0)])
    nodes, placement = HostManager({"c1": cell}), placement_view({"c1": cell})
    summaries = {"u-a": summary(5), "u-b": summary(7)}
    # Then the compute nodes' view is what the rows say, placement's what placement says
    assert list(nodes.get_host_view(summaries).free("VCPU")) == [7, 8]
    assert list(placement.get_host_view(summaries).free("VCPU")) == [3, 1]
    # and placement still decides the candidates
    assert nodes.get_host_view({"u-b": summary(7)}).hosts == ["b"]


def test_the_compute_nodes_view_follows_the_rows_a_tracker_writes():
    cell = FakeCellDb([node_row("u-a", "a", 0), node_row("u-b", "b", 0)])
    manager = HostManager({"c1": cell})
    summaries = {"u-a": summary(0), "u-b": summary(0)}
    first = manager.get_host_view(summaries)
    first.consume(0, {"VCPU": 2})  # the request's own copy
    assert list(manager.get_host_view(summaries).free("VCPU")) == [8, 8]
    cell.set_rows([node_row("u-a", "a", 3), node_row("u-b", "b", 0, failed=2)])
    view = manager.get_host_view(summaries)
    assert list(view.free("VCPU")) == [5, 8]
    assert list(view.failed_builds) == [0.0, 2.0]
    assert view.state(0).free_resources == {"VCPU": 5, "MEMORY_MB": 1024}


def test_an_unknown_host_view_is_refused():
    with pytest.raises(ValueError, match="host_view"):
        HostManager({}, host_view="both")
