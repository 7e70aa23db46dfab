"""Everything the cross-check does not hold altsim to, in one place, each with its reason.

- EXCLUDED: scenarios whose comparison with Nova means nothing (a switch Nova lacks, or what
  Nova's functional harness cannot run), never run;
- NOT_COMPARED: per scenario, the categories (crosscheck.compare) that cannot agree by nature
  (ties among equal hosts, timing), left out of the comparison;
- KNOWN_DIFFERENCES: where altsim and Nova 34 behave differently today, each with the
  scenarios and categories it shows in. A mismatch in a listed scenario and category is
  reported as that difference (not as an unexpected one); a `deterministic` difference that
  no longer shows is reported too, so that this list is kept true as altsim changes.
"""

from __future__ import annotations

from dataclasses import dataclass

EXCLUDED: dict[str, str] = {
    "claim-in-conductor": "[scheduler] claim_in = conductor: Nova's scheduler always claims",
    "alternates-from-request": "[conductor] alternates_from = request: Nova's RequestSpec has "
                               "no num_alternates; max_attempts alone decides",
    "no-placement": "[scheduler] use_placement = false: Nova (since Queens) always claims in "
                    "placement",
    "legacy-retry": "[scheduler] legacy_retry = true: Nova's reschedules use alternates, "
                    "never a second select_destinations",
    "build-timeout": "the hang fault and [conductor] build_timeout: Nova's "
                     "instance_build_timeout is a compute periodic task, off by default and "
                     "disabled in Nova's test harness",
    "clean-run": "two cells under concurrent builds: Nova's functional harness serves every "
                 "cell from one process (its CellDatabases fixture), whose target_cell gives "
                 "up under concurrent builds in two cells (RuntimeError 'Global DB state "
                 "changed underneath us'); one-cell-concurrent is its one-cell twin",
}

# Categories blind to which host: compared where hosts tie and these are left out.
_HOSTS_TIE = {
    "host": "hosts of equal weight tie: Nova orders ties by the order host states come out of "
            "its host manager (set iteration, random per process), altsim by host name",
    "cell": "follows the host",
    "selection": "ties, as for host",
    "attempts": "their hosts tie, as for host (outcomes compares their results)",
    "allocations": "their hosts tie, as for host (allocated compares the resources)",
    "usage": "follows where ties sent each instance (total_usage compares the sum)",
    "failed_builds": "follows the hosts",
}
_CONCURRENT = {
    "claim_failures": "how many claims concurrent requests lose depends on their timing",
    "counts": "claim_failures among them depends on timing (the other counts are compared "
              "per instance by status and outcomes)",
}

NOT_COMPARED: dict[str, dict[str, str]] = {
    "one-cell-concurrent": {**_HOSTS_TIE, **_CONCURRENT},
}


@dataclass(frozen=True)
class KnownDifference:
    key: str
    title: str
    explanation: str
    shows: dict[str, frozenset[str]]       # scenario -> categories it shows in
    deterministic: bool = True             # shows in every run of those scenarios


KNOWN_DIFFERENCES: list[KnownDifference] = [
    KnownDifference(
        "1", "with max_attempts = 1 Nova's fault is the bare reason",
        "Without retries a reschedulable failure ends the build on the compute. Nova's compute "
        "then records the failure's reason alone as the fault ('spawn failed'); altsim records "
        "the whole RescheduledException text ('Build of instance U was re-scheduled: spawn "
        "failed').",
        {"max-attempts-1": frozenset({"fault"})}),
    KnownDifference(
        "2", "Nova's BuildFailureWeigher sees a failed build only after the host's next "
             "resource tracker update",
        "Nova's compute counts a failed build in its resource tracker's memory and writes it "
        "to its compute node row at the tracker's next update (the host's next claim or abort, "
        "or the 60 s periodic task); the scheduler weighs what the row says. So a server "
        "scheduled right after another's failure on a host still goes there: in abort, later-1 "
        "aborts on host1 too. altsim's compute writes the count at once, and later-1 avoids "
        "host1.",
        {"abort": frozenset({"status", "host", "selection", "attempts", "outcomes", "fault",
                             "allocations", "allocated", "usage", "failed_builds",
                             "total_usage", "spread", "counts"})}),
    KnownDifference(
        "3", "Nova's default filters have no resource filter, so a multi-create that does not "
             "fit loses a claim on every host",
        "Placement's candidates are for one instance; Nova's enabled_filters check no "
        "capacity, so for an instance that no longer fits Nova tries claim_resources on every "
        "host (each claim lost) before NoValidHost. altsim's ResourceFilter (on by default) "
        "drops those hosts first: NoValidHost without a lost claim.",
        {"multi-create-no-fit": frozenset({"claim_failures", "counts"})}),
    KnownDifference(
        "4", "concurrent requests herd in Nova",
        "Nova's scheduler weighs hosts by its host states, refreshed from the compute node "
        "rows each compute writes after its claims, not from placement: concurrent requests "
        "see the same stale free resources and pick the same hosts. altsim's scheduler weighs "
        "placement's current summaries and spreads. How far Nova herds depends on timing.",
        {"one-cell-concurrent": frozenset({"spread"})}, deterministic=False),
]


def excluded_reason(scenario: str) -> str | None:
    return EXCLUDED.get(scenario)


def not_compared(scenario: str) -> dict[str, str]:
    return dict(NOT_COMPARED.get(scenario, {}))


def explaining(scenario: str, category: str) -> str | None:
    return next((difference.key for difference in KNOWN_DIFFERENCES
                 if category in difference.shows.get(scenario, ())), None)


def expected_in(scenario: str) -> list[KnownDifference]:
    return [difference for difference in KNOWN_DIFFERENCES if scenario in difference.shows]
