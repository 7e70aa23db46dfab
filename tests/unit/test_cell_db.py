"""The compute node change stamp the scheduler relies on: every change moves it, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from altsim.db.cell import CellDatabase, ComputeNodeRow
from altsim.db.engine import dispose_engine


@pytest.fixture
def cell_db(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cell.db'}"
    db = CellDatabase(url)
    db.sync()
    db.register_compute_node("node-1", "host1")
    db.register_compute_node("node-2", "host2")
    yield db
    dispose_engine(url)


def stamp(db: CellDatabase) -> tuple[int, int]:
    return db.compute_node_rows()[0]


def test_rows_are_skipped_only_while_the_stamp_is_unchanged(cell_db):
    first, rows = cell_db.compute_node_rows()
    assert [row[1] for row in rows] == ["host1", "host2"]
    assert cell_db.compute_node_rows(unless_stamp=first) == (first, None)
    cell_db.record_build_result("node-1", failed=True)
    moved, rows = cell_db.compute_node_rows(unless_stamp=first)
    assert moved != first
    assert {row[1]: row[4] for row in rows} == {"host1": 1, "host2": 0}


def test_a_row_names_its_fields_with_their_types(cell_db):
    cell_db.register_compute_node("node-3", "host3", {"VCPU": 4})
    cell_db.record_build_result("node-3", failed=True)
    row = cell_db.compute_node_rows()[1][2]
    assert isinstance(row, ComputeNodeRow)
    assert (row.uuid, row.host, row.hypervisor_hostname) == ("node-3", "host3", "host3")
    assert row.disabled is False and row.failed_builds == 1
    assert isinstance(row.updated_at, float)
    assert (row.resources, row.resources_used) == ('{"VCPU": 4}', '{"VCPU": 0}')


def test_a_success_on_a_healthy_host_leaves_the_stamp_alone(cell_db):
    before = stamp(cell_db)
    cell_db.record_build_result("node-2", failed=False)
    assert stamp(cell_db) == before


def test_a_success_after_failures_resets_the_count_and_moves_the_stamp(cell_db):
    cell_db.record_build_result("node-1", failed=True)
    before = stamp(cell_db)
    cell_db.record_build_result("node-1", failed=False)
    assert stamp(cell_db) != before
    assert {n.host: n.failed_builds for n in cell_db.list_compute_nodes()}["host1"] == 0


def test_heartbeat_and_a_new_node_move_the_stamp(cell_db):
    before = stamp(cell_db)
    old = {n.host: n.updated_at for n in cell_db.list_compute_nodes()}
    cell_db.heartbeat(["node-1"])
    after_beat = stamp(cell_db)
    assert after_beat != before
    assert {n.host: n.updated_at for n in cell_db.list_compute_nodes()}["host1"] >= old["host1"]
    cell_db.register_compute_node("node-3", "host3")
    assert stamp(cell_db)[0] == 3


def test_re_registering_a_compute_resets_its_failure_count(cell_db):
    cell_db.record_build_result("node-1", failed=True)
    cell_db.register_compute_node("node-1", "host1")
    assert {n.host: n.failed_builds for n in cell_db.list_compute_nodes()}["host1"] == 0


def test_sync_adds_the_resource_columns_to_a_cell_db_made_before_them(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = CellDatabase(url)
    with old.engine.begin() as conn:  # compute_nodes as it was before use_placement = false
        conn.exec_driver_sql("CREATE TABLE compute_nodes (uuid VARCHAR(36) PRIMARY KEY, "
                             "host VARCHAR(255) NOT NULL UNIQUE, hypervisor_hostname "
                             "VARCHAR(255) NOT NULL, disabled BOOLEAN NOT NULL, failed_builds "
                             "INTEGER NOT NULL, updated_at FLOAT NOT NULL, version INTEGER "
                             "NOT NULL)")
    try:
        old.sync()
        old.sync()  # and again: nothing left to add
        old.register_compute_node("node-1", "host1", {"VCPU": 4})
        [row] = old.compute_node_rows()[1]
        assert row[6:] == ('{"VCPU": 4}', '{"VCPU": 0}')
    finally:
        dispose_engine(url)


def test_many_nodes_register_at_once_and_one_heartbeat_reaches_every_one(cell_db):
    # Given 1,200 more nodes registered in one call (more than one heartbeat chunk)
    nodes = [(f"bulk-{i}", f"bulk{i:04d}", {"VCPU": 4}) for i in range(1200)]
    cell_db.register_compute_nodes(nodes)
    rows = {row[0]: row for row in cell_db.compute_node_rows()[1]}
    assert len(rows) == 1202 and rows["bulk-7"][6] == '{"VCPU": 4}'
    # When they all beat, but node-1
    before = {uuid: row[5] for uuid, row in rows.items()}
    cell_db.heartbeat([uuid for uuid, _, _ in nodes] + ["node-2"])
    after = {row[0]: row[5] for row in cell_db.compute_node_rows()[1]}
    # Then every one of them moved on, and node-1 did not
    assert all(after[uuid] > before[uuid] for uuid, _, _ in nodes)
    assert after["node-2"] > before["node-2"] and after["node-1"] == before["node-1"]
