"""Example scenarios launched over RabbitMQ against real openstack-placement (`altsim run
--placement-url`): they meet their expectations, the audit reads the real placement and finds
nothing, and the run takes out its own providers and consumers and nothing else (another
tenant's provider and consumer are there before and after).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from altsim_lab.cmd import altsim
from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.nova_api import instance_uuid_for
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario
from altsim_lab.testing import broker_problem
from tests.realplacement.api import Api
from tests.realplacement.servers import TOKEN, free_port

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"
RABBIT_URL = os.environ.get("ALTSIM_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="module")
def rabbit_url() -> str:
    problem = broker_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs RabbitMQ for the real-Placement tier: {problem}")
        pytest.skip(f"{problem}: start RabbitMQ to run these")
    return RABBIT_URL


@pytest.fixture
def other_tenant(real_placement):  # type: ignore[no-untyped-def]
    """A provider and a consumer in the real placement that belong to nobody's run."""
    api = Api("real", real_placement.url)
    rp, consumer = str(uuid.uuid4()), str(uuid.uuid4())
    assert api.call("POST", "/resource_providers", version="1.36",
                    json={"uuid": rp, "name": f"someone-elses-{rp}"}).status == 200
    assert api.call("PUT", f"/resource_providers/{rp}/inventories", version="1.36", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 65536},
                        "DISK_GB": {"total": 1000}}}).status == 200
    assert api.call("PUT", f"/allocations/{consumer}", version="1.36", json={
        "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
        "consumer_generation": None}).status == 204
    return api, rp, consumer


def provider_names(api: Api) -> set[str]:
    return {p["name"] for p in api.call("GET", "/resource_providers",
                                        version="1.36").body["resource_providers"]}


@pytest.mark.parametrize("name", ["clean-run", "last-slot-race", "reschedule-once",
                                  "required-trait-reschedule", "isolated-aggregate"])
def test_scenario_against_real_placement(rabbit_url: str, real_placement, other_tenant,
                                         name: str) -> None:
    api, other_rp, other_consumer = other_tenant
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    audits: list[subprocess.CompletedProcess[str]] = []
    seen: set[str] = set()

    def audit(deployment) -> None:  # type: ignore[no-untyped-def]
        seen.update(provider_names(api))
        config = deployment.write_client_config(deployment.workdir / "client.conf")
        audits.append(subprocess.run(
            [str(Path(sys.executable).with_name("altsim-manage")), "--config-file",
             str(config), "placement", "audit"], capture_output=True, text=True, timeout=120))

    result = run_scenario(scenario, timeout_s=120, transport_url=rabbit_url, inspect=audit,
                          placement=SharedPlacement(real_placement.url, TOKEN))

    missed = [c for c in result.report["expectations"] if not c["ok"]]
    assert not result.errors, result.errors
    assert not missed, missed
    hosts = {host.name for cell in scenario.cells for host in cell.all_hosts()}
    # The run's providers were in the real placement while it ran, and the audit (reading
    # it, and only the run's providers) found nothing
    assert hosts <= seen
    assert audits and audits[0].returncode == 0, audits[0].stdout + audits[0].stderr
    # The report's hosts are the run's, with their usage read from the real placement
    assert {h["name"] for h in result.report["hosts"]} == hosts
    # Its instance uuids are its own (salted), not the ones every run of the scenario gets
    first = result.report["instances"][0]
    assert first["uuid"] != instance_uuid_for(scenario.seed, scenario.name, first["name"])
    # Afterwards: none of the run's providers is left, the other tenant's state is untouched
    assert not hosts & provider_names(api)
    assert api.call("GET", f"/allocations/{other_consumer}",
                    version="1.36").body["allocations"] == {other_rp: {
                        "resources": {"VCPU": 1}, "generation": 2}}


def test_an_unreachable_placement_is_one_line_exit_2(rabbit_url: str, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = altsim.main(["run", str(SCENARIOS / "reschedule-once.yaml"), "--transport-url",
                        rabbit_url, "--placement-url", url])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: --placement-url:") and url in err and "\n" not in err


def test_providers_of_the_scenarios_hosts_already_there_refuse_the_run(
        rabbit_url: str, real_placement, capsys) -> None:
    # Given a placement that already has a provider named like one of the scenario's hosts
    api = Api("real", real_placement.url)
    scenario = load_scenario(SCENARIOS / "reschedule-once.yaml")
    host = scenario.cells[0].all_hosts()[0].name
    squatter = str(uuid.uuid4())
    assert api.call("POST", "/resource_providers", version="1.36",
                    json={"uuid": squatter, "name": host}).status == 200
    try:
        # When the scenario is run against it
        code = altsim.main(["run", str(SCENARIOS / "reschedule-once.yaml"), "--transport-url",
                            rabbit_url, "--placement-url", real_placement.url,
                            "--placement-token", TOKEN])
        # Then it refuses in one line, and leaves that provider where it was
        err = capsys.readouterr().err
        assert code == 2 and host in err and "already has resource providers" in err
        assert api.call("GET", f"/resource_providers/{squatter}").status == 200
    finally:
        api.call("DELETE", f"/resource_providers/{squatter}")
