"""The example deployment's hosts file (etc/altsim/deploy/hosts.yaml), run embedded, shows what
docs/deploy.md's walkthrough shows: web-1 rescheduled from the flaky host, app-* in cell2."""

from __future__ import annotations

from pathlib import Path

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

HOSTS_FILE = Path(__file__).parents[2] / "etc" / "altsim" / "deploy" / "hosts.yaml"


def test_the_hosts_file_run_embedded_meets_its_expectations():
    result = run_scenario(load_scenario(HOSTS_FILE), timeout_s=60)
    assert not result.errors, result.errors
    checked = result.report["expectations"]
    assert checked and all(c["ok"] for c in checked), [c for c in checked if not c["ok"]]
    assert {c["check"] for c in checked} >= {"instances.web-1.attempts", "instances.app-1.host"}
