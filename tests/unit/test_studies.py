"""Unit tests of the studies' arithmetic and plumbing (studies/): the binomial check against
p^k, the expected reschedules and messages, the attempts a target needs, sweep.csv rows read
back and pooled per point, the commands and links a page prints. No run starts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from altsim_lab.sweep.rows import columns
from studies import page
from studies.alternates import (
    Check,
    Findings,
    FollowUp,
    attempts_needed,
    false_alarm,
    follow_up_table,
    needed_table,
)
from studies.sweeps import Sweep, points
from studies.workdir import scenario_with_count


def check(p: float = 0.5, attempts: int = 3, instances: int = 1000, errors: int = 125,
          reschedules: int = 875, active: int = 875, messages: int | None = None) -> Check:
    return Check(p=p, attempts=attempts, instances=instances, errors=errors,
                 reschedules=reschedules, active=active, messages=messages)


# -- the binomial check ---------------------------------------------------------------------------

def test_the_analytic_rate_is_p_to_the_k_with_its_binomial_standard_error():
    c = check(p=0.5, attempts=3, instances=1000, errors=140)
    assert c.analytic == pytest.approx(0.125)
    assert c.standard_error == pytest.approx(math.sqrt(0.125 * 0.875 / 1000))
    assert c.z == pytest.approx((0.140 - 0.125) / math.sqrt(0.125 * 0.875 / 1000))


@pytest.mark.parametrize(("errors", "agrees"), [(125, True), (156, True), (157, False),
                                                (94, True), (93, False)])
def test_a_point_agrees_within_three_standard_errors_and_not_beyond(errors, agrees):
    # 3 SE of p^k = 0.125 over 1000 instances is 31.4 instances either side of 125
    assert check(errors=errors).agrees is agrees


def follow_up(first: Check, fresh_errors: int) -> FollowUp:
    fresh = check(p=first.p, attempts=first.attempts, instances=8000, errors=fresh_errors)
    return FollowUp(first, fresh, (3002, 3009), "altsim sweep ...")


def test_a_point_outside_holds_only_if_its_fresh_seeds_agree():
    # Given one point that agrees and one 3.8 standard errors low (716 of 2000 at p = 0.4)
    good, low = check(p=0.4, attempts=2, instances=2000, errors=320), check(
        p=0.4, attempts=1, instances=2000, errors=716)
    assert good.agrees and not low.agrees
    # Then the study holds if the low point's fresh seeds agree (3,254 of 8,000: z +1.2)
    assert Findings([good, low], [follow_up(low, 3254)]).holds
    # and not if they are low again (2,900 of 8,000: z -6.9), nor without a follow-up
    assert not Findings([good, low], [follow_up(low, 2900)]).holds
    assert not Findings([good, low], []).holds
    # and a follow-up never rescues another point
    other = check(p=0.6, attempts=1, instances=2000, errors=1000)
    assert not Findings([good, low, other], [follow_up(low, 3254)]).holds


def test_the_follow_up_table_shows_both_seeds_z_and_the_fresh_verdict():
    low = check(p=0.4, attempts=1, instances=2000, errors=716)
    table = follow_up_table([follow_up(low, 3254), follow_up(low, 2900)])
    rows = table.splitlines()[2:]
    assert rows[0] == ("| 0.4 | 1 | -3.83 | 3002-3009 | 8000 | 3200.0 | 3254 | 40.67% | "
                       "40.00% | +1.23 | yes |")
    assert rows[1].endswith("| -6.85 | **no** |")


def test_fifteen_points_at_three_standard_errors_alarm_in_about_four_runs_in_a_hundred():
    assert false_alarm(1) == pytest.approx(0.0027, abs=1e-4)
    assert false_alarm(15) == pytest.approx(0.0397, abs=1e-3)


def test_a_rate_of_zero_or_one_agrees_only_when_met_exactly():
    assert check(p=0.0, attempts=2, errors=0).agrees
    assert not check(p=0.0, attempts=2, errors=1).agrees
    assert check(p=1.0, attempts=2, errors=1000).z is None


def test_expected_reschedules_count_every_failure_once_retries_are_on():
    assert check(p=0.5, attempts=1).expected_reschedules == 0.0
    assert check(p=0.5, attempts=2).expected_reschedules == pytest.approx(0.75)
    assert check(p=0.5, attempts=3).expected_reschedules == pytest.approx(0.875)


def test_the_design_needs_three_messages_a_build_and_two_a_reschedule_but_the_last():
    # Given 100 instances with 2 attempts: 60 ACTIVE first time, 20 after one reschedule,
    # 20 in ERROR after two (their second reschedule ends at the cell conductor)
    c = check(attempts=2, instances=100, active=80, errors=20, reschedules=20 + 40)
    # 3 x 100 + 2 x 60 - 20 = 400 messages over 80 ACTIVE
    assert c.design_messages_per_active == pytest.approx(5.0)
    # with retries off a failure sends nothing more
    assert check(attempts=1, instances=10, active=5, errors=5,
                 reschedules=0).design_messages_per_active == pytest.approx(6.0)
    assert check(active=0).design_messages_per_active is None


@pytest.mark.parametrize(("p", "target", "k"), [(0.5, 0.01, 7), (0.5, 0.001, 10),
                                                (0.1, 0.01, 2), (0.01, 0.01, 1),
                                                (0.2, 0.001, 5)])
def test_attempts_needed_is_the_smallest_k_with_p_to_the_k_under_the_target(p, target, k):
    assert attempts_needed(p, target) == k
    assert p ** k <= target + 1e-15
    assert k == 1 or p ** (k - 1) > target


def test_the_needed_table_names_the_alternates_too():
    assert "| 0.5 | 7 (6 alternates) | 10 (9 alternates) |" in needed_table((0.5,))


# -- sweep.csv read back --------------------------------------------------------------------------

def csv_row(attempts: str, seed: int, error: int, messages: str = "40") -> dict[str, str]:
    keys = ["scheduler.max_attempts"]
    values = {"scheduler.max_attempts": attempts, "seed": str(seed), "instances": "10",
              "active": str(10 - error), "error": str(error), "reschedules": "3",
              "claim_failures": "1", "error_rate": str(error / 10),
              "time_to_active_p50_s": "0.01", "time_to_active_p95_s": "",
              "builds_per_s": "50.5", "messages": messages}
    assert list(values) == columns(keys)
    return values


def test_points_pool_counts_over_runs_and_keep_the_sweeps_spreads():
    rows = [csv_row("1", 1, 4), csv_row("3", 1, 0), csv_row("1", 2, 2, messages="")]
    first, second = points(rows, ["scheduler.max_attempts"])
    assert first.values == {"scheduler.max_attempts": "1"} and first.summary.runs == 2
    assert first.totals["instances"] == 20 and first.totals["error"] == 6
    assert first.pooled_rate("error") == pytest.approx(0.3)
    assert first.spread("error_rate").low == pytest.approx(0.2)
    # a run that did not count messages makes the total unknown, not smaller
    assert first.totals["messages"] is None and first.per_active("messages") is None
    assert second.per_active("messages") == pytest.approx(4.0)
    assert second.spread("time_to_active_p95_s") is None


def test_a_sweep_prints_as_the_command_that_repeats_it(tmp_path):
    sweep = Sweep(tmp_path / "s.yaml", ("scheduler.claim_in=scheduler,conductor",
                                        "filter_scheduler.static_host_weights={h: 1}"), 5,
                  tmp_path / "out")
    assert sweep.keys == ["scheduler.claim_in", "filter_scheduler.static_host_weights"]
    assert sweep.command(tmp_path) == (
        "altsim sweep s.yaml --set scheduler.claim_in=scheduler,conductor --set "
        "'filter_scheduler.static_host_weights={h: 1}' --repeat 5 --out out --deterministic")


def test_a_scenario_is_copied_only_when_its_count_changes(tmp_path):
    source = page.DOCS / "how-many-alternates" / "scenario.yaml"
    count = yaml.safe_load(source.read_text())["requests"][0]["count"]
    assert scenario_with_count(source, tmp_path, count) == source
    copy = scenario_with_count(source, tmp_path, 7)
    assert copy.parent == tmp_path
    data = yaml.safe_load(copy.read_text())
    assert [r["count"] for r in data["requests"]] == [7]
    assert "count 7" in data["description"]


def test_links_are_relative_to_the_page(tmp_path):
    assert page.link(tmp_path / "a" / "b.png", tmp_path / "p.md") == "a/b.png"
    assert page.link(tmp_path / "b.png", tmp_path / "x" / "p.md") == "../b.png"


def test_a_markdown_table_aligns_numbers_right():
    assert page.markdown_table(("a", "n"), [("x", 1)], right=(False, True)) == (
        "| a | n |\n|---|---:|\n| x | 1 |")


def test_every_study_scenario_is_valid():
    from altsim_lab.scenario.schema import load_scenario
    for source in sorted(Path(page.DOCS).glob("*/scenario.yaml")):
        assert load_scenario(source).requests, source
