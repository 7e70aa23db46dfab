"""python -m benchmarks run [--quick]: every figure with a target, measured in one run on one
broker.

In order: what the broker and oslo.messaging allow (benchmarks.ceilings), the scheduler's
decision alone at 1,000 and 10,000 hosts (benchmarks.select_destinations), the build path end
to end embedded and over RabbitMQ without and with 10% reschedulable spawn failures
(benchmarks.end_to_end), the messages each build and each reschedule costs (counted by the
in-memory broker of the embedded runs, whose services send what the daemons send), and 10,000
hosts launched at once (benchmarks.scale). Prints a table against the targets and writes
benchmarks/results/<date>-<machine>.json. `--quick` runs everything smaller, to check the
harness: its figures are not comparable to the targets, and its table says "quick run: not
judged" instead of meets or misses. About 7 minutes on a 2-core machine; --quick 2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from altsim import gc_tuning, memory_driver
from benchmarks import ceilings, end_to_end, scale, select_destinations

RESULTS = Path(__file__).resolve().parent / "results"
URL = "rabbit://guest:guest@127.0.0.1:5672/"

# e2e_repeats: each end-to-end figure is the median of that many runs (the machine is noisy).
FULL = {"messages": 2000, "select_requests": 300, "instances": 2000, "hosts": 1000,
        "scale_hosts": 10000, "scale_cells": 5, "idle_s": 20.0, "e2e_repeats": 3}
QUICK = {"messages": 300, "select_requests": 60, "instances": 300, "hosts": 200,
         "scale_hosts": 2000, "scale_cells": 2, "idle_s": 5.0, "e2e_repeats": 1}

# key: (target, goal or None, "min" if more is better else "max", unit, what it is)
TARGETS: dict[str, tuple[float | None, float | None, str, str, str]] = {
    "e2e_rabbit_builds_per_s": (100, 150, "min", "builds/s",
                                "over RabbitMQ, 1,000 hosts in 2 cells, 2,000 instances"),
    "e2e_rabbit_faults_builds_per_s": (80, None, "min", "builds/s",
                                       "the same with 10% reschedulable spawn failures"),
    "e2e_embedded_builds_per_s": (200, 300, "min", "builds/s", "embedded, same workload"),
    "select_destinations_p50_ms_1k": (2, None, "max", "ms", "decision alone, 1,000 hosts"),
    "select_destinations_p50_ms_10k": (15, None, "max", "ms", "decision alone, 10,000 hosts"),
    "rss_mib_per_1000_hosts": (1536 / 10, None, "max", "MiB",
                               "compute_sim resident memory per 1,000 hosts (10k: 1.5 GiB)"),
    "idle_cpu_pct_10k": (5, None, "max", "% of a core", "10,000 hosts idle, all compute_sim"),
    "start_s_10k": (60, None, "max", "s", "10,000 hosts launched and ready"),
    "messages_per_build": (None, None, "max", "messages", "RPC casts and calls per build"),
    "messages_per_reschedule": (None, None, "max", "messages",
                                "RPC casts and calls per reschedule"),
}


def _step(console: Console, title: str, work: Callable[[], Any]) -> Any:
    console.print(f"[bold]{title}[/bold] ...", highlight=False)
    started = time.perf_counter()
    result = work()
    console.print(f"  done in {time.perf_counter() - started:.0f} s", highlight=False)
    return result


def _message_counts(deployment: Any, into: dict[str, int]) -> None:
    """What the in-memory broker counted on every bus of an embedded run, by kind."""
    for url in deployment._transport_urls():
        sent = memory_driver.vhost_stats(urlsplit(url).path.lstrip("/"))["sent"]
        for kind, count in sent.items():
            into[kind] = into.get(kind, 0) + count


def _embedded(plan: dict, faults: float) -> tuple[end_to_end.EndToEnd, dict[str, int]]:
    counts: dict[str, int] = {}
    spec = end_to_end.scenario(plan["instances"], plan["hosts"], 2, faults, 100)
    run = end_to_end.measure(spec, inspect=lambda d: _message_counts(d, counts))
    return run, counts


def _rabbit(plan: dict, faults: float, url: str) -> end_to_end.EndToEnd:
    spec = end_to_end.scenario(plan["instances"], plan["hosts"], 2, faults, 100)
    # Two scheduler processes, as Nova runs one per CPU: one Python process uses one core.
    spec = spec.model_copy(update={"config": {**spec.config, "scheduler.workers": 2}})
    return end_to_end.measure(spec, url)


def measure(plan: dict, url: str, console: Console) -> dict[str, Any]:
    results: dict[str, Any] = {}
    ceiling = _step(console, "ceilings: raw kombu, oslo.messaging call and cast",
                    lambda: ceilings.measure(url, plan["messages"]))
    results.update({key: round(value, 1) for key, value in ceiling.items()})
    with tempfile.TemporaryDirectory(prefix="altsim-bench-") as workdir:
        for hosts, suffix in ((1000, "1k"), (10000, "10k")):
            decision = _step(console, f"select_destinations at {hosts} hosts",
                             lambda hosts=hosts: select_destinations.measure(
                                 hosts, plan["select_requests"], Path(workdir)))
            results[f"select_destinations_p50_ms_{suffix}"] = round(decision["p50_ms"], 3)
            results[f"select_destinations_p99_ms_{suffix}"] = round(decision["p99_ms"], 3)
    runs: dict[str, Any] = {}
    kinds: dict[str, tuple[str, Callable[[], Any]]] = {
        "embedded": ("end to end, embedded", lambda: _embedded(plan, 0.0)),
        "embedded_faults": ("end to end, embedded, 10% faults", lambda: _embedded(plan, 0.1)),
        "rabbit": ("end to end, RabbitMQ", lambda: (_rabbit(plan, 0.0, url), {})),
        "rabbit_faults": ("end to end, RabbitMQ, 10% faults",
                          lambda: (_rabbit(plan, 0.1, url), {})),
    }
    # Round after round (not one kind's repeats back to back), so a noisy spell of the
    # machine spreads over every kind; each kind's figure is its median run.
    done: dict[str, list[tuple[end_to_end.EndToEnd, dict[str, int]]]] = {k: [] for k in kinds}
    repeats = plan["e2e_repeats"]
    for round_ in range(repeats):
        for kind, (title, work) in kinds.items():
            done[kind].append(_step(console, f"{title} ({round_ + 1}/{repeats})", work))
    chosen = {kind: _median_run(results_) for kind, results_ in done.items()}
    (embedded, counts), (embedded_faults, fault_counts) = (chosen["embedded"],
                                                           chosen["embedded_faults"])
    rabbit, rabbit_faults = chosen["rabbit"][0], chosen["rabbit_faults"][0]
    for kind in kinds:
        runs[kind] = {**chosen[kind][0].as_dict(),
                      "builds_per_s_every_run": [run.summary["builds_per_s"]
                                                 for run, _ in done[kind]]}
    results["e2e_embedded_builds_per_s"] = embedded.summary["builds_per_s"]
    results["e2e_rabbit_builds_per_s"] = rabbit.summary["builds_per_s"]
    results["e2e_rabbit_faults_builds_per_s"] = rabbit_faults.summary["builds_per_s"]
    for name, run in (("rabbit", rabbit), ("rabbit_faults", rabbit_faults)):
        results[f"time_to_active_p50_s_{name}"] = run.summary["time_to_active_p50_s"]
        results[f"time_to_active_p95_s_{name}"] = run.summary["time_to_active_p95_s"]
    results.update(_message_figures(embedded, counts, embedded_faults, fault_counts))
    scaled = _step(console, f"{plan['scale_hosts']} hosts launched, idle",
                   lambda: scale.measure(plan["scale_hosts"], plan["scale_cells"],
                                         plan["idle_s"], url))
    results["rss_mib_per_1000_hosts"] = scaled["rss_mib_per_1000_hosts"]
    results["idle_cpu_pct_10k"] = scaled["idle_cpu_pct"]
    results["start_s_10k"] = scaled["start_s"]
    return {"results": results, "runs": runs, "scale": scaled}


def _median_run(runs: list[tuple[Any, dict[str, int]]]) -> tuple[Any, dict[str, int]]:
    """The run whose builds/s is the median (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda pair: pair[0].summary["builds_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def _message_figures(clean: end_to_end.EndToEnd, counts: dict[str, int],
                     faulty: end_to_end.EndToEnd, fault_counts: dict[str, int]
                     ) -> dict[str, float]:
    """Per successful build in the clean run; per reschedule from the difference the faults
    make (RPC casts and calls, and all AMQP messages: replies and notifications too)."""
    def rpc(c: dict[str, int]) -> int:
        return c.get("call", 0) + c.get("cast", 0)

    def amqp(c: dict[str, int]) -> int:  # a call has a reply, which no counter sees
        return rpc(c) + c.get("call", 0) + c.get("notification", 0)

    active, reschedules = clean.summary["active"], faulty.summary["reschedules"]
    per_build = rpc(counts) / active
    extra = rpc(fault_counts) - per_build * faulty.summary["instances"]
    return {"messages_per_build": round(per_build, 3),
            "amqp_messages_per_build": round(amqp(counts) / active, 3),
            "messages_per_reschedule": round(extra / reschedules, 3) if reschedules else None}


QUICK_VERDICT = "quick run: not judged"


def verdicts(results: dict[str, Any], judged: bool = True) -> list[tuple[str, str, str, str, str]]:
    """A row per target: figure, what it is, the value, the bound, and whether the value meets
    it. `judged=False` (a --quick run, a smaller workload than the targets') says so instead
    of comparing figures that are not comparable."""
    rows = []
    for key, (target, goal, direction, unit, what) in TARGETS.items():
        value = results.get(key)
        if value is None:
            rows.append((key, what, "-", "-", "not measured"))
            continue
        if target is None:
            verdict = "reported"
        elif not judged:
            verdict = QUICK_VERDICT
        else:
            met = value >= target if direction == "min" else value <= target
            verdict = "meets" if met else "MISSES"
            if met and goal is not None and value >= goal:
                verdict = "meets the goal"
        bound = "-" if target is None else (f">= {target:g}" if direction == "min"
                                            else f"<= {target:g}")
        if goal is not None:
            bound += f" (goal {goal:g})"
        rows.append((key, what, f"{value:g} {unit}", bound, verdict))
    return rows


def _machine() -> dict[str, Any]:
    return {"node": platform.node(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                / 2**30, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure everything and write the results")
    run.add_argument("--quick", action="store_true", help="smaller, to check the harness")
    run.add_argument("--url", default=URL, help=f"the RabbitMQ to use (default {URL})")
    run.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    gc_tuning.tune()  # as every altsim process runs
    console = Console(stderr=True)
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    measured = measure(plan, args.url, console)
    elapsed = time.perf_counter() - started
    quick = (" (quick: a smaller workload than the targets', so nothing is judged)"
             if args.quick else "")
    table = Table(title=f"altsim benchmarks{quick}")
    for column in ("figure", "what", "measured", "target", "verdict"):
        table.add_column(column)
    for row in verdicts(measured["results"], judged=not args.quick):
        table.add_row(*row)
    out = Console()
    if not out.is_terminal:  # a file or a pipe: rich's 80 columns would fold every cell
        out.width = 150
    out.print(table)
    record = {"date": time.strftime("%Y-%m-%d"), "quick": args.quick, "machine": _machine(),
              "plan": plan, "elapsed_s": round(elapsed, 1), **measured}
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{record['date']}-{platform.node() or 'machine'}{'-quick' if args.quick else ''}"
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    console.print(f"wrote {path} ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
