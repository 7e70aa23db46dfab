"""`altsim sweep` end to end (embedded): a faulty scenario swept over max_attempts, every row of
sweep.csv consistent with a run's report, valid PNGs, a local index.html, the table on stdout;
and bad input refused with exit 2 before anything runs."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from altsim_lab.cmd.altsim import main
from altsim_lab.sweep.rows import columns

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess,
                                                             Path]:
    # Given max-attempts-1: host1 (weighed first) fails its first spawn, reschedulably
    out = tmp_path_factory.mktemp("sweep")
    # When max_attempts is swept over 1 and 3, twice each
    proc = subprocess.run(
        [sys.executable, "-m", "altsim_lab.cmd.altsim", "sweep",
         str(SCENARIOS / "max-attempts-1.yaml"), "--set", "scheduler.max_attempts=1,3",
         "--repeat", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=120)
    return proc, out


def rows_of(out: Path) -> list[dict[str, str]]:
    with (out / "sweep.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_sweep_exits_0_and_writes_a_row_per_run_with_the_seeds(sweep):
    proc, out = sweep
    assert proc.returncode == 0, proc.stderr
    with (out / "sweep.csv").open(newline="") as stream:
        header = next(csv.reader(stream))
    assert header == columns(["scheduler.max_attempts"])
    rows = rows_of(out)
    assert [(r["scheduler.max_attempts"], r["seed"]) for r in rows] == [
        ("1", "5"), ("1", "6"), ("3", "5"), ("3", "6")]


def test_each_row_is_consistent_and_retries_make_fewer_errors(sweep):
    _, out = sweep
    by_attempts: dict[str, list[dict[str, str]]] = {}
    for row in rows_of(out):
        # Then every row adds up, like the run's report summary it was copied from
        assert int(row["active"]) + int(row["error"]) == int(row["instances"]) == 1
        assert float(row["error_rate"]) == int(row["error"]) / int(row["instances"])
        by_attempts.setdefault(row["scheduler.max_attempts"], []).append(row)
    # max_attempts 1: the reschedulable failure is an ERROR at once, nothing reaches ACTIVE,
    # three RPC messages (the API's cast, select_destinations, the build cast)
    for row in by_attempts["1"]:
        assert (row["error"], row["reschedules"], row["messages"]) == ("1", "0", "3")
        assert row["time_to_active_p50_s"] == row["time_to_active_p95_s"] == ""
    # max_attempts 3: one reschedule to the alternate, which goes ACTIVE; two more messages
    # (the compute's cast to the cell conductor, its cast to the alternate)
    for row in by_attempts["3"]:
        assert (row["error"], row["reschedules"], row["messages"]) == ("0", "1", "5")
        assert 0 < float(row["time_to_active_p50_s"]) <= float(row["time_to_active_p95_s"])
        assert float(row["builds_per_s"]) > 0
    errors = {k: sum(float(r["error_rate"]) for r in v) for k, v in by_attempts.items()}
    assert errors["1"] > errors["3"]


def test_sweep_draws_valid_pngs_for_each_chart(sweep):
    _, out = sweep
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [f"{chart}-vs-scheduler.max_attempts.png" for chart in
                     ("claim_failures_per_instance", "error_rate", "reschedules_per_instance",
                      "time_to_active")]
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE
        assert len(data) > 10_000, f"{name} is suspiciously small"


def test_sweep_prints_the_table_and_writes_a_local_page(sweep):
    proc, out = sweep
    assert "max-attempts-1: mean over each point's 2 run(s)" in proc.stdout
    table_rows = [line.split() for line in proc.stdout.splitlines()
                  if re.match(r"^\s*[13]\s+\d", line)]
    assert [row[:3] for row in table_rows] == [["1", "100", "0"], ["3", "0", "1"]]
    html = (out / "index.html").read_text()
    assert "http" not in html
    for link in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert (out / link).is_file(), link


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "scheduler.max_attempts=1,0"],
     "--set scheduler.max_attempts=0: config.scheduler.max_attempts: invalid value 0"),
    (["--set", "scheduler.max_atempts=2"],
     "--set scheduler.max_atempts=2: config.scheduler.max_atempts: no such option"),
    (["--set", "scheduler.max_attempts"], "expected group.option=value"),
    (["--set", "scheduler.max_attempts=1", "--repeat", "0"], "--repeat: must be at least 1"),
])
def test_bad_input_exits_2_naming_it_and_runs_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = main(["sweep", str(SCENARIOS / "max-attempts-1.yaml"), "--out", str(out), *args])
    assert code == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not out.exists()


def test_an_invalid_scenario_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "max-attempts-1.yaml").read_text().replace("seed: 5",
                                                                          "seed: five"))
    code = main(["sweep", str(bad), "--set", "scheduler.max_attempts=1", "--out",
                 str(tmp_path / "out")])
    assert code == 2
    assert "bad.yaml: seed: Input should be a valid integer" in " ".join(
        capsys.readouterr().err.split())
