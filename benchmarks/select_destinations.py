"""The scheduler's decision alone: select_destinations at 1,000 and 10,000 hosts.

    python -m benchmarks.select_destinations [--hosts 1000 10000] [--requests 300]

No bus: the scheduler manager is called directly, over a real SQLite cell database of compute
nodes and the in-process placement, exactly as the scheduler service assembles them. Each
request asks for one instance and claims it (allocations build up as in a run). Placement
offers at most [scheduler] max_placement_results (1,000) candidates, as in Nova, so the
scheduler filters and weighs up to that many hosts per request. Prints the median and p99.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from altsim.conf import make_conf
from altsim.db.cell import CellDatabase
from altsim.objects import Flavor, RequestSpec
from placement_sim.client import InProcessPlacementClient
from placement_sim.store import PlacementStore
from scheduler import conf as scheduler_conf
from scheduler.service import build_scheduler_manager

CELL_UUID = "5e1ec7ed-0000-4000-8000-000000000001"
FLAVOR = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
INVENTORY = {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 262144},
             "DISK_GB": {"total": 5000}}


class _NoNotifications:
    def info(self, ctxt: dict, event_type: str, payload: dict) -> None:
        pass

    def error(self, ctxt: dict, event_type: str, payload: dict) -> None:
        pass


def measure(hosts: int, requests: int, workdir: Path) -> dict[str, float]:
    cell_db = CellDatabase(f"sqlite:///{workdir / f'cell-{hosts}.db'}")
    cell_db.sync()
    placement = InProcessPlacementClient(PlacementStore())
    for index in range(hosts):
        name = f"host-{index:05d}"
        node_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
        cell_db.register_compute_node(node_uuid, name)
        placement.ensure_resource_provider(node_uuid, name, INVENTORY)
    conf = make_conf([scheduler_conf.register_opts])
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    manager = build_scheduler_manager(conf, placement, {CELL_UUID: cell_db},
                                      _NoNotifications())  # type: ignore[arg-type]
    timings = []
    for index in range(requests + 5):
        instance_uuid = str(uuid.uuid4())
        spec = RequestSpec(instance_uuid=instance_uuid, name=f"i{index}", project_id="p",
                           user_id="u", flavor=FLAVOR)
        started = time.perf_counter()
        manager.select_destinations({}, spec, [instance_uuid])
        if index >= 5:  # the first requests fill the caches
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50_ms": statistics.median(timings),
            "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="altsim-bench-") as workdir:
        for hosts in args.hosts:
            result = measure(hosts, args.requests, Path(workdir))
            print(f"{hosts:6d} hosts: p50 {result['p50_ms']:.2f} ms, "
                  f"p99 {result['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
