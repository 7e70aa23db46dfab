"""Every bad input to `altsim run`, `altsim sweep` and `altsim server create` is refused before
anything starts: exit 2, within seconds, with exactly one line on stderr that names the file,
key, option or URL and the problem (however long the line: no folding at 80 columns).

The cases need no server: a broker or database port where nothing listens, a host name that
cannot resolve. Those that need a live broker or database server to refuse a login are in
tests/functional/rabbit/test_bad_server_inputs.py.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from altsim.db.api import ApiDatabase
from altsim.objects import Flavor
from altsim_lab.cmd import altsim

MAX_SECONDS = 10.0
GOOD = {
    "name": "inputs", "seed": 1,
    "cells": [{"name": "cell1", "hosts": [
        {"name": "host1", "resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}},
        {"name": "host2", "resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}}]},
        {"name": "cell2", "host_count": 3, "host_resources": {"VCPU": 8}}],
    "flavors": {"small": {"VCPU": 1}},
    "requests": [{"name": "web", "flavor": "small", "count": 10}],
}


def closed_port() -> int:
    """A local TCP port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Case:
    """argv (with {scenario}, {tmp} and {port} filled in) and the text its one line holds."""

    id: str
    argv: list[str]
    says: str
    scenario: Callable[[dict[str, Any]], None] = lambda data: None


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[int(last) if isinstance(node, list) else last] = value
    return change


RUN = ["run", "{scenario}"]
RABBIT = "rabbit://guest:guest@127.0.0.1:{port}/"
CASES = [
    # the scenario file
    Case("count-too-big", RUN, "requests.0: count 100000000 x num_instances 1 is 100000000 "
         "instances: a run has at most 100000 instances", _set("requests.0.count", 100_000_000)),
    Case("count-times-num-instances", RUN, "a run has at most 100000 instances",
         _set("requests.0.num_instances", 20_000)),
    Case("host-count-too-big", RUN, "cells.1.host_count: 20000 hosts: a cell has at most "
         "10000 hosts", _set("cells.1.host_count", 20_000)),
    Case("hosts-per-run", RUN, "cells: 110000 hosts in all: a run has at most 100000 hosts",
         lambda d: d.update(cells=[{"name": f"c{n}", "host_count": 10_000,
                                    "host_resources": {"VCPU": 1}} for n in range(11)])),
    Case("expect-unknown-instance", RUN, "expect.instances.web-11: no such instance",
         _set("expect.instances", {"web-11": {"status": "ACTIVE"}})),
    Case("expect-zero-padded-instance", RUN, "expect.instances.web-01: no such instance",
         _set("expect.instances", {"web-01": {"status": "ACTIVE"}})),
    Case("fault-unknown-host", RUN, "faults.0.hosts: 'hostX' matches no host of the scenario",
         _set("faults", [{"hosts": ["host1", "hostX"], "action": "reschedule"}])),
    Case("fault-glob-matching-nothing", RUN,
         "faults.0.hosts: 'cell3-*' matches no host of the scenario",
         _set("faults", [{"hosts": ["cell3-*"], "action": "abort"}])),
    Case("static-weight-unknown-host", RUN, "config.filter_scheduler.static_host_weights: "
         "'hostX' matches no host of the scenario",
         _set("config", {"filter_scheduler.static_host_weights": {"host1": 2, "hostX": 1}})),
    Case("not-yaml", RUN, "-80.yaml: not valid YAML: line 2, column 8: mapping values are "
         "not allowed", lambda d: d.update(__text__="name: x\nseed: 1: 2\n")),
    Case("not-text", RUN, "not a text file", lambda d: d.update(__bytes__=bytes(range(256)))),
    Case("missing-file", ["run", "{tmp}/nowhere.yaml"], "nowhere.yaml: cannot read: No such file"),
    # options
    Case("timeout-zero", [*RUN, "--timeout", "0"], "--timeout: must be a number of seconds above"),
    Case("timeout-negative", [*RUN, "--timeout", "-1"], "--timeout: must be a number of seconds"),
    Case("report-dir-is-a-file", [*RUN, "--report-dir", "{tmp}/afile"],
         "--report-dir {tmp}/afile: is a file; give a folder"),
    Case("report-folder-missing", [*RUN, "--report", "{tmp}/no/such/dir/r.json"],
         "--report {tmp}/no/such/dir/r.json: the folder {tmp}/no/such/dir does not exist"),
    Case("report-is-a-folder", [*RUN, "--report", "{tmp}"], "is a folder; give a file name"),
    Case("per-cell-users-embedded", [*RUN, "--no-per-cell-users"],
         "--per-cell-users is for launched runs"),
    Case("start-timeout-embedded", [*RUN, "--start-timeout", "120"],
         "--start-timeout is for launched runs: give --transport-url too"),
    Case("start-timeout-zero", [*RUN, "--transport-url", RABBIT, "--start-timeout", "0"],
         "--start-timeout: must be a number of seconds above 0, got 0"),
    Case("start-timeout-nan", [*RUN, "--transport-url", RABBIT, "--start-timeout", "nan"],
         "--start-timeout: must be a number of seconds above 0, got nan"),
    # --transport-url
    Case("broker-port-closed", [*RUN, "--transport-url", RABBIT],
         "--transport-url: cannot reach RabbitMQ at 127.0.0.1:{port}: connection refused"),
    Case("broker-host-unknown", [*RUN, "--transport-url", "rabbit://guest:guest@nosuch.invalid/"],
         "cannot reach RabbitMQ at nosuch.invalid:5672: cannot resolve the host name"),
    Case("vhost-given", [*RUN, "--transport-url", "rabbit://guest:guest@127.0.0.1:5672/mine"],
         "--transport-url: a vhost ('mine') cannot be given"),
    Case("amqp-scheme", [*RUN, "--transport-url", "amqp://guest:guest@127.0.0.1:5672/"],
         "--transport-url: amqp:// is not supported"),
    Case("http-scheme", [*RUN, "--transport-url", "http://127.0.0.1/"],
         "--transport-url: http:// is not supported"),
    Case("not-a-url", [*RUN, "--transport-url", "notaurl"],
         "--transport-url: 'notaurl' is not a URL"),
    Case("bad-port", [*RUN, "--transport-url", "rabbit://guest:guest@127.0.0.1:abc/"],
         "--transport-url: bad port in '127.0.0.1:abc'"),
    # --database-url
    Case("database-without-transport", [*RUN, "--database-url", "postgresql://x@127.0.0.1/"],
         "--database-url needs --transport-url"),
    Case("database-not-a-url", [*RUN, "--transport-url", RABBIT, "--database-url", "notaurl"],
         "--database-url: 'notaurl' is not a URL"),
    Case("database-sqlite", [*RUN, "--transport-url", RABBIT, "--database-url", "sqlite:///x.db"],
         "--database-url: cannot create databases on sqlite:///x.db: only postgresql"),
    Case("database-port-closed", [*RUN, "--transport-url", RABBIT, "--database-url",
                                  "postgresql+psycopg://postgres@127.0.0.1:{port}/"],
         "--database-url: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused"),
    # sweep
    Case("sweep-timeout", ["sweep", "{scenario}", "--set", "scheduler.max_attempts=1,2", "--out",
                           "{tmp}/out", "--timeout", "0"], "--timeout: must be a number"),
    Case("sweep-out-is-a-file", ["sweep", "{scenario}", "--set", "scheduler.max_attempts=1",
                                 "--out", "{tmp}/afile"], "--out {tmp}/afile: is a file"),
    Case("sweep-database-without-transport",
         ["sweep", "{scenario}", "--set", "scheduler.max_attempts=1", "--out", "{tmp}/out",
          "--database-url", "postgresql://x@127.0.0.1/"], "--database-url needs --transport-url"),
    Case("sweep-broker-port-closed",
         ["sweep", "{scenario}", "--set", "scheduler.max_attempts=1", "--out", "{tmp}/out",
          "--transport-url", RABBIT], "cannot reach RabbitMQ at 127.0.0.1:{port}"),
    Case("sweep-too-many-runs",
         ["sweep", "{scenario}", "--set", "scheduler.max_attempts=1,2", "--out", "{tmp}/out",
          "--repeat", "100000000"], "--set and --repeat: 200000000 runs; a sweep has at most"),
    Case("sweep-count-too-big",
         ["sweep", "{scenario}", "--set", "requests.0.count=5,200000", "--out", "{tmp}/out"],
         "--set requests.0.count=200000: requests.0: count 200000 x num_instances 1"),
    Case("sweep-unknown-weighed-host",
         ["sweep", "{scenario}", "--set", "filter_scheduler.static_host_weights={hostY: 1}",
          "--out", "{tmp}/out"], "'hostY' matches no host of the scenario"),
    # server create
    Case("create-count-zero", ["--config-file", "{tmp}/client.conf", "server", "create", "web",
                               "--flavor", "small", "--count", "0"], "--count: must be from 1"),
    Case("create-negative-alternates",
         ["--config-file", "{tmp}/client.conf", "server", "create", "web", "--flavor", "small",
          "--num-alternates", "-1"], "--num-alternates: must be 0 or more, got -1"),
    Case("create-timeout-zero",
         ["--config-file", "{tmp}/client.conf", "server", "create", "web", "--flavor", "small",
          "--wait", "--timeout", "0"], "--timeout: must be a number of seconds above 0"),
    Case("create-unknown-flavor", ["--config-file", "{tmp}/client.conf", "server", "create",
                                   "web", "--flavor", "tiny"],
         "--flavor: no flavor named 'tiny' (known: small)"),
    Case("create-without-config-file", ["--config-file", "{tmp}/nowhere.conf", "server",
                                        "create", "web", "--flavor", "small"],
         "config file {tmp}/nowhere.conf does not exist"),
]


def _write_scenario(folder: Path, case: Case) -> Path:
    data = copy.deepcopy(GOOD)
    case.scenario(data)
    path = folder / f"{case.id}-a-scenario-file-with-a-long-name-so-the-line-passes-80.yaml"
    if "__bytes__" in data:
        path.write_bytes(data["__bytes__"])
    elif "__text__" in data:
        path.write_text(data["__text__"])
    else:
        path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("")
    api_url = f"sqlite:///{tmp_path / 'api.db'}"
    api_db = ApiDatabase(api_url)
    api_db.sync()
    api_db.create_flavor(Flavor(name="small", resources={"VCPU": 1}))
    (tmp_path / "client.conf").write_text(f"[api_database]\nconnection = {api_url}\n")
    return tmp_path


def _fill(text: str, scenario: Path, folder: Path, port: int) -> str:
    return (text.replace("{scenario}", str(scenario)).replace("{tmp}", str(folder))
            .replace("{port}", str(port)))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_bad_input_exits_2_at_once_with_one_line_naming_it(case: Case, folder: Path,
                                                             capsys) -> None:
    port = closed_port()
    scenario = _write_scenario(folder, case)
    argv = [_fill(arg, scenario, folder, port) for arg in case.argv]
    started = time.monotonic()
    code = altsim.main(argv)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert _fill(case.says, scenario, folder, port) in err
    assert elapsed < MAX_SECONDS
    assert not (folder / "out").exists()  # nothing was made


def test_nothing_is_started_or_created_by_a_refused_run(folder: Path, monkeypatch,
                                                        capsys) -> None:
    """The checks come before the run: a refused one never reaches run_scenario."""
    from altsim_lab.cmd import run

    monkeypatch.setattr(run, "run_scenario", lambda *a, **k: pytest.fail("run started"))
    scenario = _write_scenario(folder, CASES[0])
    assert altsim.main(["run", str(scenario), "--report", str(folder / "r.json")]) == 2
    assert not (folder / "r.json").exists()


def _timed(command: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    return done, time.monotonic() - started


@pytest.mark.parametrize("case", [case for case in CASES if case.id in (
    "broker-port-closed", "count-too-big", "not-text")], ids=lambda case: case.id)
def test_the_installed_command_exits_2_with_one_line_in_a_pipe(folder: Path,
                                                               case: Case) -> None:
    """As CI runs it: a process of its own, stderr a pipe (no terminal width to fold at). Its
    time is counted beyond the interpreter's start (`altsim --version`, which imports the
    same modules), which on a machine shared by many takes seconds by itself."""
    port = closed_port()
    scenario = _write_scenario(folder, case)
    altsim_command = str(Path(sys.executable).with_name("altsim"))
    _, start_up = _timed([altsim_command, "--version"])
    done, elapsed = _timed([altsim_command,
                            *(_fill(arg, scenario, folder, port) for arg in case.argv)])
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert _fill(case.says, scenario, folder, port) in done.stderr
    assert elapsed - start_up < MAX_SECONDS
