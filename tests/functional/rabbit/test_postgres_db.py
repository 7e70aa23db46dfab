"""The API and cell databases on PostgreSQL: every DB method the services, the runner and
altsim-manage use, on throwaway databases created and dropped by altsim_lab.deploy.provision."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from altsim.db.api import ApiDatabase, CellMapping, HostMappingNotFound
from altsim.db.cell import CREATE_ACTION, CellDatabase, InstanceNotFound
from altsim.db.engine import dispose_engine
from altsim.objects import CELL0_UUID, BuildRequest, Fault, Flavor, Instance, RequestSpec
from altsim_lab.cmd import manage
from altsim_lab.deploy.provision import DatabaseServer, database_names
from altsim_lab.testing import postgres_databases

pytestmark = pytest.mark.postgres
SMALL = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
CELL1_UUID = "c1c1c1c1-0000-0000-0000-000000000001"


@pytest.fixture
def databases(postgres_url: str) -> Iterator[dict[str, str]]:
    """level -> URL of a fresh database (api, cell0, cell1), all dropped afterwards."""
    server = DatabaseServer(postgres_url)
    run_id = f"altsim-test-{uuid.uuid4().hex[:8]}"
    levels = ["api", "cell0", "cell1"]
    names = database_names(run_id, levels)
    urls = {level: server.url_for(name) for level, name in zip(levels, names, strict=True)}
    try:
        for name in names:
            server.create(name)
        assert set(names) <= postgres_databases(postgres_url, "altsim_test_")
        yield urls
    finally:
        for url in urls.values():
            dispose_engine(url)
        for name in names:
            server.drop(name)
    assert not set(names) & postgres_databases(postgres_url, "altsim_test_")


def _instance(name: str, cell_uuid: str = CELL1_UUID) -> Instance:
    return Instance(uuid=str(uuid.uuid4()), name=name, project_id="p", user_id="u",
                    flavor=SMALL, cell_uuid=cell_uuid)


def test_api_database_on_postgres(databases: dict[str, str]):
    api_db = ApiDatabase(databases["api"])
    api_db.sync()
    api_db.sync()  # idempotent, as on SQLite
    cell1 = CellMapping(CELL1_UUID, "cell1", "rabbit://u:pw@mq/cell1", databases["cell1"])
    api_db.create_cell(CellMapping(CELL0_UUID, "cell0", "none:///", databases["cell0"]))
    api_db.create_cell(cell1)
    assert [c.name for c in api_db.list_cells()] == ["cell0", "cell1"]
    assert api_db.list_cells()[1] == cell1 and api_db.list_cells()[1].disabled is False

    api_db.map_host("host1", CELL1_UUID)
    api_db.map_host("host1", CELL1_UUID)  # mapping a mapped host again changes nothing
    assert api_db.host_cells() == {"host1": CELL1_UUID}
    assert api_db.get_cell_for_host("host1") == cell1
    with pytest.raises(HostMappingNotFound):
        api_db.get_cell_for_host("nowhere")

    instance_uuid = str(uuid.uuid4())
    build_request = BuildRequest(instance_uuid=instance_uuid, name="web-1", project_id="p",
                                 user_id="u", flavor=SMALL)
    spec = RequestSpec(instance_uuid=instance_uuid, name="web-1", project_id="p",
                       user_id="u", flavor=SMALL, num_instances=1, request_id="req-1")
    api_db.create_build_request(build_request, spec)
    assert api_db.build_request_exists(instance_uuid)
    assert api_db.instance_cells() == {instance_uuid: None}
    api_db.map_instance(instance_uuid, CELL1_UUID, delete_build_request=True)
    assert api_db.instance_cells() == {instance_uuid: CELL1_UUID}
    assert not api_db.build_request_exists(instance_uuid)


def test_the_schedulers_incremental_read_of_compute_nodes_on_postgres(databases: dict[str, str]):
    """scheduler/node_rows.py on PostgreSQL: its snapshot (REPEATABLE READ), and a row
    committed out of order found by the stamp, as on SQLite (tests/unit/test_node_rows.py)."""
    from scheduler.node_rows import CellRows

    cell_db = CellDatabase(databases["cell1"])
    cell_db.sync()
    cell_db.register_compute_nodes([(f"node-{i}", f"host{i}", {"VCPU": 8}) for i in range(3)])
    rows = CellRows(cell_db)
    assert rows.read().rows == cell_db.compute_node_rows()[1]
    assert rows.read() is None
    cell_db.report_node_usage("node-1", {"VCPU": 2}, failed_builds=1)
    cell_db.heartbeat(["node-2"])
    changes = rows.read()
    assert {row[0] for row in changes.changed} == {"node-1", "node-2"}
    assert changes.rows == cell_db.compute_node_rows()[1]
    with cell_db.begin() as tx:  # committed last, stamped long ago
        tx.execute("UPDATE compute_nodes SET disabled = true, version = version + 1, "
                   "changed_at = 1.0 WHERE uuid = 'node-0'")
    changes = rows.read()
    assert [row[0] for row in changes.changed] == ["node-0"]
    assert changes.rows == cell_db.compute_node_rows()[1]


def test_cell_database_on_postgres(databases: dict[str, str]):
    cell_db = CellDatabase(databases["cell1"])
    cell_db.sync()

    # compute nodes and their change stamp
    cell_db.register_compute_node("node-1", "host1")
    cell_db.register_compute_node("node-2", "host2")
    stamp, rows = cell_db.compute_node_rows()
    assert [row[:5] for row in rows] == [("node-1", "host1", "host1", False, 0),
                                         ("node-2", "host2", "host2", False, 0)]
    assert isinstance(rows[0][5], float) and abs(rows[0][5] - time.time()) < 60
    assert cell_db.compute_node_rows(unless_stamp=stamp) == (stamp, None)
    cell_db.record_build_result("node-1", failed=True)
    cell_db.record_build_result("node-1", failed=True)
    stamp2, rows = cell_db.compute_node_rows(unless_stamp=stamp)
    assert stamp2 != stamp and rows[0][4] == 2
    cell_db.record_build_result("node-2", failed=False)  # healthy: nothing changes
    assert cell_db.compute_node_rows(unless_stamp=stamp2) == (stamp2, None)
    cell_db.record_build_result("node-1", failed=False)
    cell_db.heartbeat(["node-1", "node-2"])
    nodes = cell_db.list_compute_nodes()
    assert [(n.host, n.failed_builds, n.disabled) for n in nodes] == [("host1", 0, False),
                                                                     ("host2", 0, False)]
    cell_db.register_compute_node("node-1", "host1")  # a restart: the same row again
    assert len(cell_db.list_compute_nodes()) == 2

    # an instance, built in one transaction as the super conductor does
    instance = _instance("web-1")
    with cell_db.begin() as tx:
        cell_db.create_instance(instance, conn=tx)
        cell_db.start_action(instance.uuid, "req-1", conn=tx)
        cell_db.add_event(instance.uuid, "schedule", "success", host="host1",
                          details={"selection": ["host1", "host2"]}, conn=tx)
    launched_at = 1_700_000_000.123456
    cell_db.update_instance(instance.uuid, vm_state="active", task_state=None, host="host1",
                            node="host1", launched_at=launched_at)
    (row,) = cell_db.list_instance_rows()
    assert row["vm_state"] == "active" and row["host"] == "host1"
    assert row["flavor"] == SMALL.model_dump(mode="json")
    assert row["launched_at"] == launched_at  # a double precision timestamp, to the µs
    with pytest.raises(InstanceNotFound):
        cell_db.update_instance(str(uuid.uuid4()), vm_state="error")
    with pytest.raises(InstanceNotFound):
        cell_db.add_event(str(uuid.uuid4()), "spawn", "failed")
    with pytest.raises(ValueError, match="no column"):
        cell_db.update_instance(instance.uuid, colour="blue")

    cell_db.add_event(instance.uuid, "spawn", "failed", host="host1", reason="50% chance",
                      start_time=launched_at)
    cell_db.set_error(instance.uuid, Fault(code=500, message="spawn failed: 100%",
                                           details="RescheduledException"))
    assert cell_db.list_instance_rows()[0]["vm_state"] == "error"
    assert cell_db.list_faults() == {instance.uuid: Fault(code=500,
                                                          message="spawn failed: 100%",
                                                          details="RescheduledException")}
    events = cell_db.list_events()[instance.uuid]
    assert [(e.event, e.result, e.host, e.reason) for e in events] == [
        ("schedule", "success", "host1", None), ("spawn", "failed", "host1", "50% chance")]
    assert events[0].details == {"selection": ["host1", "host2"]}
    assert events[1].start_time == launched_at and events[1].finish_time >= launched_at


def test_a_failed_transaction_leaves_nothing_on_postgres(databases: dict[str, str]):
    cell_db = CellDatabase(databases["cell1"])
    cell_db.sync()
    instance = _instance("web-1")
    with pytest.raises(InstanceNotFound), cell_db.begin() as tx:
        cell_db.create_instance(instance, conn=tx)
        cell_db.add_event(instance.uuid, "schedule", "success", conn=tx)  # no action yet
    assert cell_db.list_instance_rows() == []
    cell_db.create_instance(instance)  # the connection went back to the pool usable
    assert len(cell_db.list_instance_rows()) == 1


def test_concurrent_writers_on_postgres(databases: dict[str, str]):
    """What SQLite serialises with BEGIN IMMEDIATE, PostgreSQL's row locks must get right too:
    many threads counting failures on one node and recording events at once."""
    cell_db = CellDatabase(databases["cell1"])
    cell_db.sync()
    cell_db.register_compute_node("node-1", "host1")
    instances = [_instance(f"web-{i}") for i in range(8)]
    for instance in instances:
        cell_db.create_instance(instance)
        cell_db.start_action(instance.uuid, None)
    errors: list[BaseException] = []

    def work(instance: Instance) -> None:
        try:
            for attempt in range(10):
                with cell_db.begin() as tx:
                    cell_db.record_build_result("node-1", failed=True, conn=tx)
                    cell_db.update_instance(instance.uuid, conn=tx, task_state="spawning")
                    cell_db.add_event(instance.uuid, "spawn", "rescheduled", host="host1",
                                      reason=f"attempt {attempt}", action=CREATE_ACTION,
                                      conn=tx)
                cell_db.heartbeat(["node-1"])
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert cell_db.list_compute_nodes()[0].failed_builds == 80
    events = cell_db.list_events()
    assert all(len(events[i.uuid]) == 10 for i in instances)


def test_altsim_manage_on_postgres(databases: dict[str, str], tmp_path: Path, capsys):
    config = tmp_path / "altsim.conf"
    config.write_text(f"[api_database]\nconnection = {databases['api']}\n")

    def run(*args: str) -> int:
        return manage.main(["--config-file", str(config), *args])

    assert run("db", "sync") == 0
    assert run("cell", "create", "--name", "cell0",
               "--database-connection", databases["cell0"]) == 0
    assert run("cell", "create", "--name", "cell1", "--uuid", CELL1_UUID,
               "--transport-url", "rabbit://u:s3cret@mq/cell1",
               "--database-connection", databases["cell1"]) == 0
    assert run("db", "sync") == 0  # now with the cells' schemas
    CellDatabase(databases["cell1"]).register_compute_node("node-1", "host1")
    assert run("cell", "discover-hosts") == 0
    assert ApiDatabase(databases["api"]).host_cells() == {"host1": CELL1_UUID}
    assert run("cell", "list") == 0
    out = capsys.readouterr().out
    assert "cell1" in out and "s3cret" not in out
    assert run("cell", "delete", "cell1") == 2  # a host is mapped to it
    assert run("cell", "delete", "cell0") == 0
    assert [c.name for c in ApiDatabase(databases["api"]).list_cells()] == ["cell1"]
