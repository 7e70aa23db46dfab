"""ServiceProcess (the launcher's and the tests' service process) and ServiceProcesses, on small
Python children that print, ignore SIGTERM or exit as each test needs."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from altsim_lab.deploy.process import LaunchError, ServiceProcess
from altsim_lab.testing import ServiceProcesses

WAIT_S = 30.0


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


# Prints some lines, its readiness line, then waits to be told to stop.
DAEMON = python("import sys, time\n"
                "for i in range(5): print(f'starting {i}')\n"
                "print('altsim daemon ready: fake')\n"
                "time.sleep(60)")
# Ignores SIGTERM, so only a SIGKILL ends it.
STUBBORN = python("import signal, time\n"
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                  "print('altsim daemon ready: stubborn')\n"
                  "time.sleep(60)")


def test_wait_ready_returns_the_readiness_line_and_output_keeps_the_last_lines(tmp_path: Path):
    process = ServiceProcess("fake", DAEMON, tmp_path / "fake.log", keep=3)
    try:
        match = process.wait_ready(WAIT_S)
        assert match.string == "altsim daemon ready: fake"
        assert process.output == "starting 3\nstarting 4\naltsim daemon ready: fake\n"
    finally:
        assert process.stop() == -signal.SIGTERM
    assert (tmp_path / "fake.log").read_text().startswith("starting 0\n")


def test_a_process_that_never_gets_ready_is_a_launch_error():
    process = ServiceProcess("mute", python("import time; print('hello'); time.sleep(60)"))
    try:
        with pytest.raises(LaunchError, match=r"mute not ready after 0.6 s; its output:\nhello"):
            process.wait_ready(0.6)
        # The launcher's hint (how to give it longer) ends the first line.
        with pytest.raises(LaunchError, match=r"^mute not ready after 0.3 s \(longer: --x\); "
                                              r"its output:\nhello"):
            process.wait_ready(0.3, " (longer: --x)")
    finally:
        process.kill()


def test_stop_kills_a_process_that_ignores_sigterm():
    process = ServiceProcess("stubborn", STUBBORN)
    process.wait_ready(WAIT_S)
    assert process.stop(timeout=0.5) == -signal.SIGKILL
    assert not process.running


def test_a_restart_appends_to_the_log_and_needs_the_process_gone(tmp_path: Path):
    process = ServiceProcess("fake", DAEMON, tmp_path / "fake.log")
    process.wait_ready(WAIT_S)
    with pytest.raises(LaunchError, match="fake is still running"):
        process.restarted()
    process.kill()
    again = process.restarted()
    try:
        again.wait_ready(WAIT_S)
    finally:
        again.stop()
    assert (tmp_path / "fake.log").read_text().count("altsim daemon ready: fake") == 2


def test_service_processes_stop_every_one_they_started(tmp_path: Path):
    with ServiceProcesses(log_dir=tmp_path, stop_timeout=0.5) as processes:
        started = [processes.start("fake", DAEMON), processes.start("stubborn", STUBBORN)]
        for process in started:
            process.wait_ready(WAIT_S)
    assert [p.popen.returncode for p in started] == [-signal.SIGTERM, -signal.SIGKILL]
    assert (tmp_path / "stubborn.log").read_text() == "altsim daemon ready: stubborn\n"
