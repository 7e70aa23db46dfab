"""Check a scenario's `expect` block against the report; every check says what it saw."""

from __future__ import annotations

from typing import Any

from altsim_lab.scenario.schema import Expectations

SUMMARY_CHECKS = ("active", "error", "building", "timed_out", "reschedules", "claim_failures",
                  "leaked_allocations")


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": name, "ok": bool(ok), "detail": detail}


def check_expectations(expect: Expectations, report: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    summary = report["summary"]
    for key in SUMMARY_CHECKS:
        wanted = getattr(expect, key)
        if wanted is not None:
            got = summary[key]
            results.append(_check(key, got == wanted, f"expected {wanted}, got {got}"))
    by_name = {entry["name"]: entry for entry in report["instances"]}
    for name, wanted in expect.instances.items():
        results.extend(_check_instance(name, wanted.model_dump(exclude_none=True),
                                       by_name.get(name)))
    return results


def _check_instance(name: str, wanted: dict[str, Any],
                    entry: dict[str, Any] | None) -> list[dict[str, Any]]:
    prefix = f"instances.{name}"
    if entry is None:
        return [_check(prefix, False, "instance not in the report")]
    results = []
    for key, value in wanted.items():
        if key in ("fault_contains", "fault"):
            message = (entry.get("fault") or {}).get("message", "")
            ok, wanted = ((value in message, "containing") if key == "fault_contains"
                          else (value == message, "equal to"))
            results.append(_check(f"{prefix}.fault", ok,
                                  f"expected fault {wanted} {value!r}, got {message!r}"))
        elif key == "attempts":
            hosts = [attempt["host"] for attempt in entry["attempts"]]
            results.append(_check(f"{prefix}.attempts", hosts == value,
                                  f"expected {value}, got {hosts}"))
        else:
            got = entry.get(key)
            results.append(_check(f"{prefix}.{key}", got == value,
                                  f"expected {value!r}, got {got!r}"))
    return results
