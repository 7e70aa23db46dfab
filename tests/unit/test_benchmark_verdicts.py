"""The benchmark table's verdicts: a full run is judged against the targets, a --quick run (a
smaller workload, whose figures are not comparable) is not."""

from __future__ import annotations

from benchmarks.__main__ import QUICK_VERDICT, TARGETS, verdicts

GOOD = {"e2e_rabbit_builds_per_s": 160.0, "select_destinations_p50_ms_1k": 0.5,
        "messages_per_build": 3.0}


def _by_key(rows: list[tuple[str, str, str, str, str]]) -> dict[str, str]:
    return {key: verdict for key, _what, _value, _bound, verdict in rows}


def test_a_full_run_is_judged_against_the_targets():
    judged = _by_key(verdicts({**GOOD, "select_destinations_p50_ms_10k": 99.0}))
    assert judged["e2e_rabbit_builds_per_s"] == "meets the goal"
    assert judged["select_destinations_p50_ms_1k"] == "meets"
    assert judged["select_destinations_p50_ms_10k"] == "MISSES"
    assert judged["messages_per_build"] == "reported"


def test_a_quick_run_is_not_judged():
    rows = _by_key(verdicts({**GOOD, "select_destinations_p50_ms_10k": 99.0}, judged=False))
    assert set(rows) == set(TARGETS)
    assert rows["e2e_rabbit_builds_per_s"] == rows["select_destinations_p50_ms_10k"] == (
        QUICK_VERDICT)
    assert rows["messages_per_build"] == "reported"
    assert rows["start_s_10k"] == "not measured"
    assert not any(v.startswith(("meets", "MISSES")) for v in rows.values())
