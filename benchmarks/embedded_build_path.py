"""Embedded end-to-end build rate: 1,000 instances on 100 hosts, no faults.

    python -m benchmarks.embedded_build_path [--repeat 3] [--concurrency 1 20 50]

Runs the whole build path in one process (memory:// buses, SQLite, in-process placement) the
given number of times per concurrency, prints each run and the medians, and writes them to
benchmarks/results/embedded_build_path.json. Builds per second is ACTIVE instances divided by
the time from the first request to the last instance finishing (the report's builds_per_s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import parse_scenario

RESULTS = Path(__file__).parent / "results" / "embedded_build_path.json"
TARGET_BUILDS_PER_S = 100.0


def scenario(instances: int, hosts: int, concurrency: int) -> dict:
    return {
        "name": "bench-embedded", "seed": 1,
        "cells": [{"name": "cell1", "host_count": hosts,
                   "host_resources": {"VCPU": 64, "MEMORY_MB": 262144, "DISK_GB": 5000}}],
        "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
        "requests": [{"name": "web", "flavor": "small", "count": instances,
                      "concurrency": concurrency}],
        "expect": {"active": instances, "leaked_allocations": 0},
    }


def measure(instances: int, hosts: int, concurrency: int, repeat: int) -> dict:
    spec = parse_scenario(scenario(instances, hosts, concurrency))
    runs = []
    for index in range(repeat):
        started = time.perf_counter()
        result = run_scenario(spec, timeout_s=600)
        summary = result.report["summary"]
        if not result.ok:
            raise SystemExit(f"concurrency {concurrency}, run {index + 1} failed: "
                             f"{result.errors} "
                             f"{[c for c in result.report['expectations'] if not c['ok']]}")
        runs.append({"builds_per_s": summary["builds_per_s"], "duration_s": summary["duration_s"],
                     "wall_s": round(time.perf_counter() - started, 2)})
        print(f"concurrency {concurrency:3d} run {index + 1}: {summary['builds_per_s']:6.1f} "
              f"builds/s ({summary['active']} ACTIVE in {summary['duration_s']:.2f} s)",
              flush=True)
    return {"concurrency": concurrency, "runs": runs,
            "median_builds_per_s": statistics.median(r["builds_per_s"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20, 50],
                        help="requests in flight at once; one series per value")
    args = parser.parse_args()
    series = [measure(args.instances, args.hosts, c, args.repeat) for c in args.concurrency]
    for entry in series:
        verdict = "meets" if entry["median_builds_per_s"] >= TARGET_BUILDS_PER_S else "MISSES"
        print(f"concurrency {entry['concurrency']:3d}: median "
              f"{entry['median_builds_per_s']:.1f} builds/s, {verdict} the target of "
              f"{TARGET_BUILDS_PER_S:.0f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "embedded_build_path", "date": time.strftime("%Y-%m-%d"),
        "machine": {"node": platform.node(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        "params": {"instances": args.instances, "hosts": args.hosts, "repeat": args.repeat},
        "series": series, "target_builds_per_s": TARGET_BUILDS_PER_S}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
