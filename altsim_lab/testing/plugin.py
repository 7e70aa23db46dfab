"""The pytest plugin `pip install altsim` registers (entry point pytest11: altsim).

A test asks for `altsim_cloud`, a fresh embedded Cloud (altsim_lab.testing.cloud) that is
closed after the test. Options:

- `--altsim-transport-url rabbit://user:pass@host:5672/`: every cloud's services are launched
  as processes over that broker instead; tests skip, saying why, when no broker answers there
  (under CI=true they fail instead: a CI that meant to test the broker must not pass without).
- `--altsim-report-dir DIR`: for each failed test, its run report, timeline picture and
  build-path diagrams in DIR/<test id>/.

When a test using the fixture fails, its report gets an "altsim servers" section: each
server's selection, attempts, lost claims and fault.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from altsim_lab.testing.cloud import Cloud

# The plugin loads in every pytest session of an environment with altsim installed: what a
# cloud needs (oslo.messaging, SQLAlchemy, every service) is imported by the fixture only.
_CLOUDS = pytest.StashKey[list[Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("altsim")
    group.addoption("--altsim-transport-url", default=None, metavar="URL",
                    help="run every altsim_cloud over this RabbitMQ (rabbit://...): each "
                         "service its own process; default: embedded, in-memory")
    group.addoption("--altsim-report-dir", default=None, metavar="DIR",
                    help="write a failed test's altsim report and timeline picture to "
                         "DIR/<test id>/")


def broker_unreachable(transport_url: str) -> str | None:
    """Why nothing answers at the URL's broker, or None."""
    from altsim_lab.testing.servers import broker_problem

    parts = urlsplit(transport_url)
    return broker_problem(parts.hostname or "127.0.0.1", parts.port or 5672)


@pytest.fixture
def altsim_cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:  # noqa: F821
    """A fresh altsim cloud for this test (one cell, host1..host3, flavor "small", until the
    test adds its own), closed with every thread, bus, database and file after it."""
    transport_url = request.config.getoption("--altsim-transport-url")
    if transport_url:
        problem = broker_unreachable(transport_url)
        if problem:
            message = f"altsim: --altsim-transport-url given but {problem}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    from altsim_lab.testing.cloud import Cloud

    cloud = Cloud(transport_url=transport_url or None)
    request.node.stash.setdefault(_CLOUDS, []).append(cloud)
    try:
        yield cloud
    finally:
        cloud.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    report = yield
    if report.when == "call" and report.failed:
        for cloud in item.stash.get(_CLOUDS, []):
            _explain(item, report, cloud)
    return report


def _explain(item: pytest.Item, report: pytest.TestReport, cloud: Cloud) -> None:
    from altsim_lab.testing.server import describe_entry

    if cloud.deployment is None or not cloud.servers:
        return
    try:
        run = cloud.report()
    except Exception as exc:  # noqa: BLE001 - the test's own failure matters more
        report.sections.append(("altsim servers", f"(could not read the cloud: {exc})"))
        return
    text = "\n".join(describe_entry(entry) for entry in run["instances"])
    directory = item.config.getoption("--altsim-report-dir")
    if directory:
        from altsim_lab.pictures.report_dir import write_report_dir

        where = Path(directory) / re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
        write_report_dir(where, run)
        text += f"\n(report and timeline: {where})"
    report.sections.append(("altsim servers", text))
