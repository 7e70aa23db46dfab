"""The scheduler's decision alone: select_destinations at 1,000 and 10,000 hosts.

    python -m benchmarks.select_destinations [--hosts 1000 10000] [--requests 300]
        [--host-view compute_nodes placement] [--compute-writes]
        [--candidates-order hash name random]

No bus: the scheduler manager is called directly, over a real SQLite cell database of compute
nodes and the in-process placement, exactly as the scheduler service assembles them. Each
request asks for one instance and claims it (allocations build up as in a run). Placement
offers at most [scheduler] max_placement_results (1,000) candidates, as in Nova, so the
scheduler filters and weighs up to that many hosts per request. Prints the median and p99 for
each [scheduler] host_view. With --compute-writes the chosen host's compute writes its usage to
its compute node row after each request (untimed), as its resource tracker does when the build
reaches it, so every request finds the rows changed.
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
from placement_sim.store import CANDIDATES_ORDERS, DEFAULT_CANDIDATES_ORDER, PlacementStore
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


def measure(hosts: int, requests: int, workdir: Path, host_view: str = "compute_nodes",
            compute_writes: bool = False,
            candidates_order: str = DEFAULT_CANDIDATES_ORDER) -> dict[str, float]:
    cell_db = CellDatabase(
        f"sqlite:///{workdir / f'cell-{hosts}-{host_view}-{candidates_order}.db'}")
    cell_db.sync()
    placement = InProcessPlacementClient(PlacementStore(candidates_order))
    capacity = {rc: amounts["total"] for rc, amounts in INVENTORY.items()}
    nodes = [(str(uuid.uuid5(uuid.NAMESPACE_DNS, f"host-{i:05d}")), f"host-{i:05d}", capacity)
             for i in range(hosts)]
    cell_db.register_compute_nodes(nodes)
    for node_uuid, name, _ in nodes:
        placement.ensure_resource_provider(node_uuid, name, INVENTORY)
    conf = make_conf([scheduler_conf.register_opts])
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    conf.set_override("host_view", host_view, group="scheduler")
    manager = build_scheduler_manager(conf, placement, {CELL_UUID: cell_db},
                                      _NoNotifications())  # type: ignore[arg-type]
    used: dict[str, dict[str, int]] = {}
    timings = []
    for index in range(requests + 5):
        instance_uuid = str(uuid.uuid4())
        spec = RequestSpec(instance_uuid=instance_uuid, name=f"i{index}", project_id="p",
                           user_id="u", flavor=FLAVOR)
        started = time.perf_counter()
        [selections] = manager.select_destinations({}, spec, [instance_uuid])
        if index >= 5:  # the first requests fill the caches
            timings.append((time.perf_counter() - started) * 1000)
        if compute_writes:  # the build reached the chosen host: its tracker writes its row
            node = selections[0].compute_node_uuid
            usage = used.setdefault(node, dict.fromkeys(capacity, 0))
            for rc, amount in FLAVOR.resources.items():
                usage[rc] += amount
            cell_db.report_node_usage(node, usage)
    timings.sort()
    return {"p50_ms": statistics.median(timings),
            "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--host-view", nargs="+", default=["compute_nodes", "placement"],
                        choices=["compute_nodes", "placement"])
    parser.add_argument("--compute-writes", action="store_true",
                        help="a compute writes its row after each request, as in a run")
    parser.add_argument("--candidates-order", nargs="+", default=[DEFAULT_CANDIDATES_ORDER],
                        choices=CANDIDATES_ORDERS, help="placement's [placement] "
                        "candidates_order; it matters where the limit cuts (10,000 hosts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="altsim-bench-") as workdir:
        for hosts in args.hosts:
            for view in args.host_view:
                for order in args.candidates_order:
                    result = measure(hosts, args.requests, Path(workdir), view,
                                     args.compute_writes, order)
                    print(f"{hosts:6d} hosts, host_view {view:13s}, order {order:6s}: "
                          f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
