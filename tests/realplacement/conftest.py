"""The real-Placement tier: altsim against openstack-placement itself (requirements.txt pins it).

Runs only with ALTSIM_REALPLACEMENT=1 (.ci/run sets it): the first run builds a virtualenv for
placement, a minute or two. One real placement and one altsim-placement serve the whole
session; every test makes providers and consumers of its own (fresh uuids and names), so tests
never see each other's state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realplacement.servers import (
    AltsimPlacement,
    RealPlacement,
    ensure_venv,
    venv_path,
)

ENABLE_ENV = "ALTSIM_REALPLACEMENT"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(ENABLE_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"real-Placement tier: set {ENABLE_ENV}=1 to run it (it "
                                   "builds a virtualenv with openstack-placement; .ci/run does)")
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def real_placement(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealPlacement]:
    server = RealPlacement.start(ensure_venv(venv_path()),
                                 tmp_path_factory.mktemp("real-placement"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def altsim_placement() -> Iterator[AltsimPlacement]:
    server = AltsimPlacement()
    yield server
    server.stop()
