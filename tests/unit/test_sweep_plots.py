"""Unit tests of a sweep's PNGs and index.html, drawn from made-up runs: one PNG per chart and
swept option, valid and of the expected size; a page that links only to files beside it."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from altsim_lab.sweep.grid import Axis, points
from altsim_lab.sweep.page import write_sweep_index
from altsim_lab.sweep.plots import draw_sweep
from altsim_lab.sweep.rows import run_row
from altsim_lab.sweep.summary import summarize

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", path.name
    return struct.unpack(">II", data[16:24])


def test_sweep_plots_one_per_chart_and_option_and_a_local_page(tmp_path: Path):
    axes = [Axis("scheduler.max_attempts", (1, 3)), Axis("conductor.flag", (True, False))]
    rows = [run_row(point, seed, {"instances": 4, "active": 4 - error, "error": error,
                                  "reschedules": seed, "claim_failures": 0,
                                  "time_to_active_p50_s": None if error == 4 else 0.01 * seed,
                                  "time_to_active_p95_s": None if error == 4 else 0.02 * seed,
                                  "builds_per_s": 10.0, "messages": 12})
            for point in points(axes) for seed in (1, 2)
            for error in [4 if point["scheduler.max_attempts"] == 1 else 1]]
    summaries = summarize(rows, [a.key for a in axes])
    paths = draw_sweep(tmp_path, "made-up", axes, summaries)
    assert sorted(p.name for p in paths) == sorted(
        f"{chart}-vs-{option}.png" for chart in ("error_rate", "reschedules_per_instance",
                                                 "claim_failures_per_instance",
                                                 "time_to_active")
        for option in ("scheduler.max_attempts", "conductor.flag"))
    for path in paths:
        assert png_size(path) == (800, 500) and path.stat().st_size > 10_000
    write_sweep_index(tmp_path / "index.html", "made-up", axes, 2, summaries,
                      [p.name for p in paths])
    html = (tmp_path / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links == ["sweep.csv", *(p.name for p in paths)]
    assert "100% (" not in html and "100%" in html and "http" not in html
