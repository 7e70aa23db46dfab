"""The two studies of docs/studies/ in their quick form, end to end (embedded): each sweep runs
through `altsim sweep`, the page is written with its table, its plot and links that resolve,
and the numbers on it are the sweep's. The simulator's ERROR rate is checked against p^k."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest

from studies import alternates, claim_in
from studies.__main__ import main as studies_main
from studies.sweeps import WALL_CLOCK_COLUMNS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A smoke test must not fail one CI run in a hundred by chance: |z| <= 4.4 has a false alarm
# rate of about 1e-5 per point, and still catches an off-by-one in the attempts (a z of 6 or
# more at these sizes). The study itself holds its points to 3 standard errors.
SMOKE_TOLERANCE_SE = 4.4


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("studies")


@pytest.fixture(scope="module")
def alternates_findings(out: Path) -> alternates.Findings:
    return alternates.run_study(out, quick=True, started=time.monotonic())


@pytest.fixture(scope="module")
def alternates_checks(alternates_findings: alternates.Findings) -> list[alternates.Check]:
    return alternates_findings.checks


@pytest.fixture(scope="module")
def claim_page(out: Path) -> str:
    assert claim_in.main(out, quick=True, started=time.monotonic())
    return (out / f"{claim_in.SLUG}.md").read_text()


def assert_links_resolve(page_path: Path) -> None:
    text = page_path.read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert links, "a study page links to its scenario, sweeps and plot"
    for link in links:
        assert (page_path.parent / link).is_file(), link
    for picture in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        data = (page_path.parent / picture).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000, picture


def test_measured_error_rate_is_p_to_the_k(alternates_checks):
    # Given every spawn fails with p = 0.5, at max_attempts 1, 2 and 3
    assert [(c.p, c.attempts) for c in alternates_checks] == [(0.5, 1), (0.5, 2), (0.5, 3)]
    for c in alternates_checks:
        # Then every instance finished and the ERROR rate is p^k within the binomial error
        assert c.instances == alternates.QUICK["count"]
        assert c.z is not None and abs(c.z) <= SMOKE_TOLERANCE_SE, (c.attempts, c.measured)
    # and each alternate made ERRORs rarer
    rates = [c.measured for c in alternates_checks]
    assert rates[0] > rates[1] > rates[2]


def test_the_simulator_sends_exactly_the_messages_the_design_needs(alternates_checks):
    for c in alternates_checks:
        assert c.messages is not None
        assert c.messages_per_active == pytest.approx(c.design_messages_per_active)


def test_reschedules_follow_the_model(alternates_checks):
    for c in alternates_checks:
        expected = c.expected_reschedules * c.instances
        spread = (c.instances * max(c.expected_reschedules, 0.01)) ** 0.5 * SMOKE_TOLERANCE_SE
        assert abs(c.reschedules - expected) <= spread, (c.attempts, c.reschedules, expected)


def test_the_alternates_page_has_its_table_plot_and_verdict(out, alternates_checks):
    page_path = out / f"{alternates.SLUG}.md"
    text = page_path.read_text()
    assert text.startswith(f"# {alternates.TITLE}\n")
    assert f"`{alternates.COMMAND}`" in text.splitlines()[2]
    agreeing = sum(c.agrees for c in alternates_checks)
    assert f"**{agreeing} of 3 points agree with p^k" in text
    for c in alternates_checks:  # the table's rows are the checks' numbers
        assert f"| {c.p:g} | {c.attempts} | {c.instances} | " in text
        assert f" {c.errors} | {100 * c.measured:.2f}% | {100 * c.analytic:.2f}% |" in text
    assert "is a quick run" in text
    assert_links_resolve(page_path)


def test_the_claim_page_has_a_row_per_mode_and_attempts(out, claim_page):
    rows = re.findall(r"^\| (scheduler|conductor|legacy) \| (\d) \| (\d+) \|", claim_page,
                      re.MULTILINE)
    assert sorted(rows) == sorted((mode, str(k), "92") for mode in claim_in.MODES
                                  for k in claim_in.QUICK["attempts"])
    for mode in claim_in.MODES:  # the messages per successful build, per mode
        assert re.search(rf"^\| `{mode}`: .* \| \d+\.\d\d \| \d+\.\d\d \| \d+ \|$", claim_page,
                         re.MULTILINE), mode
    assert_links_resolve(out / f"{claim_in.SLUG}.md")


def test_an_unknown_study_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        studies_main(["bogus"])
    assert stopped.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def _csv_without_wall_clock(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(set(WALL_CLOCK_COLUMNS) <= set(row) for row in rows)
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS} for row in rows]


def _page_without_elapsed(root: Path, name: str) -> str:
    """The page, its one wall-clock number (how long the study took) and the output folder
    its commands name left out."""
    text = (root / name).read_text().replace(str(root), "OUT")
    return re.sub(r"it took \d+ (s|minutes)", "it took ...", text)


def test_a_rerun_writes_the_same_csvs_and_page(out, claim_page, tmp_path):
    # Given the quick claim-in study already run once (deterministic sweeps)
    # When it runs again into another folder
    assert claim_in.main(tmp_path, quick=True, started=time.monotonic())
    # Then every sweep.csv is the same row for row, but for the wall-clock columns
    first = sorted((out / claim_in.SLUG).rglob("sweep.csv"))
    assert [p.relative_to(out) for p in first] == sorted(
        p.relative_to(tmp_path) for p in (tmp_path / claim_in.SLUG).rglob("sweep.csv"))
    for path in first:
        again = tmp_path / path.relative_to(out)
        assert _csv_without_wall_clock(path) == _csv_without_wall_clock(again), path.name
    # and the page, tables and findings included, is the same but for how long it took
    page = f"{claim_in.SLUG}.md"
    assert _page_without_elapsed(out, page) == _page_without_elapsed(tmp_path, page)
