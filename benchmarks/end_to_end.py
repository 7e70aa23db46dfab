"""End to end: builds per second of the whole build path, embedded or over RabbitMQ.

    python -m benchmarks.end_to_end [--instances 2000] [--hosts 1000] [--cells 2]
                                    [--faults 0.1] [--concurrency 100] [--transport-url URL]

The targets' workload (BENCHMARKS.md): 1,000 hosts in 2 cells, 2,000 single-instance requests,
`concurrency` of them in flight at once, optionally with that fraction of spawns failing
reschedulably.
Builds per second is the run report's: ACTIVE instances over the time from the first request
to the last instance finishing; starting the services is timed apart.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.scenario.runner import Progress, run_scenario
from altsim_lab.scenario.schema import Scenario, parse_scenario
from benchmarks.cpu_split import CpuSplit

HOST_RESOURCES = {"VCPU": 64, "MEMORY_MB": 262144, "DISK_GB": 5000}


def scenario(instances: int, hosts: int, cells: int, faults: float,
             concurrency: int) -> Scenario:
    per_cell = hosts // cells
    data: dict[str, Any] = {
        "name": f"bench-e2e-{hosts}h-{instances}i" + (f"-faults{faults:g}" if faults else ""),
        "seed": 1,
        "cells": [{"name": f"cell{n}", "host_count": per_cell, "host_resources": HOST_RESOURCES}
                  for n in range(1, cells + 1)],
        "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
        "requests": [{"name": "vm", "flavor": "small", "count": instances,
                      "concurrency": concurrency}],
        # With 2 alternates a 10% failure rate leaves 1 in 1,000 instances in ERROR.
        "expect": {"building": 0, "leaked_allocations": 0},
    }
    if faults:
        data["faults"] = [{"hosts": ["*"], "action": "reschedule", "probability": faults}]
    else:
        data["expect"].update(active=instances, error=0)
    return parse_scenario(data, "benchmark")


@dataclass(frozen=True)
class EndToEnd:
    summary: dict[str, Any]
    start_s: float       # from the first service launched to every one ready
    wall_s: float        # the whole run, services started and stopped included
    ok: bool
    problems: list[str]
    # Launched runs: process -> CPU ms per ACTIVE build during the workload (cpu_split).
    cpu_ms_per_build: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        keys = ("instances", "active", "error", "reschedules", "claim_failures",
                "duration_s", "builds_per_s", "time_to_active_p50_s", "time_to_active_p95_s",
                "messages")
        return {**{key: self.summary.get(key) for key in keys},
                "start_s": round(self.start_s, 2), "wall_s": round(self.wall_s, 2),
                "ok": self.ok, "problems": self.problems,
                **({"cpu_ms_per_build": self.cpu_ms_per_build}
                   if self.cpu_ms_per_build else {})}


def measure(spec: Scenario, transport_url: str | None = None, timeout_s: float = 600.0,
            database_url: str | None = None,
            inspect: Callable[[Any], None] | None = None,
            placement: SharedPlacement | None = None,
            start_timeout_s: float | None = None) -> EndToEnd:
    """One run; `inspect` sees the deployment once the workload is done (as run_scenario's).
    Launched, the CPU each process spends per build is measured too; given `placement`, the
    run uses that one instead of starting its own (`altsim run --placement-url`);
    `start_timeout_s`: how long each service may take to be ready (`altsim run
    --start-timeout`)."""
    phases: dict[str, float] = {}
    hooks = Progress(on_phase=lambda phase: phases.setdefault(phase, time.perf_counter()))
    split = CpuSplit() if transport_url else None

    def at_the_end(deployment: Any) -> None:
        if split is not None:
            split.stop(deployment)
        if inspect is not None:
            inspect(deployment)

    started = time.perf_counter()
    result = run_scenario(spec, timeout_s=timeout_s, progress=hooks,
                          transport_url=transport_url, database_url=database_url,
                          inspect=at_the_end, during=split.start if split else None,
                          placement=placement, start_timeout_s=start_timeout_s)
    wall = time.perf_counter() - started
    start_s = phases.get("running workload", started) - phases.get("starting services", started)
    problems = [*result.errors, *(f"{c['check']}: {c['detail']}"
                                  for c in result.report["expectations"] if not c["ok"])]
    cpu = split.per_build_ms(result.report["summary"]["active"]) if split else {}
    return EndToEnd(result.report["summary"], start_s, wall, result.ok, problems, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--faults", type=float, default=0.0,
                        help="fraction of spawns that fail, reschedulably")
    parser.add_argument("--concurrency", type=int, default=100,
                        help="requests in flight at once")
    parser.add_argument("--transport-url", help="rabbit://...: launch every service")
    parser.add_argument("--database-url",
                        help="with --transport-url: a PostgreSQL server for the databases")
    args = parser.parse_args()
    run = measure(scenario(args.instances, args.hosts, args.cells, args.faults,
                           args.concurrency), args.transport_url,
                  database_url=args.database_url)
    for key, value in run.as_dict().items():
        print(f"{key:22s} {value}")


if __name__ == "__main__":
    main()
