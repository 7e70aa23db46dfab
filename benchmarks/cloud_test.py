"""Benchmark: what one embedded test costs through the public test API.

A test as a user writes it (altsim_lab.testing.Cloud, as the `altsim_cloud` fixture gives it):
a fresh cloud of one cell and three hosts, the first spawn failed, one server booted through
its reschedule to ACTIVE on the alternate, the failed host's usage read, the cloud closed. The
first test of a session pays the imports; each later one is timed, split into its phases
(start + boot to ACTIVE, the reads, the teardown), with the CPU the whole process spent on it
(`time.process_time`, every thread: unlike wall time, hardly changed by other work on the
machine). Prints medians and writes
`benchmarks/results/cloud_test.json`.

Run: `python -m benchmarks.cloud_test [--tests 10]`
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cloud_test.json"


def one_test() -> dict[str, float]:
    from altsim_lab.testing import Cloud

    cpu_started = time.process_time()
    started = time.perf_counter()
    cloud = Cloud(cells={"cell1": ["host1", "host2", "host3"]})
    cloud.fail_spawn("host1")
    server = cloud.boot("vm", "small")
    booted = time.perf_counter()
    assert server.host == "host2" and cloud.usage("host1")["VCPU"] == 0
    read = time.perf_counter()
    cloud.close()
    closed = time.perf_counter()
    return {"boot_ms": booted - started, "reads_ms": read - booted,
            "teardown_ms": closed - read, "total_ms": closed - started,
            "cpu_ms": time.process_time() - cpu_started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=10, help="timed tests after the first")
    args = parser.parse_args()
    first_started = time.perf_counter()
    one_test()
    first = time.perf_counter() - first_started
    runs = [one_test() for _ in range(args.tests)]
    medians = {key: round(statistics.median(r[key] for r in runs) * 1000, 1)
               for key in runs[0]}
    result = {"machine": platform.node(), "tests": args.tests,
              "first_test_s": round(first, 2), "median_ms": medians}
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
