"""Where a launched run's CPU goes: CPU milliseconds per build of each process (Linux /proc).

Sampled as the workload starts (run_scenario's `during`) and as it ends (its `inspect`), for
every service process of the deployment, the RabbitMQ broker (beam.smp) and this process (the
runner: the workload's casts and the collector). On a 2-core machine the figures add up to at
most 2,000 ms per second of run; whichever process has the most per build is what to work on.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its reaped children so far; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" field 3 (state) is fields[0]: utime, stime, cutime, cstime are 14-17.
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def broker_pid() -> int | None:
    """The RabbitMQ node's VM (`-s rabbit boot`), not the VMs rabbitmqctl starts."""
    found = subprocess.run(["pgrep", "-f", "beam.smp.* -s rabbit boot"], capture_output=True,
                           text=True)
    pids = found.stdout.split()
    return int(pids[0]) if pids else None


class CpuSplit:
    """`start(deployment)` then `stop(deployment)`; `per_build_ms(builds)` after."""

    def __init__(self) -> None:
        self._pids: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._used: dict[str, float] = {}

    def start(self, deployment: Any) -> None:
        self._pids = dict(deployment.process_ids())
        broker = broker_pid()
        if broker is not None:
            self._pids["rabbitmq"] = broker
        self._pids["runner"] = os.getpid()
        self._started = {name: cpu for name, pid in self._pids.items()
                         if (cpu := cpu_seconds(pid)) is not None}

    def stop(self, deployment: Any) -> None:
        for name, before in self._started.items():
            after = cpu_seconds(self._pids[name])
            if after is not None:
                self._used[name] = after - before

    def per_build_ms(self, builds: int) -> dict[str, float]:
        """Process -> CPU ms per build, the busiest first, and their total."""
        if not builds or not self._used:
            return {}
        shares = sorted(((name, 1000 * used / builds) for name, used in self._used.items()),
                        key=lambda item: -item[1])
        figures = {name: round(ms, 2) for name, ms in shares}
        figures["total"] = round(sum(ms for _, ms in shares), 2)
        return figures
