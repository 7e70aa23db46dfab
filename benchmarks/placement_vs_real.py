"""The cost of real Placement, side by side with altsim-placement, in one run.

    python -m benchmarks.placement_vs_real [--quick] [--url RABBIT_URL] [--out DIR]

Both are started here, each a process of its own on loopback: openstack-placement (the version
the real-Placement tier pins, gunicorn with 2 workers of 4 threads over SQLite, noauth2; its
virtualenv is `$ALTSIM_REALPLACEMENT_VENV` or `.realplacement/venv`, built on first use) and
the `altsim-placement` daemon (in memory).

1. Requests: the same ones, sent by the same client (placement_sim's RemotePlacementStore,
   the HTTP half of HttpPlacementClient, at the microversions altsim sends: 1.16 for
   candidates, 1.36 for the rest), one at a time, to one placement then the other in turn so
   that the machine's noisy spells fall on both: allocation candidates with 100 and then
   1,000 providers, and PUT, GET and DELETE of one consumer's allocations. Median and p95 of
   each, and how many times faster altsim-placement answers.
2. End to end: the build path launched over RabbitMQ (benchmarks.end_to_end's workload: 1,000
   hosts in 2 cells, 100 requests in flight, 2 schedulers), against a fresh placement of each
   kind given as `altsim run --placement-url` gives one. Real Placement cannot build 2,000
   instances in the time this benchmark allows itself, so both build a smaller count (the
   ratio is taken there), and altsim-placement builds the 2,000 as well.

Writes benchmarks/results/<date>-<machine>-placement-vs-real[-quick].json and prints a table.
About 7 minutes on a loaded 2-core machine; --quick (fewer providers, hosts and requests) 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from altsim import gc_tuning
from altsim_lab.deploy.process import LaunchError
from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.testing.placements import (
    TOKEN,
    AltsimPlacementDaemon,
    RealPlacement,
    ensure_venv,
)
from benchmarks import end_to_end
from placement_sim import http_client
from placement_sim.http_client import HttpPlacementClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REQUIREMENTS = ROOT / "tests" / "realplacement" / "requirements.txt"
VENV_ENV = "ALTSIM_REALPLACEMENT_VENV"
URL = "rabbit://guest:guest@127.0.0.1:5672/"
KINDS = ("real", "altsim")
# A flavor's worth, as the scheduler asks and a conductor claims.
FLAVOR = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
# Requests in flight while providers are created: bounded, as real Placement serves 8 at once
# on SQLite (more only queue, or fail on a locked database).
POPULATE_CONCURRENCY = 4

# providers: candidates are asked with the first then all of them; *_samples per placement.
FULL = {"providers": (100, 1000), "candidate_samples": 40, "allocation_samples": 200,
        "hosts": 1000, "instances": 2000, "instances_real": 300, "real_timeout_s": 300.0}
QUICK = {"providers": (100, 300), "candidate_samples": 10, "allocation_samples": 40,
         "hosts": 100, "instances": 100, "instances_real": 100, "real_timeout_s": 120.0}


def venv() -> Path:
    return ensure_venv(Path(os.environ.get(VENV_ENV) or ROOT / ".realplacement" / "venv"),
                       REQUIREMENTS)


@contextmanager
def placements(workdir: Path, kinds: tuple[str, ...] = KINDS) -> Iterator[dict[str, str]]:
    """A fresh placement of each of `kinds`: kind -> URL. Each is stopped on the way out,
    whatever happened (its database and log go with `workdir`)."""
    folder = Path(tempfile.mkdtemp(prefix="placement-", dir=workdir))
    with ExitStack() as stack:
        urls = {}
        for kind in kinds:
            server: RealPlacement | AltsimPlacementDaemon = (
                RealPlacement.start(venv(), folder / kind) if kind == "real"
                else AltsimPlacementDaemon.start(folder / kind))
            stack.callback(server.stop)
            urls[kind] = server.url
        yield urls


def stats_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "samples": len(ordered)}


class _Resends(logging.Filter):
    """Counts, and keeps out of the output, the client's "sending it again" warnings (real
    Placement answers 500 when its SQLite database is locked by the other worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.count += 1
        return False


def populate(client: HttpPlacementClient, rps: list[str]) -> dict[str, float]:
    """Create `rps` with a host's inventory (as compute_sim registers a host: POST, then PUT
    of the inventories), POPULATE_CONCURRENCY at once: the seconds it took, and how many
    requests were sent again."""
    resends = _Resends()
    logging.getLogger(http_client.__name__).addFilter(resends)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(POPULATE_CONCURRENCY) as pool:
            list(pool.map(lambda rp: client.ensure_resource_provider(
                rp, f"bench-rp-{rp}", {rc: {"total": total} for rc, total
                                       in end_to_end.HOST_RESOURCES.items()}), rps))
    finally:
        logging.getLogger(http_client.__name__).removeFilter(resends)
    return {"seconds": round(time.perf_counter() - started, 1), "resent": resends.count}


def take_turns(clients: dict[str, HttpPlacementClient], samples: int,
               one: Callable[[HttpPlacementClient, int], dict[str, float]]
               ) -> dict[str, dict[str, list[float]]]:
    """`one(client, i)` (seconds per request name) `samples` times on each placement, taking
    turns and changing who goes first each time; a few untimed turns first (caches, pools)."""
    for index in range(3):
        for client in clients.values():
            one(client, -1 - index)
    times: dict[str, dict[str, list[float]]] = {kind: {} for kind in clients}
    for index in range(samples):
        order = list(clients) if index % 2 else list(reversed(clients))
        for kind in order:
            for name, seconds in one(clients[kind], index).items():
                times[kind].setdefault(name, []).append(seconds)
    return times


def candidates_once(client: HttpPlacementClient, expected: int) -> dict[str, float]:
    started = time.perf_counter()
    answer = client.remote.allocation_candidates(FLAVOR, limit=1000)
    took = time.perf_counter() - started
    if len(answer["allocation_requests"]) != expected:
        raise RuntimeError(f"{client.endpoint_url} gave {len(answer['allocation_requests'])} "
                           f"candidates, not {expected}")
    return {f"candidates_{expected}": took}


def allocations_once(client: HttpPlacementClient, rps: list[str],
                     index: int) -> dict[str, float]:
    """PUT, GET and DELETE of a new consumer's allocations on one of `rps`."""
    remote, consumer = client.remote, str(uuid.uuid4())
    allocations = {rps[index % len(rps)]: {"resources": FLAVOR}}
    marks = [time.perf_counter()]
    remote.put_allocations(consumer, allocations, "bench-project", "bench-user", None)
    marks.append(time.perf_counter())
    remote.get_allocations(consumer)
    marks.append(time.perf_counter())
    remote.delete_allocations(consumer)
    marks.append(time.perf_counter())
    return {name: marks[i + 1] - marks[i]
            for i, name in enumerate(("put_allocations", "get_allocations",
                                      "delete_allocations"))}


def requests(plan: dict[str, Any], workdir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    few, many = plan["providers"]
    rps = [str(uuid.uuid4()) for _ in range(many)]
    times: dict[str, dict[str, list[float]]] = {kind: {} for kind in KINDS}
    populated: dict[str, dict[int, dict[str, float]]] = {kind: {} for kind in KINDS}
    with placements(workdir) as urls:
        clients = {kind: HttpPlacementClient(urls[kind], TOKEN, timeout=60.0, patience_s=30.0)
                   for kind in KINDS}
        for done, count in ((0, few), (few, many)):
            for kind, client in clients.items():
                say(f"  {kind}: providers {done + 1}-{count}")
                populated[kind][count] = populate(client, rps[done:count])
            say(f"  candidates with {count} providers")
            for kind, found in take_turns(clients, plan["candidate_samples"],
                                          lambda c, _i, n=count: candidates_once(c, n)).items():
                times[kind].update(found)
        say("  allocations: PUT, GET, DELETE")
        for kind, found in take_turns(clients, plan["allocation_samples"],
                                      lambda c, i: allocations_once(c, rps[:few], i)).items():
            times[kind].update(found)
        for client in clients.values():
            client.close()
    figures = {kind: {name: stats_ms(samples) for name, samples in times[kind].items()}
               for kind in KINDS}
    lead = {name: round(figures["real"][name]["median_ms"] / figures["altsim"][name]["median_ms"],
                        1) for name in figures["real"]}
    return {"per_request": figures, "altsim_lead": lead, "populate": populated}


def end_to_end_runs(plan: dict[str, Any], url: str, workdir: Path,
                    say: Callable[[str], None]) -> dict[str, Any]:
    """Launched runs, each against a fresh placement: (placement, instances) -> its figures."""
    runs: dict[str, Any] = {}
    wanted = [("altsim", plan["instances_real"]), ("real", plan["instances_real"])]
    if plan["instances"] != plan["instances_real"]:
        wanted.append(("altsim", plan["instances"]))
    for kind, instances in wanted:
        say(f"  {instances} instances against {kind} placement")
        spec = end_to_end.scenario(instances, plan["hosts"], 2, 0.0, 100)
        spec = spec.model_copy(update={"config": {**spec.config, "scheduler.workers": 2}})
        timeout = plan["real_timeout_s"] if kind == "real" else 600.0
        try:
            with placements(workdir, (kind,)) as urls:
                run = end_to_end.measure(spec, url, timeout_s=timeout,
                                         placement=SharedPlacement(urls[kind], TOKEN))
        except LaunchError as exc:
            # The launcher waits 60 s for each service: a compute registering 500 hosts in a
            # real Placement on a loaded machine can take longer. The other runs still count.
            problem = str(exc).splitlines()[0]
            runs[f"{kind}_{instances}"] = {"instances": instances, "builds_per_s": None,
                                           "start_s": None, "wall_s": None, "ok": False,
                                           "problems": [problem]}
            say(f"    did not start: {problem}")
            continue
        runs[f"{kind}_{instances}"] = run.as_dict()
        say(f"    {run.summary.get('builds_per_s')} builds/s"
            + ("" if run.ok else f" (problems: {'; '.join(run.problems)[:300]})"))
    same = plan["instances_real"]
    real_rate, altsim_rate = (runs[f"{kind}_{same}"]["builds_per_s"] for kind in KINDS)
    runs["altsim_lead"] = (round(altsim_rate / real_rate, 1) if real_rate and altsim_rate
                           else None)
    return runs


def table(measured: dict[str, Any], plan: dict[str, Any]) -> str:
    """The figures as the Markdown table BENCHMARKS.md quotes."""
    per, lead = measured["requests"]["per_request"], measured["requests"]["altsim_lead"]
    lines = ["| request | real Placement median (p95) | altsim-placement median (p95) | "
             "altsim's lead |", "|---|---|---|---|"]
    for name in per["real"]:
        real, alt = per["real"][name], per["altsim"][name]
        lines.append(f"| {name} | {real['median_ms']} ms ({real['p95_ms']}) | "
                     f"{alt['median_ms']} ms ({alt['p95_ms']}) | {lead[name]}x |")
    runs = measured["end_to_end"]
    lines += ["", f"| launched over RabbitMQ, {plan['hosts']} hosts | instances | builds/s | "
              "start s | wall s | ok |", "|---|---|---|---|---|---|"]
    for key, run in runs.items():
        if key != "altsim_lead":
            kind = key.rsplit("_", 1)[0]
            lines.append(f"| {kind} placement | {run['instances']} | {run['builds_per_s']} | "
                         f"{run['start_s']} | {run['wall_s']} | {run['ok']} |")
    lines.append(f"\naltsim-placement's lead end to end at {plan['instances_real']} instances: "
                 f"{runs['altsim_lead']}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.placement_vs_real",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, to check the harness")
    parser.add_argument("--url", default=URL, help=f"the RabbitMQ to use (default {URL})")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    gc_tuning.tune()  # as every altsim process runs
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()

    def say(line: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {line}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="altsim-placement-vs-real-") as workdir:
        say("requests, one at a time, to each placement in turn")
        measured = {"requests": requests(plan, Path(workdir), say)}
        say("end to end over RabbitMQ")
        measured["end_to_end"] = end_to_end_runs(plan, args.url, Path(workdir), say)
    elapsed = time.perf_counter() - started
    print(table(measured, plan))
    record = {"date": time.strftime("%Y-%m-%d"), "quick": args.quick,
              "machine": {"node": platform.node(), "cpus": os.cpu_count(),
                          "python": platform.python_version(),
                          "load_average": os.getloadavg()},
              "plan": plan, "elapsed_s": round(elapsed, 1), **measured}
    args.out.mkdir(parents=True, exist_ok=True)
    name = (f"{record['date']}-{platform.node() or 'machine'}-placement-vs-real"
            f"{'-quick' if args.quick else ''}")
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    say(f"wrote {path} ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
