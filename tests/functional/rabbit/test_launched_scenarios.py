"""Example scenarios with every service as its own process over RabbitMQ: same outcomes as
embedded, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from altsim.scenario.runner import run_scenario
from altsim.scenario.schema import load_scenario

SCENARIOS = sorted((Path(__file__).parents[3] / "etc" / "altsim" / "scenarios").glob("*.yaml"))
pytestmark = pytest.mark.rabbit


def vhosts() -> set[str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_launched_scenario_meets_its_expectations(rabbit_url: str, path: Path):
    audits: list[subprocess.CompletedProcess] = []
    run_vhosts: set[str] = set()

    def audit(deployment) -> None:  # type: ignore[no-untyped-def]
        run_vhosts.update(url.rsplit("/", 1)[1] for url in deployment._transport_urls())
        config = deployment.write_client_config(deployment.workdir / "manage.conf")
        audits.append(subprocess.run(
            [str(Path(sys.executable).with_name("altsim-manage")), "--config-file",
             str(config), "placement", "audit"], capture_output=True, text=True, timeout=120))

    result = run_scenario(load_scenario(path), timeout_s=120, transport_url=rabbit_url,
                          inspect=audit)
    missed = [c for c in result.report["expectations"] if not c["ok"]]
    assert not result.errors, result.errors
    assert not missed, missed
    assert result.report["transport"] == "rabbit"
    # altsim-manage placement audit finds nothing on the live deployment after the run
    assert audits and audits[0].returncode == 0, audits[0].stdout + audits[0].stderr
    # The run's own vhosts existed while it ran and are gone now (other runs may share the
    # broker, so only this run's are looked at).
    assert run_vhosts and not run_vhosts & vhosts(), "the run left vhosts behind"
