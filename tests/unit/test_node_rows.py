"""The scheduler's per-cell rows (scheduler/node_rows.py) read only what changed, and always
equal reading every row (CellDatabase.compute_node_rows, the oracle), whatever the writes."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from altsim.db.cell import CellDatabase
from altsim.db.engine import dispose_engine
from scheduler.node_rows import CellRows

CAPACITY = {"VCPU": 8}


def cell_db(tmp_path: Path, hosts: int = 3) -> CellDatabase:
    db = CellDatabase(f"sqlite:///{tmp_path / 'cell.db'}")
    db.sync()
    db.register_compute_nodes([(f"n{i}", f"host{i}", CAPACITY) for i in range(hosts)])
    return db


def stale_write(db: CellDatabase, node: str, failed_builds: int) -> None:
    """A write committed after later ones but stamped before them (as concurrent writers
    on PostgreSQL can commit)."""
    with db.begin() as tx:
        tx.execute("UPDATE compute_nodes SET failed_builds = :failed, version = version + 1, "
                   "changed_at = 1.0 WHERE uuid = :node", {"node": node, "failed": failed_builds})


def test_a_first_read_has_every_row_then_only_what_changed(tmp_path):
    db = cell_db(tmp_path)
    rows = CellRows(db)
    first = rows.read()
    assert first is not None and first.new_nodes
    assert first.rows == db.compute_node_rows()[1]
    assert rows.read() is None  # nothing changed
    db.report_node_usage("n1", {"VCPU": 2})
    changes = rows.read()
    assert changes is not None and not changes.new_nodes
    assert [row[0] for row in changes.changed] == ["n1"]
    assert changes.rows == db.compute_node_rows()[1]


def test_a_change_committed_out_of_order_is_found_by_the_stamp(tmp_path):
    db = cell_db(tmp_path)
    rows = CellRows(db)
    rows.read()
    db.report_node_usage("n0", {"VCPU": 1})
    rows.read()
    stale_write(db, "n2", 4)  # older changed_at than n0's: not in the delta
    changes = rows.read()
    assert changes is not None
    assert [row[0] for row in changes.changed] == ["n2"]
    assert changes.rows == db.compute_node_rows()[1]


def test_a_new_node_is_reported_as_such(tmp_path):
    db = cell_db(tmp_path)
    rows = CellRows(db)
    rows.read()
    db.register_compute_node("n9", "host9", CAPACITY)
    changes = rows.read()
    assert changes is not None and changes.new_nodes
    assert [row[0] for row in changes.rows] == ["n0", "n1", "n2", "n9"]


class RowsFollowTheDatabase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.workdir = tempfile.TemporaryDirectory()
        self.db = cell_db(Path(self.workdir.name), hosts=4)
        self.nodes = [f"n{i}" for i in range(4)]
        self.rows = CellRows(self.db)
        self.held = None

    @rule(node=st.integers(0, 3), vcpu=st.integers(0, 8), failed=st.none() | st.integers(0, 3))
    def usage(self, node, vcpu, failed):  # type: ignore[no-untyped-def]
        self.db.report_node_usage(self.nodes[node], {"VCPU": vcpu}, failed)

    @rule(nodes=st.lists(st.integers(0, 3), min_size=1, unique=True))
    def heartbeat(self, nodes):  # type: ignore[no-untyped-def]
        self.db.heartbeat([self.nodes[i] for i in nodes])

    @rule(node=st.integers(0, 3), failed=st.booleans())
    def build_result(self, node, failed):  # type: ignore[no-untyped-def]
        self.db.record_build_result(self.nodes[node], failed)

    @rule(node=st.integers(0, 3), failed=st.integers(0, 9))
    def out_of_order(self, node, failed):  # type: ignore[no-untyped-def]
        stale_write(self.db, self.nodes[node], failed)

    @rule()
    def new_node(self):  # type: ignore[no-untyped-def]
        node = f"x{uuid.uuid4().hex[:6]}"
        self.db.register_compute_node(node, f"host-{node}", CAPACITY)
        self.nodes.append(node)

    @invariant()
    def rows_equal_a_full_read(self):  # type: ignore[no-untyped-def]
        before = self.held
        changes = self.rows.read()
        oracle = self.db.compute_node_rows()[1]
        if changes is None:
            assert before == oracle
            return
        assert changes.rows == oracle
        previous = {row[0]: row for row in before or []}
        # every row that differs is among the changed (which may hold rows written again
        # with the same values)
        assert {row[0] for row in oracle if previous.get(row[0]) != row} <= {
            row[0] for row in changes.changed}
        self.held = changes.rows

    def teardown(self) -> None:
        dispose_engine(self.db.url)
        self.workdir.cleanup()


RowsFollowTheDatabase.TestCase.settings = settings(max_examples=40, stateful_step_count=20,
                                                   deadline=None)
test_rows_follow_the_database = RowsFollowTheDatabase.TestCase
