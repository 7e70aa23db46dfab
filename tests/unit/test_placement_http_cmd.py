"""altsim-placement as a process, and the [placement] options."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from oslo_config import cfg

from placement_sim import conf as placement_conf

TOKEN = "cmd-token"
READY_RE = re.compile(r"^altsim-placement ready on (http://127\.0\.0\.1:\d+)$")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


def command() -> list[str]:
    script = Path(sys.executable).with_name("altsim-placement")
    return [str(script)] if script.exists() else [sys.executable, "-m", "placement_sim.cmd"]


def write_conf(tmp_path: Path, **options: object) -> Path:
    path = tmp_path / "placement.conf"
    lines = ["[DEFAULT]", "host = placement", "[placement]", "bind_host = 127.0.0.1",
             "bind_port = 0", *(f"{k} = {v}" for k, v in options.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


class Placement:
    """A running altsim-placement whose output lines are read by a thread."""

    def __init__(self, config: Path) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.popen = subprocess.Popen([*command(), "--config-file", str(config)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, start_new_session=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:  # type: ignore[union-attr]
            self.output.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_ready(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(f"altsim-placement not ready: {''.join(self.output)}")
            if line is None:
                pytest.fail(f"altsim-placement exited: {''.join(self.output)}")
            match = READY_RE.match(line)
            if match:
                return match.group(1)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` and wait (bounded) for the exit code; SIGKILL if it hangs."""
        if self.popen.poll() is None:
            self.popen.send_signal(signum)
        try:
            return self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            raise


@pytest.fixture
def start(tmp_path) -> Iterator:
    started: list[Placement] = []

    def start_placement(**options: object) -> Placement:
        started.append(Placement(write_conf(tmp_path, **options)))
        return started[-1]

    yield start_placement
    for process in started:  # never leave one running, whatever the test did
        if process.popen.poll() is None:
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()


def test_altsim_placement_serves_and_stops_on_sigterm(start):
    placement = start(auth_token=TOKEN)
    url = placement.wait_ready()
    with httpx.Client(base_url=url, timeout=5.0) as http:
        root = http.get("/")
        assert root.status_code == 200
        assert root.json()["versions"][0]["max_version"] == "1.36"
        assert http.get("/resource_providers").status_code == 401
        resp = http.get("/resource_providers", headers={
            "X-Auth-Token": TOKEN, "OpenStack-API-Version": "placement 1.36"})
        assert resp.status_code == 200
        assert resp.json() == {"resource_providers": []}
        assert resp.headers["OpenStack-API-Version"] == "placement 1.36"
    assert placement.stop() == 0


def test_altsim_placement_stops_on_sigint_too(start):
    placement = start(noauth="true")
    url = placement.wait_ready()
    assert httpx.get(url + "/resource_providers", timeout=5.0).status_code == 200
    assert placement.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("options", [{}, {"auth_token": ""}, {"noauth": "false"}],
                         ids=["no-token", "empty-token", "noauth-false"])
def test_altsim_placement_refuses_to_start_without_a_token(start, options):
    placement = start(**options)
    assert placement.popen.wait(START_TIMEOUT_S) == 2  # a configuration problem, as elsewhere
    while placement.lines.get(timeout=START_TIMEOUT_S) is not None:
        pass
    assert "auth_token is required" in "".join(placement.output)


def test_placement_options_and_defaults():
    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    conf([])
    group = conf.placement
    assert (group.endpoint_url, group.auth_token, group.timeout) == (None, None, 10.0)
    assert (group.bind_host, group.bind_port, group.noauth) == ("127.0.0.1", 8778, False)
    [(name, opts)] = placement_conf.list_opts()
    assert name == "placement"
    assert {o.name for o in opts} == {"endpoint_url", "auth_token", "timeout",
                                      "unavailable_patience", "bind_host", "bind_port",
                                      "noauth"}
    assert group.unavailable_patience == 30.0
    assert next(o for o in opts if o.name == "auth_token").secret
    # Registered per ConfigOpts: an override on one does not leak into another.
    conf.set_override("timeout", 1.0, group="placement")
    other = cfg.ConfigOpts()
    placement_conf.register_opts(other)
    other([])
    assert other.placement.timeout == 10.0
