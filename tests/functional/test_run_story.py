"""`altsim run` tells the story of a run, and a hung spawn is an attempt on its host.

Through the CLI in a subprocess: the default output has the scenario's name and description,
every attempt with its reason, the verdict and where the report went, and no service log line;
-v shows the services' lines prefixed with their logger and naming the instance; `altsim
show-run` tells an instance's build path and draws it. The reports of last-slot-race and
build-timeout carry every attempt with its host, the hung one included, and build-timeout's
timeline shows it in the timed_out colour.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

from altsim_lab.pictures.timeline import COLOURS
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"
# Wide enough that no cell of the instance table wraps, so a line can be looked for whole.
WIDE = {**os.environ, "COLUMNS": "220"}


def altsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "altsim_lab.cmd.altsim", *args],
                          capture_output=True, text=True, timeout=120, env=WIDE)


@pytest.fixture(scope="module")
def retries(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess,
                                                               Path]:
    out = tmp_path_factory.mktemp("retries")
    proc = altsim("run", str(SCENARIOS / "retries-exhausted.yaml"), "--report",
                  str(out / "report.json"))
    return proc, out / "report.json"


def test_the_default_output_tells_the_story_and_no_service_line(retries):
    proc, report = retries
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # The name, then the description, before the progress bar
    assert lines[0] == "retries-exhausted"
    assert lines[1].startswith("Every host of the cell fails every spawn with a "
                               "reschedulable error.")
    # Every attempt with its host, result and reason
    for number, host in enumerate(("host1", "host2", "host3"), start=1):
        assert f"{number}. {host} rescheduled: hypervisor unreachable" in proc.stdout
    assert "3 reschedules, 0 lost claims, 0 timed out, 0 leaked allocations" in proc.stdout
    # The verdict, then where the report is
    verdict = next(line for line in lines if "expectations" in line and " of " in line)
    assert re.fullmatch(r"(\d+) of \1 expectations met", verdict.strip())
    assert lines[-1] == f"report: {report}"
    assert json.loads(report.read_text())["description"].startswith("Every host")
    # No service log line: the cell conductor's "Build of instance ... failed" warning
    assert "Build of instance" not in proc.stdout + proc.stderr
    assert proc.stderr == ""


def test_with_v_the_services_lines_show_prefixed_with_the_instance_named():
    proc = altsim("-v", "run", str(SCENARIOS / "retries-exhausted.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^WARNING conductor\.tasks\.reschedule: Build of instance "
                     r"[0-9a-f-]{36} \(web-1\) failed: Exceeded maximum number of retries",
                     proc.stderr, re.MULTILINE), proc.stderr
    assert re.search(r"^INFO compute_sim\.manager: .*\(web-1\) failed to spawn on host1",
                     proc.stderr, re.MULTILINE), proc.stderr


def test_show_run_tells_and_draws_an_instances_build_path(retries, tmp_path: Path):
    _, report = retries
    proc = altsim("show-run", str(report), "--instance", "web-1", "--out",
                  str(tmp_path / "web-1.svg"))
    assert proc.returncode == 0, proc.stderr
    assert "web-1: ERROR in cell1 after 3 attempts" not in proc.stdout  # it has no host
    assert proc.stdout.startswith("web-1: ERROR after 3 attempts")
    assert "host3 -> cell conductor: failed after" in proc.stdout
    assert "cell conductor: gives up: ERROR (Exceeded maximum number of retries" in proc.stdout
    assert (tmp_path / "web-1.svg").read_text().startswith("<?xml")
    # Without --instance: the run told again; a name not in the report: exit 2, named
    assert "3 reschedules" in altsim("show-run", str(report)).stdout
    missing = altsim("show-run", str(report), "--instance", "web-9")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (f"error: {report}: no instance 'web-9' in the report "
                                      "(instances: web-1)")


def test_last_slot_race_reports_each_attempt_on_its_host():
    report = run_scenario(load_scenario(SCENARIOS / "last-slot-race.yaml")).report
    web = next(e for e in report["instances"] if e["name"] == "web-1")
    assert [(a["host"], a["result"], a.get("reason")) for a in web["attempts"]] == [
        ("host1", "rescheduled", "spawn timed out"), ("host3", "active", None)]
    assert [(e["actor"], e["kind"], e["host"], e["result"]) for e in web["events"]] == [
        ("super_conductor", "schedule", "host1", "success"),
        ("compute", "build", "host1", "rescheduled"),
        ("cell_conductor", "unclaim", "host1", "deleted"),
        ("cell_conductor", "claim", "host2", "failed"),
        ("compute", "build", "host3", "active")]


@pytest.fixture(scope="module")
def build_timeout(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess,
                                                                     Path]:
    out = tmp_path_factory.mktemp("timeout") / "dir"
    return altsim("run", str(SCENARIOS / "build-timeout.yaml"), "--report-dir", str(out)), out


def test_a_hung_spawn_is_an_attempt_on_its_host(build_timeout):
    proc, out = build_timeout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    web = json.loads((out / "report.json").read_text())["instances"][0]
    [attempt] = web["attempts"]
    assert (attempt["host"], attempt["result"], attempt["recorded_by"]) == (
        "host1", "timed_out", "build_timeout")
    assert attempt["duration_s"] >= 2.0  # from its cast to the sweep, past the 2 s timeout
    assert "1. host1 timed_out: no answer from the compute" in proc.stdout
    assert f"report folder: {out}" in proc.stdout


def test_the_timeline_draws_the_hung_spawn_in_the_timed_out_colour(build_timeout):
    _, out = build_timeout
    pixels = imread(out / "timeline.png")[:, :, :3]
    brown = tuple(int(COLOURS["timed_out"][i:i + 2], 16) / 255 for i in (1, 3, 5))
    close = (abs(pixels - brown) < 0.02).all(axis=2).sum()
    # A 2-second bar across most of the axis, not just the legend's small patch
    assert close > 5_000, close
    html = (out / "index.html").read_text()
    assert 'src="build-paths/web-1.png"' in html and (out / "build-paths/web-1.svg").is_file()
