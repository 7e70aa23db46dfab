"""The targets' launched workload against real Placement and against altsim-placement, in one run.

    python -m benchmarks.workload_vs_real [--instances 2000] [--hosts 1000]
        [--real-database postgresql|sqlite] [--database-url URL] [--kinds altsim real]
        [--keep-logs DIR] [--url RABBIT_URL] [--out DIR]

benchmarks.end_to_end's workload (1,000 hosts in 2 cells, 2,000 single-instance requests, 100
in flight, 2 schedulers), launched over RabbitMQ, given a fresh placement of each kind as
`altsim run --placement-url` gives one: openstack-placement 16.0.0 (the real-Placement tier's
pins, gunicorn with 2 workers of 4 threads, noauth2) over a PostgreSQL database made for the
run and dropped after it, as operators serve it (or over SQLite with --real-database sqlite,
the tier's default, to see what that costs), and the `altsim-placement` daemon.

For each run: builds per second, the scheduler's select_destinations time (its own log line per
request: candidates, filters, weighers and claims, without the wait in its queue), instances
in ERROR, leaked allocations, and an audit of placement against the cells (allocations of no
live instance, usages that disagree with the allocations), taken before the run removes its
providers. The load average is recorded with each run (the machine is shared).

Writes benchmarks/results/<date>-<machine>-workload-vs-real[-<instances>].json and prints a
table. Against real Placement 2,000 instances take 10-15 minutes on a loaded 2-core machine;
`--instances 300` is a quick look. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from altsim import gc_tuning
from altsim_lab.deploy.launcher import LaunchError
from altsim_lab.deploy.provision import DatabaseServer
from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.manage.audit import audit_placement
from altsim_lab.testing.placements import TOKEN, AltsimPlacementDaemon, RealPlacement
from benchmarks import end_to_end
from benchmarks.placement_vs_real import venv

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
URL = "rabbit://guest:guest@127.0.0.1:5672/"
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# A compute registers its 500 hosts before it says it is ready: over a minute in a real
# Placement on a loaded machine, more than the launcher's default allows.
START_TIMEOUT_S = 900.0
SELECT_RE = re.compile(r"select_destinations for (\d+) instance\(s\) took ([0-9.]+) s")


@contextmanager
def placement(kind: str, workdir: Path, real_database: str,
              database_url: str) -> Iterator[str]:
    """A fresh placement of `kind` (its URL); with real on PostgreSQL, a database of its own,
    dropped on the way out whatever happened."""
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))
    server: RealPlacement | AltsimPlacementDaemon
    if kind == "altsim":
        server = AltsimPlacementDaemon.start(folder)
        try:
            yield server.url
        finally:
            server.stop()
        return
    if real_database == "sqlite":
        server = RealPlacement.start(venv(), folder)
        try:
            yield server.url
        finally:
            server.stop()
            shutil.copy(server.log, workdir / "real-placement.log")
        return
    databases = DatabaseServer(database_url)
    name = f"altsim_bench_placement_{uuid.uuid4().hex[:10]}"
    databases.create(name)
    try:
        # Placement's own driver is psycopg2 (the pins hold it): it reads cursor.lastrowid.
        url = make_url(databases.url_for(name)).set(drivername="postgresql+psycopg2")
        server = RealPlacement.start(venv(), folder, url.render_as_string(hide_password=False))
        try:
            yield server.url
        finally:
            server.stop()
            shutil.copy(server.log, workdir / "real-placement.log")
    finally:
        databases.drop(name)


def select_times(workdir: Path) -> list[float]:
    """Seconds per select_destinations call, from every scheduler's log in `workdir`."""
    found = []
    for log in sorted(workdir.glob("scheduler*.log")):
        found += [float(match.group(2)) for match in SELECT_RE.finditer(log.read_text())]
    return found


def _percentile_ms(samples: list[float], pct: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] * 1000,
                 1)


def one_run(kind: str, instances: int, args: argparse.Namespace, workdir: Path,
            say: Callable[[str], None]) -> dict[str, Any]:
    spec = end_to_end.scenario(instances, args.hosts, 2, 0.0, args.concurrency)
    spec = spec.model_copy(update={"config": {**spec.config, "scheduler.workers": 2}})
    seen: dict[str, Any] = {}

    def inspect(deployment: Any) -> None:
        seen["select_s"] = select_times(deployment.workdir)
        # Before the run takes its providers and allocations out of the placement.
        try:
            audit = audit_placement(deployment.api_db, deployment.placement)
        except Exception as exc:  # noqa: BLE001 - recorded with the run, which goes on
            seen["audit"] = {"failed": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            seen["audit"] = {"orphan_allocations": len(audit.orphans),
                             "orphans": sorted({f"{o.consumer_uuid} ({o.reason})"
                                                for o in audit.orphans})[:20],
                             "usage_mismatches": len(audit.mismatches)}
        if args.keep_logs:
            target = args.keep_logs / f"{kind}-{instances}"
            target.mkdir(parents=True, exist_ok=True)
            for log in deployment.workdir.glob("*.log"):
                shutil.copy(log, target / log.name)

    load_before = os.getloadavg()
    try:
        with placement(kind, workdir, args.real_database, args.database_url) as url:
            run = end_to_end.measure(spec, args.url, timeout_s=args.timeout, inspect=inspect,
                                     placement=SharedPlacement(url, TOKEN),
                                     start_timeout_s=args.start_timeout)
    except LaunchError as exc:
        problem = str(exc).splitlines()[0]
        say(f"    did not start: {problem}")
        return {"instances": instances, "ok": False, "problems": [problem],
                "load_average_before": load_before, "load_average_after": os.getloadavg()}
    except Exception as exc:  # noqa: BLE001 - one run's failure is recorded, the others run
        say(f"    failed: {type(exc).__name__}: {exc}"[:400])
        return {"instances": instances, "ok": False,
                "problems": [f"{type(exc).__name__}: {exc}"[:400]],
                "load_average_before": load_before, "load_average_after": os.getloadavg()}
    finally:
        if args.keep_logs and (workdir / "real-placement.log").exists():
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(workdir / "real-placement.log",
                        args.keep_logs / f"{kind}-{instances}-real-placement.log")
    select = seen.get("select_s", [])
    result = {**run.as_dict(),
              "select_destinations": {
                  "calls": len(select),
                  "median_ms": (round(statistics.median(select) * 1000, 1) if select
                                else None),
                  "p95_ms": _percentile_ms(select, 95),
                  "max_ms": _percentile_ms(select, 100)},
              "leaked_allocations": run.summary.get("leaked_allocations"),
              "audit": seen.get("audit"),
              "load_average_before": load_before, "load_average_after": os.getloadavg()}
    say(f"    {result['builds_per_s']} builds/s, {result['active']} ACTIVE, "
        f"{result['error']} ERROR, {result['leaked_allocations']} leaked, select_destinations "
        f"median {result['select_destinations']['median_ms']} ms"
        + ("" if run.ok else f" (problems: {'; '.join(run.problems)[:300]})"))
    return result


def table(runs: dict[str, Any]) -> str:
    lines = ["| placement | instances | builds/s | select_destinations median (p95) | ERROR | "
             "leaked | audit orphans | started in | load avg (1 min, before/after) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, run in runs.items():
        if not isinstance(run, dict) or "instances" not in run:
            continue
        select = run.get("select_destinations") or {}
        audit = run.get("audit") or {}
        lines.append(
            f"| {key} | {run['instances']} | {run.get('builds_per_s')} | "
            f"{select.get('median_ms')} ms ({select.get('p95_ms')}) | {run.get('error')} | "
            f"{run.get('leaked_allocations')} | {audit.get('orphan_allocations')} | "
            f"{run.get('start_s')} s | {run['load_average_before'][0]:.1f}/"
            f"{run['load_average_after'][0]:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workload_vs_real",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=2000,
                        help="instances per run (default 2000; 300 for a quick look)")
    parser.add_argument("--hosts", type=int, default=1000, help="hosts in 2 cells (1000)")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight")
    parser.add_argument("--kinds", nargs="+", choices=("altsim", "real"),
                        default=["altsim", "real"], help="placements to run against, in order")
    parser.add_argument("--real-database", choices=("postgresql", "sqlite"),
                        default="postgresql",
                        help="what real Placement keeps its tables in (default postgresql)")
    parser.add_argument("--database-url", default=DATABASE_URL,
                        help=f"PostgreSQL server for real Placement's database, created and "
                             f"dropped by the run (default {DATABASE_URL})")
    parser.add_argument("--start-timeout", type=float, default=START_TIMEOUT_S,
                        help=f"seconds each service may take to be ready ({START_TIMEOUT_S:g})")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds the workload may take (1800)")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR",
                        help="copy every service's log (and real Placement's) here")
    parser.add_argument("--url", default=URL, help=f"the RabbitMQ to use (default {URL})")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    for option, value in (("--instances", args.instances), ("--hosts", args.hosts),
                          ("--concurrency", args.concurrency)):
        if value < 1:
            parser.error(f"{option}: must be at least 1, got {value}")
    gc_tuning.tune()  # as every altsim process runs
    started = time.perf_counter()

    def say(line: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {line}", file=sys.stderr, flush=True)

    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="altsim-workload-vs-real-") as workdir:
        for kind in args.kinds:
            label = kind if kind == "altsim" else f"real-{args.real_database}"
            say(f"{args.instances} instances against {label} placement")
            runs[label] = one_run(kind, args.instances, args, Path(workdir), say)
    rates = {label: run.get("builds_per_s") for label, run in runs.items()}
    real = rates.get(f"real-{args.real_database}")
    if rates.get("altsim") and real:
        runs["altsim_lead_builds_per_s"] = round(rates["altsim"] / real, 1)
    elapsed = time.perf_counter() - started
    print(table(runs))
    if "altsim_lead_builds_per_s" in runs:
        print(f"\naltsim-placement's lead in builds/s: {runs['altsim_lead_builds_per_s']}x")
    record = {"date": time.strftime("%Y-%m-%d"), "started_utc": time.strftime(
                  "%H:%M", time.gmtime(time.time() - elapsed)),
              "machine": {"node": platform.node(), "cpus": os.cpu_count(),
                          "python": platform.python_version()},
              "plan": {"instances": args.instances, "hosts": args.hosts, "cells": 2,
                       "concurrency": args.concurrency, "schedulers": 2,
                       "real_database": args.real_database},
              "elapsed_s": round(elapsed, 1), "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.instances == 2000 else f"-{args.instances}"
    path = args.out / (f"{record['date']}-{platform.node() or 'machine'}-workload-vs-real"
                       f"{'-sqlite' if args.real_database == 'sqlite' else ''}{suffix}.json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    say(f"wrote {path} ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
