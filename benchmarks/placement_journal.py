"""What keeping placement's state costs a write: allocations written and deleted in memory only,
journaled without fsync, and journaled with fsync (group commit).

    python -m benchmarks.placement_journal [--writes 2000] [--threads 8]

In process: PlacementStore against JournaledStore, PUT then DELETE of one consumer's
allocation on one of 100 providers, one thread: the median per call. Over HTTP: an
`altsim-placement` daemon per mode (its [placement] state_path and state_fsync), the same
writes through one keep-alive connection: the median per request; then `--threads` clients
writing at once, in writes per second (with fsync, the writes that arrive during one fdatasync
share the next: group commit). Reads are not measured: they never touch the journal.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from altsim_lab.deploy.process import ServiceProcess
from placement_sim.durable_store import JournaledStore
from placement_sim.store import PlacementStore

PROVIDERS = 100
INVENTORY = {"VCPU": {"total": 1_000_000}, "MEMORY_MB": {"total": 1_000_000}}
RESOURCES = {"VCPU": 1, "MEMORY_MB": 512}
HEADERS = {"OpenStack-API-Version": "placement 1.36"}
READY_RE = re.compile(r"^altsim-placement ready on (http://\S+)$")
FSYNC = "journal, fsync"
MODES = ("memory", "journal, no fsync", FSYNC)


def _providers() -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-host-{i}")) for i in range(PROVIDERS)]


def _median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def in_process(mode: str, writes: int, folder: Path) -> dict[str, float]:
    store = (PlacementStore() if mode == "memory" else
             JournaledStore(folder, fsync=mode == FSYNC))
    rps = _providers()
    for rp in rps:
        store.create_resource_provider(rp, rp)
        store.set_inventories(rp, 0, INVENTORY)
    puts, deletes = [], []
    for index in range(writes):
        consumer = str(uuid.uuid4())
        request = {rps[index % PROVIDERS]: {"resources": RESOURCES}}
        started = time.perf_counter()
        store.put_allocations(consumer, request, "p", "u", None)
        puts.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.delete_allocations(consumer)
        deletes.append(time.perf_counter() - started)
    return {"put_us": _median_us(puts), "delete_us": _median_us(deletes)}


def _start_daemon(mode: str, workdir: Path) -> tuple[ServiceProcess, str]:
    lines = ["[placement]", "bind_host = 127.0.0.1", "bind_port = 0", "noauth = true"]
    if mode != "memory":
        lines += [f"state_path = {workdir / 'state'}",
                  f"state_fsync = {str(mode == FSYNC).lower()}"]
    config = workdir / "placement.conf"
    config.write_text("\n".join(lines) + "\n")
    script = Path(sys.executable).with_name("altsim-placement")
    process = ServiceProcess("placement", [str(script), "--config-file", str(config)],
                             workdir / "placement.log", ready=READY_RE)
    return process, process.wait_ready(30.0)[1]


def _write_pair(http: httpx.Client, rp: str) -> tuple[float, float]:
    consumer = str(uuid.uuid4())
    started = time.perf_counter()
    http.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": RESOURCES}}, "project_id": "p", "user_id": "u",
        "consumer_generation": None}).raise_for_status()
    middle = time.perf_counter()
    http.delete(f"/allocations/{consumer}").raise_for_status()
    return middle - started, time.perf_counter() - middle


def over_http(mode: str, writes: int, threads: int, workdir: Path) -> dict[str, float]:
    process, url = _start_daemon(mode, workdir)
    try:
        rps = _providers()
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30.0) as http:
            for rp in rps:
                http.post("/resource_providers", json={"uuid": rp, "name": rp})
                http.put(f"/resource_providers/{rp}/inventories", json={
                    "resource_provider_generation": 0, "inventories": INVENTORY})
            pairs = [_write_pair(http, rps[i % PROVIDERS]) for i in range(writes)]
        rate = _concurrent_rate(url, rps, writes, threads)
    finally:
        process.stop()
    return {"put_us": _median_us([p for p, _ in pairs]),
            "delete_us": _median_us([d for _, d in pairs]),
            f"writes_per_s_{threads}_clients": rate}


def _concurrent_rate(url: str, rps: list[str], writes: int, threads: int) -> float:
    """Writes (PUTs and DELETEs) a second with `threads` clients at once."""
    each = max(1, writes // threads)

    def client(index: int) -> None:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30.0) as http:
            for i in range(each):
                _write_pair(http, rps[(index + i) % PROVIDERS])

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return round(2 * each * threads / (time.perf_counter() - started), 1)


def measure(writes: int, threads: int) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {"in_process": {}, "http": {}}
    runs: list[tuple[str, Callable[[str, Path], dict[str, float]]]] = [
        ("in_process", lambda mode, folder: in_process(mode, writes, folder)),
        ("http", lambda mode, folder: over_http(mode, writes // 2, threads, folder)),
    ]
    for where, run in runs:
        for mode in MODES:
            with tempfile.TemporaryDirectory(prefix="placement-journal-") as folder:
                results[where][mode] = run(mode, Path(folder))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    for where, modes in measure(args.writes, args.threads).items():
        for mode, figures in modes.items():
            print(f"{where:10} {mode:18} " + "  ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
