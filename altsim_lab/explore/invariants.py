"""What must hold at the end of every run, whatever the interleaving: checked on its report.

- every expectation of the scenario's `expect` block met;
- no provider over capacity: a host's usage within (total - reserved) x allocation_ratio;
- no leaked allocation (an allocation whose consumer is not an ACTIVE instance);
- nothing left building, and the run finished (no error of the run itself);
- every instance ACTIVE, or ERROR with a fault saying why.
"""

from __future__ import annotations

from typing import Any

from altsim_lab.scenario.schema import Scenario


def capacities(scenario: Scenario) -> dict[str, dict[str, float]]:
    """Host name -> resource class -> what placement lets be allocated on it."""
    return {host.name: {rc: (total - host.reserved.get(rc, 0))
                        * host.allocation_ratio.get(rc, 1.0)
                        for rc, total in host.resources.items()}
            for cell in scenario.cells for host in cell.all_hosts()}


def violations(scenario: Scenario, report: dict[str, Any], errors: list[str]) -> list[str]:
    """One line per broken invariant (empty: the run is sound)."""
    found = [f"run: {error}" for error in errors]
    found += [f"expect {c['check']}: {c['detail']}" for c in report["expectations"]
              if not c["ok"]]
    limits = capacities(scenario)
    for host in report["hosts"]:
        for rc, used in (host.get("usage") or {}).items():
            limit = limits.get(host["name"], {}).get(rc)
            if limit is not None and used > limit:
                found.append(f"over capacity: {host['name']} {rc} {used} > {limit:g}")
    summary = report["summary"]
    if summary["leaked_allocations"]:
        found.append(f"leaked allocations: {summary['leaked_allocations']}")
    if summary["building"]:
        found.append(f"left building: {summary['building']}")
    for instance in report["instances"]:
        if instance["status"] == "ERROR" and not instance.get("fault"):
            found.append(f"{instance['name']}: ERROR without a fault")
        elif instance["status"] not in ("ACTIVE", "ERROR"):
            found.append(f"{instance['name']}: ended {instance['status']}")
    return found
