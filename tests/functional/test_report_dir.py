"""`altsim run --report-dir`: report.json as --report writes it, a valid timeline.png, and an
index.html with the summary that reaches nothing outside its folder; and the report's times and
message count (embedded) are consistent with the run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("run")
    proc = subprocess.run(
        [sys.executable, "-m", "altsim_lab.cmd.altsim", "run",
         str(SCENARIOS / "last-slot-race.yaml"),
         "-q", "--report", str(out / "report.json"), "--report-dir", str(out / "dir")],
        capture_output=True, text=True, timeout=120)
    return proc, out


def test_report_dir_holds_the_same_report_as_report(run):
    proc, out = run
    assert proc.returncode == 0, proc.stderr  # the scenario's expectations still hold
    assert (out / "dir" / "report.json").read_bytes() == (out / "report.json").read_bytes()


def test_timeline_is_a_valid_png(run):
    _, out = run
    data = (out / "dir" / "timeline.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    assert len(data) > 10_000


def test_index_shows_summary_and_instances_and_stays_local(run):
    _, out = run
    report = json.loads((out / "report.json").read_text())
    html = (out / "dir" / "index.html").read_text()
    for key, value in report["summary"].items():
        assert f"<th>{key.replace('_', ' ')}</th><td class=\"num\">{value}</td>" in html
    for entry in report["instances"]:  # a name with a build-path diagram links to it
        assert re.search(rf"<td>(<a href=\"#[^\"]+\">)?{entry['name']}(</a>)?</td>", html)
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    # web-1 (rescheduled, a lost claim) gets its build path drawn, linked from its row
    assert sorted(links) == ["#build-paths-web-1", "build-paths/web-1.png",
                             "build-paths/web-1.svg", "report.json", "timeline.png"]
    assert all((out / "dir" / link).is_file() for link in links if "#" not in link)
    assert report["description"].split(".")[0] in html
    assert not re.search(r"https?:|//", html.replace("<!DOCTYPE html>", ""))


def test_report_times_and_messages_add_up(run):
    _, out = run
    report = json.loads((out / "report.json").read_text())
    summary = report["summary"]
    to_active = []
    for entry in report["instances"]:
        starts = [a["start_s"] for a in entry["attempts"]]
        # Then attempts start after the request was sent, in order, and end before it finished
        assert 0 <= entry["submitted_s"] <= starts[0]
        assert starts == sorted(starts)
        last = entry["attempts"][-1]
        assert last["start_s"] + last["duration_s"] <= entry["finished_s"] + 1e-3
        assert entry["time_to_active_s"] == pytest.approx(
            entry["finished_s"] - entry["submitted_s"], abs=2e-6)
        assert len(entry["claim_failures_at_s"]) == len(entry["claim_failures"])
        to_active.append(entry["time_to_active_s"])
    # web-1 lost the claim on its alternate to filler-1, in the cell conductor, after its
    # first attempt failed and before its last attempt started
    (web,) = [e for e in report["instances"] if e["name"] == "web-1"]
    (lost_at,) = web["claim_failures_at_s"]
    assert web["attempts"][0]["start_s"] < lost_at < web["attempts"][-1]["start_s"]
    assert summary["time_to_active_p50_s"] == pytest.approx(sum(to_active) / 2, abs=2e-6)
    assert min(to_active) <= summary["time_to_active_p95_s"] <= max(to_active)
    # Two API casts and two select_destinations calls; web-1: build cast, reschedule cast,
    # build cast to the third host; filler-1: its build cast
    assert summary["messages"] == 8
