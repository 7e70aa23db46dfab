"""Each build-path switch (README, "Configuration") changes the outcome of the example scenario
built to show
it: every scenario runs embedded in both settings of its switch, and the tests assert the
direction of the change, not its exact size (races are real, so sizes vary run to run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from altsim.events import CLAIM_EVENT
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"


def run(name: str, inspect=None, **config: Any) -> dict:
    """The scenario's report with `config` ("group__option": value) over its own config."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    overrides = {key.replace("__", "."): value for key, value in config.items()}
    scenario = scenario.model_copy(update={"config": {**scenario.config, **overrides}})
    result = run_scenario(scenario, timeout_s=120, inspect=inspect)
    assert not result.errors, result.errors
    return result.report


def by_name(report: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in report["instances"]}


def conductor_lost_claims(seen: dict) -> Any:
    def look(deployment) -> None:  # type: ignore[no-untyped-def]
        dbs = [*deployment.cell_dbs.values(), deployment.cell0_db]
        seen["lost"] = sum(1 for db in dbs for events in db.list_events().values()
                           for event in events if event.event == CLAIM_EVENT)
    return look


def test_claim_in_conductor_loses_claims_the_scheduler_would_have_won():
    # Given eight one-slot hosts, eight servers at once, two attempts per build
    in_conductor, in_scheduler = {}, {}
    # When the super conductor claims, and when the scheduler does
    conductor = run("claim-in-conductor", conductor_lost_claims(in_conductor))
    scheduler = run("claim-in-conductor", conductor_lost_claims(in_scheduler),
                    scheduler__claim_in="scheduler")
    # Then only the conductor loses claims, and what it loses costs servers their first host
    # or their place (buried in cell0) while the scheduler's first host is always good
    assert in_conductor["lost"] > 0 == in_scheduler["lost"]
    assert conductor["summary"]["claim_failures"] == in_conductor["lost"]
    moved = [e for e in conductor["instances"]
             if e["status"] == "ERROR" or e["host"] != e["selection"][0]]
    assert moved
    for entry in conductor["instances"]:
        if entry["status"] == "ERROR":
            assert entry["cell"] == "cell0"
            assert entry["fault"]["message"].startswith("No valid host was found.")
            assert set(entry["claim_failures"]) == set(entry["selection"])
    assert scheduler["summary"]["error"] == 0
    assert all(e["host"] == e["selection"][0] for e in scheduler["instances"])
    for report in (conductor, scheduler):
        assert report["summary"]["leaked_allocations"] == 0
        assert report["summary"]["reschedules"] == 0


def test_alternates_from_request_lets_the_caller_set_how_hard_a_build_is_tried():
    request = by_name(run("alternates-from-request"))
    config = by_name(run("alternates-from-request", conductor__alternates_from="config"))
    hosts = {mode: {name: [a["host"] for a in entry["attempts"]] for name, entry in run_.items()}
             for mode, run_ in (("request", request), ("config", config))}
    # patient asked for 4 alternates: more attempts than max_attempts (2), and ACTIVE
    assert len(hosts["request"]["patient-1"]) > 2 == len(hosts["config"]["patient-1"])
    assert (request["patient-1"]["status"], config["patient-1"]["status"]) == (
        "ACTIVE", "ERROR")
    assert "Exceeded max scheduling attempts 2 " in config["patient-1"]["fault"]["message"]
    # hasty asked for none: no retry at all, fewer attempts than config gives it
    assert len(hosts["request"]["hasty-1"]) == 1 < len(hosts["config"]["hasty-1"])
    assert request["hasty-1"]["attempts"][0]["result"] == "failed"
    assert (len(request["hasty-1"]["selection"]), len(config["hasty-1"]["selection"])) == (1, 2)


def test_unclaim_by_compute_changes_who_unclaims_and_nothing_else():
    compute = run("unclaim-by-compute")
    conductor = run("unclaim-by-compute", conductor__unclaim_by="cell_conductor")
    for report, who in ((compute, "compute"), (conductor, "cell_conductor")):
        [web] = report["instances"]
        assert [(a["host"], a["result"]) for a in web["attempts"]] == [
            ("host1", "rescheduled"), ("host2", "active")]
        assert web["attempts"][0]["unclaimed_by"] == who
        assert report["summary"]["leaked_allocations"] == 0
        assert {h["name"]: h["usage"]["VCPU"] for h in report["hosts"]} == {
            "host1": 0, "host2": 1, "host3": 0}


def test_without_placement_the_compute_finds_out_and_reschedules():
    seen: dict = {}

    def look(deployment) -> None:  # type: ignore[no-untyped-def]
        placement = deployment.placement
        seen["allocations"] = sum(len(placement.get_provider_allocations(p["uuid"]))
                                  for p in placement.list_resource_providers())

    trackers = run("no-placement", look)
    placement = run("no-placement", scheduler__use_placement=True)
    insufficient = [a for e in trackers["instances"] for a in e["attempts"]
                    if a["result"] == "rescheduled"
                    and a["reason"].startswith("Insufficient compute resources")]
    assert insufficient and trackers["summary"]["reschedules"] == len(insufficient)
    assert placement["summary"]["reschedules"] == 0
    for report in (trackers, placement):
        assert report["summary"]["active"] == 8
        assert report["summary"]["leaked_allocations"] == 0
        # usage is what the hosts hold, from the trackers or from placement alike
        assert sorted(h["usage"]["VCPU"] for h in report["hosts"]) == [1] * 8
        assert all(list(e["allocations"]) == [e["host"]] for e in report["instances"])
    assert seen["allocations"] == 0  # placement itself held nothing


def test_legacy_retry_asks_the_scheduler_again_instead_of_using_alternates():
    buses: dict = {}

    def look(deployment) -> None:  # type: ignore[no-untyped-def]
        buses["cell"] = deployment.topology.cells[0].mapping.transport_url
        buses["api"] = deployment.topology.api_transport_url

    [legacy] = run("legacy-retry", look)["instances"]
    legacy_buses = dict(buses)
    [queens] = run("legacy-retry", look, scheduler__legacy_retry=False)["instances"]
    assert (legacy["selection"], queens["selection"]) == (["host1"], ["host1", "host2", "host3"])
    assert [a.get("reselected", False) for a in legacy["attempts"]] == [False, True]
    assert [a.get("reselected", False) for a in queens["attempts"]] == [False, False]
    assert legacy["host"] == queens["host"] == "host2"
    assert legacy_buses["cell"] == legacy_buses["api"] and buses["cell"] != buses["api"]
    assert legacy["cell"] == queens["cell"] == "cell1"


def test_failed_builds_flush_tracker_sends_the_next_server_to_the_failing_host_again():
    # Given host1, the best weighed host, aborting every spawn, and three servers one by one
    # When host1's tracker flushes its count at its next write (Nova), and when each outcome
    # writes it at once
    tracker = by_name(run("abort"))
    immediate = by_name(run("abort", compute_sim__failed_builds_flush="immediate"))
    # Then with the tracker the second server is sent to host1 with a clean record and fails
    # there too, and only the third avoids it; written at once, the second already avoids it
    assert [(e["status"], e["host"] or e["attempts"][0]["host"]) for e in tracker.values()] == [
        ("ERROR", "host1"), ("ERROR", "host1"), ("ACTIVE", "host2")]
    assert [(e["status"], e["host"] or e["attempts"][0]["host"])
            for e in immediate.values()] == [
        ("ERROR", "host1"), ("ACTIVE", "host2"), ("ACTIVE", "host2")]


def test_host_view_compute_nodes_herds_where_placement_spreads():
    # Given ten requests at once on four equal hosts with room for all of them
    # When the scheduler reads free resources from the compute node rows (Nova), and when it
    # reads them from placement's summaries, three runs each (how much they herd is a race)
    def on_two_busiest_hosts(report: dict) -> int:
        hosts = [e["host"] for e in report["instances"]]
        return sum(sorted((hosts.count(h) for h in set(hosts)), reverse=True)[:2])

    nodes = [run("herding") for _ in range(3)]
    placement = [run("herding", scheduler__host_view="placement") for _ in range(3)]
    # Then the rows, which change only when a compute claims, send most servers to the same
    # hosts (7 of 10 to 10 of 10 on two hosts in a run), while placement's summaries, which
    # count each claim at once, spread them (6 or 7 of 10)
    assert (sum(on_two_busiest_hosts(r) for r in nodes)
            > sum(on_two_busiest_hosts(r) for r in placement))
    for report in (*nodes, *placement):
        assert report["summary"]["active"] == 10
        assert report["summary"]["leaked_allocations"] == 0
