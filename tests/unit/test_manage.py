"""altsim-manage: db sync, cell mappings, host discovery and the placement audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from altsim.db.api import ApiDatabase, CellMapping
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID, BuildRequest, Flavor, Instance, RequestSpec, VmState
from altsim_lab.cmd import manage
from altsim_lab.manage.audit import audit_placement
from altsim_lab.manage.cells import mask_url
from placement_sim.client import InProcessPlacementClient
from placement_sim.store import PlacementStore

INV = {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}}
RP1, RP2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
CELL1_UUID = "c1c1c1c1-0000-0000-0000-000000000001"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    api_url = f"sqlite:///{tmp_path / 'api.db'}"
    config = tmp_path / "altsim.conf"
    config.write_text(f"[api_database]\nconnection = {api_url}\n")
    return {"api": api_url, "config": str(config),
            "cell0": f"sqlite:///{tmp_path / 'cell0.db'}",
            "cell1": f"sqlite:///{tmp_path / 'cell1.db'}"}


def run(env: dict[str, str], *args: str) -> int:
    return manage.main(["--config-file", env["config"], *args])


def setup_cells(env: dict[str, str]) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "cell", "create", "--name", "cell0",
               "--database-connection", env["cell0"]) == 0
    assert run(env, "cell", "create", "--name", "cell1", "--uuid", CELL1_UUID,
               "--transport-url", "rabbit://user:s3cret@mq1:5672,user:s3cret@mq2:5672/",
               "--database-connection", env["cell1"]) == 0


def test_mask_url() -> None:
    assert mask_url("rabbit://u:pw@h1:5672,v:pw2@h2/vh") == "rabbit://u:***@h1:5672,v:***@h2/vh"
    assert mask_url("mysql+pymysql://nova:pw@db/nova?x=1") == "mysql+pymysql://nova:***@db/nova?x=1"
    assert mask_url("none:///") == "none:///"
    assert mask_url("rabbit://guest@h/") == "rabbit://guest@h/"


def test_db_sync_creates_api_and_cell_schemas(env, capsys) -> None:
    assert run(env, "db", "sync") == 0
    api_db = ApiDatabase(env["api"])
    api_db.create_cell(CellMapping("u1", "cell1", "none:///", env["cell1"]))
    assert run(env, "db", "sync") == 0
    assert CellDatabase(env["cell1"]).list_compute_nodes() == []  # the schema exists
    assert "cell cell1 (u1) database synced" in capsys.readouterr().out


def test_cell_create_and_list_masks_passwords(env, capsys) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "cell", "create", "--name", "cell0",
               "--database-connection", env["cell0"]) == 0
    assert run(env, "cell", "create", "--name", "cell1", "--uuid", CELL1_UUID,
               "--transport-url", "rabbit://user:s3cret@mq:5672/",
               "--database-connection", "mysql+pymysql://nova:dbpass@db/cell1") == 0
    cells = {c.name: c for c in ApiDatabase(env["api"]).list_cells()}
    assert cells["cell0"].uuid == CELL0_UUID and cells["cell0"].transport_url == "none:///"
    assert cells["cell1"].transport_url == "rabbit://user:s3cret@mq:5672/"  # stored as given
    capsys.readouterr()
    assert run(env, "cell", "list") == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and "dbpass" not in out
    assert "rabbit://user:***@mq:5672/" in out
    assert "mysql+pymysql://nova:***@db/cell1" in out
    assert CELL0_UUID in out and CELL1_UUID in out


def test_cell_create_errors(env, capsys) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "cell", "create", "--name", "cell1",
               "--database-connection", env["cell1"]) == 2
    assert "--transport-url is required" in capsys.readouterr().err
    assert run(env, "cell", "create", "--name", "cell0", "--database-connection", "x") == 0
    assert run(env, "cell", "create", "--name", "cell0", "--database-connection", "x") == 2
    assert "already exists" in capsys.readouterr().err


def test_missing_connection_and_config_file_exit_2(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.conf"
    empty.write_text("[DEFAULT]\n")
    assert manage.main(["--config-file", str(empty), "cell", "list"]) == 2
    assert "[api_database] connection is not set" in capsys.readouterr().err
    assert manage.main(["--config-file", str(tmp_path / "nope.conf"), "cell", "list"]) == 2
    assert "nope.conf" in capsys.readouterr().err
    assert manage.main(["cell"]) == 2  # no action: argparse usage error


def test_cell_delete_refuses_when_hosts_or_instances_mapped(env, capsys) -> None:
    setup_cells(env)
    api_db = ApiDatabase(env["api"])
    api_db.map_host("compute1", CELL1_UUID)
    assert run(env, "cell", "delete", "cell1") == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "compute1" in err
    assert {c.name for c in api_db.list_cells()} == {"cell0", "cell1"}
    # cell0 with an instance mapped to it is refused too; an empty cell goes.
    with api_db.begin() as tx:
        tx.execute("INSERT INTO instance_mappings (instance_uuid, cell_uuid, project_id) "
                   "VALUES ('i1', :cell, 'p')", {"cell": CELL0_UUID})
    assert run(env, "cell", "delete", "cell0") == 2
    assert "1 instance(s)" in capsys.readouterr().err
    with api_db.begin() as tx:
        tx.execute("DELETE FROM instance_mappings")
    assert run(env, "cell", "delete", "cell0") == 0
    assert {c.name for c in api_db.list_cells()} == {"cell1"}
    assert run(env, "cell", "delete", "nosuch") == 2
    assert "no cell named 'nosuch'" in capsys.readouterr().err


def test_discover_hosts_maps_new_hosts_once(env, capsys) -> None:
    setup_cells(env)
    assert run(env, "db", "sync") == 0  # creates the cells' schemas
    cell1 = next(c for c in ApiDatabase(env["api"]).list_cells() if c.name == "cell1")
    CellDatabase(cell1.database_connection).register_compute_node("n1", "compute1")
    capsys.readouterr()
    assert run(env, "cell", "discover-hosts") == 0
    out = capsys.readouterr().out
    assert "compute1" in out and "cell1" in out
    assert ApiDatabase(env["api"]).host_cells() == {"compute1": CELL1_UUID}
    assert run(env, "cell", "discover-hosts") == 0
    assert "no new hosts found" in capsys.readouterr().out


# -- placement audit --

def _instance(uuid: str, cell: str, state: VmState) -> Instance:
    return Instance(uuid=uuid, name=uuid, project_id="p", user_id="u", cell_uuid=cell,
                    flavor=Flavor(name="small", resources={"VCPU": 1}), vm_state=state)


@pytest.fixture
def audit_env(env):
    """cell0 holds an ERROR instance, cell1 an ACTIVE and a BUILDING one; placement has
    allocations for all of them and for a consumer no cell knows."""
    api_db = ApiDatabase(env["api"])
    api_db.sync()
    for uuid, name, url in ((CELL0_UUID, "cell0", env["cell0"]),
                            (CELL1_UUID, "cell1", env["cell1"])):
        api_db.create_cell(CellMapping(uuid, name, "none:///", url))
        CellDatabase(url).sync()
    CellDatabase(env["cell0"]).create_instance(_instance("err", CELL0_UUID, VmState.ERROR))
    cell1 = CellDatabase(env["cell1"])
    cell1.create_instance(_instance("ok", CELL1_UUID, VmState.ACTIVE))
    cell1.create_instance(_instance("ok2", CELL1_UUID, VmState.BUILDING))
    cell1.update_instance("ok2", vm_state="active")
    # still building: one in its cell, one claimed by the scheduler and not yet out of its
    # BuildRequest; both own their allocations
    cell1.create_instance(_instance("building", CELL1_UUID, VmState.BUILDING))
    flavor = Flavor(name="small", resources={"VCPU": 1})
    api_db.create_build_request(
        BuildRequest(instance_uuid="pending", name="pending", project_id="p", user_id="u",
                     flavor=flavor),
        RequestSpec(instance_uuid="pending", name="pending", project_id="p", user_id="u",
                    flavor=flavor))
    store = PlacementStore()
    client = InProcessPlacementClient(store)
    client.ensure_resource_provider(RP1, "host-1", INV)
    client.ensure_resource_provider(RP2, "host-2", INV)
    api_db.map_host("host-1", CELL1_UUID)
    api_db.map_host("host-2", CELL1_UUID)
    for consumer, rp in (("ok", RP1), ("ok2", RP2), ("err", RP1), ("ghost", RP2),
                         ("building", RP1), ("pending", RP2)):
        assert client.claim_resources(consumer, {"allocations": {rp: {"resources": {
            "VCPU": 1, "MEMORY_MB": 512}}}}, "p", "u")
    return api_db, client


def test_audit_reports_orphans_per_provider(audit_env) -> None:
    api_db, client = audit_env
    report = audit_placement(api_db, client)
    found = {(o.provider_name, o.consumer_uuid, o.reason) for o in report.orphans}
    assert found == {("host-1", "err", "vm_state error"),
                     ("host-2", "ghost", "no instance in any cell")}
    assert report.mismatches == [] and report.deleted == [] and not report.clean
    assert client.get_allocations_for_consumer("ghost")  # nothing removed without delete


def test_audit_leaves_providers_of_other_deployments_alone(audit_env) -> None:
    # Given a placement shared with another deployment, whose host is mapped to no cell here
    api_db, client = audit_env
    other = "33333333-3333-3333-3333-333333333333"
    client.ensure_resource_provider(other, "someone-elses-host", INV)
    assert client.claim_resources("theirs", {"allocations": {other: {"resources": {
        "VCPU": 1}}}}, "p", "u")
    # When the audit deletes the orphans it finds
    report = audit_placement(api_db, client, delete=True)
    # Then the other deployment's consumer is neither reported nor removed
    assert "theirs" not in {o.consumer_uuid for o in report.orphans}
    assert client.get_allocations_for_consumer("theirs") == {other: {"VCPU": 1}}


def test_audit_delete_removes_only_orphans(audit_env) -> None:
    api_db, client = audit_env
    report = audit_placement(api_db, client, delete=True)
    assert sorted(report.deleted) == ["err", "ghost"]
    assert client.get_allocations_for_consumer("ghost") == {}
    assert client.get_allocations_for_consumer("err") == {}
    assert client.get_allocations_for_consumer("ok") == {RP1: {"VCPU": 1, "MEMORY_MB": 512}}
    assert audit_placement(api_db, client).clean


def test_audit_reports_usage_mismatch(audit_env, capsys) -> None:
    api_db, client = audit_env
    client.delete_allocation_for_instance("err")
    client.delete_allocation_for_instance("ghost")

    class Skewed(InProcessPlacementClient):
        def get_usages(self, rp_uuid: str) -> dict[str, int]:
            usages = super().get_usages(rp_uuid)
            if rp_uuid == RP2:
                usages["VCPU"] += 3
            return usages

    report = audit_placement(api_db, Skewed(client._store))
    assert report.orphans == []
    assert [(m.provider_name, m.resource_class, m.usage, m.allocated)
            for m in report.mismatches] == [("host-2", "VCPU", 5, 2)]
    manage.print_audit(report)
    assert "host-2" in capsys.readouterr().out


def test_placement_audit_command_needs_endpoint(env, capsys) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "placement", "audit") == 2
    assert "[placement] endpoint_url is not set" in capsys.readouterr().err


def test_placement_audit_command_exit_codes(env, audit_env, monkeypatch, capsys) -> None:
    _, client = audit_env
    Path(env["config"]).write_text(Path(env["config"]).read_text()
                                   + "[placement]\nendpoint_url = http://placement.test\n")
    monkeypatch.setattr(manage.placement_conf, "make_placement_client", lambda conf: client)
    assert run(env, "placement", "audit") == 1
    out = capsys.readouterr().out
    assert "ghost" in out and "host-2" in out
    assert run(env, "placement", "audit", "--delete") == 1
    assert "deleted allocations of consumer ghost" in capsys.readouterr().out
    assert run(env, "placement", "audit") == 0
    assert "no problems found" in capsys.readouterr().out


def test_flavor_create_and_list(env: dict[str, str], capsys) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "flavor", "create", "small") == 0
    assert run(env, "flavor", "create", "gpu", "--vcpus", "4", "--ram", "8192", "--disk", "0",
               "--resource", "CUSTOM_GPU=1") == 0
    assert ApiDatabase(env["api"]).list_flavors() == [
        Flavor(name="gpu", resources={"VCPU": 4, "MEMORY_MB": 8192, "CUSTOM_GPU": 1}),
        Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})]
    capsys.readouterr()
    assert run(env, "flavor", "list") == 0
    assert "gpu    CUSTOM_GPU=1, MEMORY_MB=8192, VCPU=4" in capsys.readouterr().out


def test_flavor_create_refuses_duplicates_and_bad_resources(env: dict[str, str], capsys) -> None:
    assert run(env, "db", "sync") == 0
    assert run(env, "flavor", "create", "small") == 0
    assert run(env, "flavor", "create", "small") == 2
    assert "flavor 'small' already exists" in capsys.readouterr().err
    assert run(env, "flavor", "create", "odd", "--resource", "CUSTOM_GPU") == 2
    assert "--resource 'CUSTOM_GPU': expected RESOURCE_CLASS=AMOUNT" in capsys.readouterr().err
