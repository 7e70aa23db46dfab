"""docs/deploy.md, done as written: the example two-cell deployment of etc/altsim/deploy, every
service started from its own config file, driven with altsim-manage and the altsim client.

The config files are copied with only what must be unique to this run rewritten: the vhost
names (a random suffix), the database URLs (databases of this run on the PostgreSQL server, or
SQLite files in tmp_path), the placement port (a free one) and the path of hosts.yaml. Every
daemon is waited for on its readiness line, and afterwards stopped with SIGTERM (killed if it
does not stop), its vhosts deleted and its databases dropped, also when the test fails.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy.engine import make_url

from altsim_lab.deploy.launcher import START_TIMEOUT_S
from altsim_lab.deploy.process import ServiceProcess
from altsim_lab.deploy.provision import DatabaseServer, ProvisionError
from altsim_lab.scenario.runner import _free_port

DEPLOY = Path(__file__).parents[3] / "etc" / "altsim" / "deploy"
BIN = Path(sys.executable).parent
LEVELS = ("api", "cell0", "cell1", "cell2")
# In the order docs/deploy.md starts them: placement first, then the rest (any order).
SERVICES = [("placement", "altsim-placement"), ("scheduler", "altsim-scheduler"),
            ("conductor-super", "altsim-conductor"), ("conductor-cell1", "altsim-conductor"),
            ("conductor-cell2", "altsim-conductor"), ("compute-cell1", "altsim-compute"),
            ("compute-cell2", "altsim-compute")]
# cell0 has a database and no service, so no config file names it: the doc gives its URL.
CELL0_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/altsim_cell0"
pytestmark = pytest.mark.rabbit


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def vhosts() -> set[str]:
    return {line.strip() for line in rabbitmqctl("list_vhosts").splitlines()}


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent steps at once (each command is a new Python process: ~1.5 s to start),
    and return their results in order; the first failure is raised."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


class Walkthrough:
    """The example deployment as one test run makes it: its files, vhosts, databases and
    processes, every one of them removed by clean_up()."""

    def __init__(self, workdir: Path, rabbit_url: str, database_server: str | None) -> None:
        self.workdir = workdir
        self.suffix = secrets.token_hex(4)
        self.broker = urlsplit(rabbit_url)
        self.server = DatabaseServer(database_server) if database_server else None
        self.port = _free_port()
        self.vhosts: list[str] = []
        self.databases: list[str] = []  # created on the server
        self.processes: dict[str, ServiceProcess] = {}

    # the files
    def transport_url(self, url: str) -> str:
        vhost = f"{urlsplit(url).path.strip('/')}-{self.suffix}"
        if vhost not in self.vhosts:
            self.vhosts.append(vhost)
        return urlunsplit((self.broker.scheme, self.broker.netloc, f"/{vhost}", "", ""))

    def database_url(self, url: str) -> str:
        level = make_url(url).database.removeprefix("altsim_")
        assert level in LEVELS, url
        if self.server is None:
            return f"sqlite:///{self.workdir / level}.db"
        return self.server.url_for(f"altsim_{level}_{self.suffix}")

    def rewrite(self, text: str) -> str:
        """Only what must be unique to this run; comments are left alone."""
        def value(match: re.Match) -> str:
            key, current = match["key"], match["value"]
            new = {"transport_url": self.transport_url, "connection": self.database_url,
                   "bind_port": lambda _: str(self.port),
                   "endpoint_url": lambda _: f"http://127.0.0.1:{self.port}",
                   "scenario_file": lambda _: str(DEPLOY / "hosts.yaml"),
                   "state_path": lambda _: str(self.workdir / "placement-state")}[key](current)
            return f"{key} = {new}"

        return re.sub(r"^(?P<key>transport_url|connection|bind_port|endpoint_url|"
                      r"scenario_file|state_path) = (?P<value>.*)$", value, text, flags=re.M)

    def write_configs(self) -> None:
        for path in DEPLOY.glob("*.conf"):
            (self.workdir / path.name).write_text(self.rewrite(path.read_text()))

    def option(self, name: str, key: str) -> str:
        match = re.search(rf"^{key} = (.*)$", (self.workdir / name).read_text(), re.M)
        assert match, f"{name}: no {key}"
        return match[1]

    # what the operator does
    def create_vhosts(self) -> None:
        user = self.broker.username or "guest"
        parallel(*(partial(rabbitmqctl, "add_vhost", vhost) for vhost in self.vhosts))
        parallel(*(partial(rabbitmqctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
                   for vhost in self.vhosts))

    def create_databases(self) -> None:
        if self.server is None:
            return  # SQLite: a file is created on first use
        for level in LEVELS:
            name = f"altsim_{level}_{self.suffix}"
            self.databases.append(name)
            self.server.create(name)

    def manage(self, *args: str) -> str:
        proc = subprocess.run([str(BIN / "altsim-manage"), "--config-file",
                               str(self.workdir / "client.conf"), *args],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"altsim-manage {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def altsim(self, *args: str) -> Any:
        proc = subprocess.run([str(BIN / "altsim"), "--config-file",
                               str(self.workdir / "client.conf"), *args, "-f", "json"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"altsim {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return json.loads(proc.stdout)

    def start(self, name: str, command: str) -> ServiceProcess:
        process = ServiceProcess(name, [str(BIN / command), "--config-file",
                                        str(self.workdir / f"{name}.conf")],
                                 self.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    def clean_up(self) -> None:
        for process in self.processes.values():  # one SIGTERM each, all at once
            process.terminate()
        for process in self.processes.values():
            process.stop()  # killed if it does not stop in time
        parallel(*(partial(subprocess.run, ["rabbitmqctl", "-q", "delete_vhost", vhost],
                           capture_output=True, timeout=60) for vhost in self.vhosts))
        for name in self.databases:
            try:
                self.server.drop(name)  # type: ignore[union-attr]
            except ProvisionError as exc:  # the others are dropped all the same
                warnings.warn(str(exc), stacklevel=1)


def test_the_deploy_walkthrough_works(rabbit_url: str, postgres_url: str, tmp_path: Path):
    run = Walkthrough(tmp_path, rabbit_url, postgres_url)
    run.write_configs()
    seen: dict[str, Any] = {}
    try:
        # Placement needs neither the bus nor a database: it starts while the rest is set up.
        placement = run.start(*SERVICES[0])
        run.create_vhosts()
        run.create_databases()
        run.manage("db", "sync")
        # Independent steps run at once, here and below, to keep the test short.
        parallel(
            partial(run.manage, "cell", "create", "--name", "cell0", "--database-connection",
                    run.database_url(CELL0_DATABASE)),
            *(partial(run.manage, "cell", "create", "--name", cell,
                      "--transport-url", run.option(f"conductor-{cell}.conf", "transport_url"),
                      "--database-connection", run.option(f"conductor-{cell}.conf",
                                                          "connection"))
              for cell in ("cell1", "cell2")),
            partial(run.manage, "flavor", "create", "small", "--vcpus", "1", "--ram", "512",
                    "--disk", "1"))
        run.manage("db", "sync")

        placement.wait_ready(START_TIMEOUT_S)
        for name, command in SERVICES[1:]:
            run.start(name, command)
        for process in run.processes.values():
            process.wait_ready(START_TIMEOUT_S)
        seen["discovered"] = run.manage("cell", "discover-hosts")

        seen["web"] = run.altsim("server", "create", "web", "--flavor", "small", "--count",
                                 "2", "--wait", "--timeout", "60")
        seen["events"], seen["app"] = parallel(
            partial(run.altsim, "server", "event", "list", "web-1"),
            partial(run.altsim, "server", "create", "app", "--flavor", "small", "--count", "2",
                    "--wait", "--timeout", "60"))
        seen["hosts"], seen["cells"], seen["audit"] = parallel(
            partial(run.altsim, "host", "list"), partial(run.altsim, "cell", "list"),
            partial(run.manage, "placement", "audit"))
    finally:
        run.clean_up()

    # Each cell's services were given the URLs its cell mapping holds.
    assert run.option("compute-cell1.conf", "transport_url") == run.option(
        "conductor-cell1.conf", "transport_url")
    assert seen["discovered"].split()[4:] == [  # after the header: host, cell pairs
        "cell1-host1", "cell1", "cell1-host2", "cell1", "cell1-host3", "cell1",
        "cell2-host1", "cell2", "cell2-host2", "cell2"]
    # web-1 went to the flaky cell1-host1, failed there and was rescheduled by cell1's
    # conductor to its alternate; web-2 had no reason to move.
    assert [(s["Name"], s["Status"], s["Cell"], s["Host"]) for s in seen["web"]] == [
        ("web-1", "ACTIVE", "cell1", "cell1-host3"), ("web-2", "ACTIVE", "cell1", "cell1-host2")]
    assert [(e["Event"], e["Host"], e["Result"], e["Reason"]) for e in seen["events"]
            if e["Event"] in ("schedule", "build")] == [
        ("schedule", "cell1-host1", "success", None),
        ("build", "cell1-host1", "rescheduled", "spawn failed: simulated libvirt error"),
        ("build", "cell1-host3", "active", None)]
    assert seen["events"][0]["Details"] == "selection: cell1-host1, cell1-host3"
    # Then, as in Nova, cell1-host1's failed build is not yet in its compute node row (the
    # tracker writes it with the host's next claim or its periodic update), so the weighers
    # see an empty host and the next request takes it first, then the next empty one by name.
    assert [(s["Name"], s["Status"], s["Host"]) for s in seen["app"]] == [
        ("app-1", "ACTIVE", "cell1-host1"), ("app-2", "ACTIVE", "cell2-host1")]
    # app-1's claim wrote the failure into the row; its success resets the tracker's count,
    # which the row shows at the next write.
    hosts = {h["Host"]: (h["Cell"], h["VCPU"], h["Failed Builds"]) for h in seen["hosts"]}
    assert hosts == {"cell1-host1": ("cell1", "1/8", 1), "cell1-host2": ("cell1", "1/8", 0),
                     "cell1-host3": ("cell1", "1/8", 0), "cell2-host1": ("cell2", "1/8", 0),
                     "cell2-host2": ("cell2", "0/8", 0)}
    assert {(c["Name"], c["Hosts"]) for c in seen["cells"]} == {
        ("cell0", 0), ("cell1", 3), ("cell2", 2)}
    assert seen["audit"] == "placement audit: no problems found\n"
    # Every daemon stopped on SIGTERM by itself, and nothing of the run is left.
    assert {name: p.popen.returncode for name, p in run.processes.items()} == {
        name: 0 for name, _ in SERVICES}
    assert set(run.vhosts) == {f"altsim-{level}-{run.suffix}"
                               for level in ("api", "cell1", "cell2")}
    assert not set(run.vhosts) & vhosts(), "vhosts left behind"
    assert len(run.databases) == 4
    assert not run.server.databases("altsim_") & set(run.databases), "databases left behind"
