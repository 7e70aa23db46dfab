"""The scheduler's table of hosts (scheduler/host_table.py, through HostManager.get_host_view):
a view shows each host as its compute node row and latest placement summary say, whatever
changed between two requests, and what one request consumes stays in its own view."""

from __future__ import annotations

import numpy as np

from scheduler.host_manager import HostManager


class FakeCellDb:
    """compute_node_rows as CellDatabase answers it: a stamp, and the rows unless unchanged."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows
        self.version = 0

    def set_rows(self, rows: list[tuple]) -> None:
        self.rows, self.version = rows, self.version + 1

    def compute_node_rows(self, unless_stamp=None):  # type: ignore[no-untyped-def]
        stamp = (len(self.rows), self.version)
        return stamp, (None if stamp == unless_stamp else list(self.rows))


def row(uuid: str, host: str, disabled: bool = False, failed: int = 0,
        updated: float = 100.0) -> tuple:
    return (uuid, host, host, disabled, failed, updated, None, None)


def summary(vcpu_used: int, vcpu: int = 8, ram: int | None = 1024) -> dict:
    resources = {"VCPU": {"capacity": vcpu, "used": vcpu_used}}
    if ram is not None:
        resources["MEMORY_MB"] = {"capacity": ram, "used": 0}
    return {"resources": resources}


def test_a_view_is_in_host_name_order_across_cells_and_skips_unknown_providers():
    cell1 = FakeCellDb([row("u-b", "b"), row("u-d", "d")])
    cell2 = FakeCellDb([row("u-a", "a"), row("u-c", "c")])
    manager = HostManager({"c1": cell1, "c2": cell2})
    view = manager.get_host_view({"u-d": summary(1), "u-a": summary(2), "u-x": summary(0),
                                  "u-b": summary(3)})
    assert view.hosts == ["a", "b", "d"]
    assert view.cell_uuids == ["c2", "c1", "c1"]
    assert list(view.free("VCPU")) == [6, 5, 7]
    assert list(view.free("DISK_GB")) == [0, 0, 0]


def test_every_change_between_requests_shows_in_the_next_view():
    # Given a first request's view
    cell = FakeCellDb([row("u-a", "a"), row("u-b", "b")])
    manager = HostManager({"c1": cell})
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
    manager = HostManager({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b")])})
    first = manager.get_host_view({"u-a": summary(0), "u-b": summary(0)})
    first.consume(1, {"VCPU": 3})
    part = first.subset(np.array([1], dtype=np.intp))
    assert list(part.free("VCPU")) == [5]
    assert part.state(0).free_resources == {"VCPU": 5, "MEMORY_MB": 1024}
    again = manager.get_host_view({"u-a": summary(0), "u-b": summary(0)})
    assert list(again.free("VCPU")) == [8, 8]


def test_a_subset_in_any_order_picks_its_hosts_in_that_order():
    manager = HostManager({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b"),
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
    manager = HostManager({"c1": FakeCellDb([row("u-a", "a"), row("u-b", "b")])})
    view = manager.get_host_view({"u-a": summary(1, vcpu=10**32), "u-b": summary(0, vcpu=1e32)})
    assert list(view.free("VCPU")) == [2**63 - 1, 2**63 - 1]
    assert view.state(0).capacity["VCPU"] == 10**32
