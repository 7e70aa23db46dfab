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
    "spread": "both schedulers read the compute node rows, so concurrent requests herd in "
              "both; how far depends on how long a build takes to reach its compute's claim, "
              "hundreds of milliseconds in Nova's harness, a few in altsim (total_usage "
              "compares the sum)",
}

NOT_COMPARED: dict[str, dict[str, str]] = {
    "one-cell-concurrent": {**_HOSTS_TIE, **_CONCURRENT},
    "herding": {**_HOSTS_TIE, **_CONCURRENT},
    "multi-create-no-fit": {
        "claim_failures": "the third server loses a claim on both hosts, which are equal and "
                          "equally full, so in tie order: Nova's is random per process, "
                          "altsim's by host name (counts compares how many)"},
}


@dataclass(frozen=True)
class KnownDifference:
    key: str
    title: str
    explanation: str
    shows: dict[str, frozenset[str]]       # scenario -> categories it shows in
    deterministic: bool = True             # shows in every run of those scenarios


# None today. The four the first cross-check found (the fault without retry, when a failed
# build reaches the BuildFailureWeigher, Nova's default filters, concurrent requests herding)
# are now altsim's defaults: docs/fidelity.md, "Where altsim follows Nova".
KNOWN_DIFFERENCES: list[KnownDifference] = []


def excluded_reason(scenario: str) -> str | None:
    return EXCLUDED.get(scenario)


def not_compared(scenario: str) -> dict[str, str]:
    return dict(NOT_COMPARED.get(scenario, {}))


def explaining(scenario: str, category: str) -> str | None:
    return next((difference.key for difference in KNOWN_DIFFERENCES
                 if category in difference.shows.get(scenario, ())), None)


def expected_in(scenario: str) -> list[KnownDifference]:
    return [difference for difference in KNOWN_DIFFERENCES if scenario in difference.shows]
