"""Scale: many simulated hosts, each with its own `compute.<host>` queue, on this one machine.

    python -m benchmarks.scale [--hosts 10000] [--cells 5] [--idle 20]
                               [--url rabbit://guest:guest@127.0.0.1:5672/]

Launches the whole deployment as for `altsim run --transport-url` (placement, scheduler,
conductors, one compute_sim process per cell carrying all its hosts) and measures: the time to
start it (every service ready and the hosts mapped to their cells), the resident memory of the
compute_sim processes together, and their CPU while idle (heartbeats only) over `--idle`
seconds. Then it stops everything and removes the vhosts.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from altsim_lab.deploy.launcher import LaunchedDeployment
from altsim_lab.scenario.schema import Scenario, parse_scenario

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def scenario(hosts: int, cells: int) -> Scenario:
    per_cell = hosts // cells
    return parse_scenario({
        "name": f"bench-scale-{hosts}", "seed": 1,
        "cells": [{"name": f"cell{n}", "host_count": per_cell,
                   "host_resources": {"VCPU": 64, "MEMORY_MB": 262144, "DISK_GB": 5000}}
                  for n in range(1, cells + 1)],
        "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
        "requests": [{"name": "unused", "flavor": "small"}],
    }, "benchmark")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(hosts: int, cells: int, idle_s: float, url: str) -> dict[str, Any]:
    spec = scenario(hosts, cells)
    with tempfile.TemporaryDirectory(prefix="altsim-scale-") as workdir:
        deployment = LaunchedDeployment(spec, f"altsim-scale-{uuid.uuid4().hex[:8]}",
                                        Path(workdir), url, _free_port())
        try:
            started = time.perf_counter()
            deployment.start()
            start_s = time.perf_counter() - started
            computes = {name: pid for name, pid in deployment.process_ids().items()
                        if name.startswith("compute-")}
            time.sleep(2.0)  # let start-up work (gc, first heartbeats) settle
            before = {name: cpu_seconds(pid) for name, pid in computes.items()}
            time.sleep(idle_s)
            idle = {name: cpu_seconds(pid) - before[name] for name, pid in computes.items()}
            rss = {name: rss_bytes(pid) for name, pid in computes.items()}
        finally:
            deployment.stop()
    total_rss = sum(rss.values())
    return {"hosts": hosts, "cells": cells, "compute_processes": len(computes),
            "start_s": round(start_s, 2),
            "compute_rss_mib": round(total_rss / 2**20, 1),
            "rss_mib_per_1000_hosts": round(total_rss / 2**20 / (hosts / 1000), 1),
            "idle_cpu_pct": round(100 * sum(idle.values()) / idle_s, 2),
            "per_process": {name: {"rss_mib": round(rss[name] / 2**20, 1),
                                   "idle_cpu_pct": round(100 * idle[name] / idle_s, 2)}
                            for name in computes}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle to measure")
    parser.add_argument("--url", default="rabbit://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args()
    for key, value in measure(args.hosts, args.cells, args.idle, args.url).items():
        print(f"{key:24s} {value}")


if __name__ == "__main__":
    main()
