"""The cross-check tier: every example scenario through real Nova and through altsim, compared.

It runs when ALTSIM_CROSSCHECK=1 (.ci/run sets it) and skips otherwise: it builds a virtualenv
with Nova and Placement from PyPI (once, reused while crosscheck/requirements.txt is unchanged)
and runs Nova's functional harness, a few minutes in all. The Nova side of every scenario runs
once per session, in one process, before the first test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from crosscheck import check
from crosscheck.venv import ensure_venv

ENABLED = os.environ.get("ALTSIM_CROSSCHECK") == "1"
SKIP_REASON = ("cross-check against real Nova: set ALTSIM_CROSSCHECK=1 to run it (builds a "
               "virtualenv with nova and openstack-placement from PyPI; a few minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.crosscheck)
            if not ENABLED:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def crosscheck_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crosscheck")


@pytest.fixture(scope="session")
def nova_reports(crosscheck_workdir: Path) -> dict[str, dict[str, Any]]:
    """Nova's report of every scenario to compare, by name (one Nova process for all)."""
    python = ensure_venv(log=crosscheck_workdir / "venv-build.log")
    return check.run_nova_side(check.load(check.scenario_paths()), python, crosscheck_workdir)
