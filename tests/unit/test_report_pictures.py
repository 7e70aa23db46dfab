"""Unit tests of a run's timeline.png and index.html, drawn from made-up reports: valid PNGs of
a sensible size, sampling past 200 instances, a page that escapes user text and reaches nothing
outside its folder."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from altsim_lab.pictures.html import write_run_index
from altsim_lab.pictures.sampling import sample_rows
from altsim_lab.pictures.timeline import MAX_ROWS, draw_timeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def instance(n: int, status: str = "ACTIVE") -> dict:
    start = 0.01 * n
    attempts = [{"host": "h1", "result": "rescheduled", "reason": "spawn <b>failed</b>",
                 "duration_s": 0.002, "start_s": start + 0.003},
                {"host": "h2", "result": "active" if status == "ACTIVE" else "aborted",
                 "duration_s": 0.001, "start_s": start + 0.008}]
    return {"name": f"web-{n}", "uuid": f"u{n}", "status": status, "host": "h2",
            "cell": "cell1", "selection": ["h1", "h2"], "attempts": attempts,
            "claim_failures": ["h3"], "claim_failures_at_s": [start + 0.006],
            "fault": None if status == "ACTIVE" else {"code": 500, "message": "<script>x"},
            "allocations": {}, "submitted_s": start, "finished_s": start + 0.01,
            "time_to_active_s": 0.01 if status == "ACTIVE" else None}


def report(count: int) -> dict:
    instances = [instance(n, "ERROR" if n % 5 == 0 else "ACTIVE") for n in range(1, count + 1)]
    return {"scenario": "made-up", "seed": 1, "transport": "embedded", "config": {"a.b": 1},
            "summary": {"instances": count, "active": count - count // 5, "error": count // 5,
                        "building": 0, "reschedules": count, "claim_failures": count,
                        "leaked_allocations": 0, "duration_s": 0.01 * count + 0.02,
                        "builds_per_s": 80.0, "time_to_active_p50_s": 0.01,
                        "time_to_active_p95_s": 0.0123, "messages": 7 * count},
            "instances": instances, "hosts": [{"name": "h1", "cell": "cell1",
                                               "usage": {"VCPU": 0}, "failed_builds": count}],
            "expectations": [{"check": "active", "ok": False, "detail": "expected 1, got 0"}]}


def test_timeline_of_a_few_instances_is_a_readable_png(tmp_path: Path):
    path = tmp_path / "timeline.png"
    draw_timeline(report(3), path)
    width, height = png_size(path)
    assert width >= 800 and 200 <= height <= 600
    assert path.stat().st_size > 10_000  # axes, labels and legend, not an empty canvas


def test_timeline_samples_past_200_instances_and_grows_with_rows(tmp_path: Path):
    many = report(450)
    # every one was rescheduled, so they are sampled among themselves: one in every 3
    sample = sample_rows(many["instances"], MAX_ROWS)
    assert len(sample.shown) == 150 and "one in every 3 of the 450 rescheduled" in sample.note
    assert [e["name"] for e in sample.shown[:2]] == ["web-1", "web-4"]
    draw_timeline(many, tmp_path / "many.png")
    draw_timeline(report(20), tmp_path / "twenty.png")
    assert png_size(tmp_path / "many.png")[1] > png_size(tmp_path / "twenty.png")[1]


def test_run_page_shows_the_summary_escapes_user_text_and_stays_local(tmp_path: Path):
    page = tmp_path / "index.html"
    write_run_index(page, report(5), "timeline.png")
    html = page.read_text()
    for value in ("0.0123", "35", "expected 1, got 0", "web-5"):
        assert value in html
    assert "<script>" not in html and "&lt;script&gt;x" in html
    assert "spawn &lt;b&gt;failed&lt;/b&gt;" in html
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["report.json", "timeline.png"]
    assert "http" not in html
