"""The deterministic mode's numbers: explore throughput, build rate against real time, and
simulated time against wall time.

    python -m benchmarks.deterministic [--seeds 300] [--jobs 2] [--repeat 3]
                                       [--timeout-repeat 10] [--instances 2000]

Three measurements, in one run so their ratios share the machine's load:
- explore: schedule seeds per minute of `altsim explore` (the same `explore()` the command
  calls, worker processes started included) on reschedule-once and last-slot-race;
- builds/s of the end-to-end workload (benchmarks.end_to_end: 2,000 instances, 1,000 hosts in
  2 cells, 100 in flight) deterministic against real-time embedded, the two modes alternated
  run by run. Both are timed the same way, on the wall clock, from the first request to the
  report (the workload phase); the deterministic report's own builds_per_s covers the whole
  run, deployment included, so it is recorded apart;
- simulated against wall time on build-timeout.yaml: the report's simulated duration over the
  wall time of the workload phase, and over the whole run.

Prints each run and the medians and writes them to benchmarks/results/deterministic.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from altsim_lab.deploy.deterministic import Determinism
from altsim_lab.explore.seeds import explore, group
from altsim_lab.scenario.runner import Progress, RunResult, run_scenario
from altsim_lab.scenario.schema import Scenario, load_scenario
from benchmarks import end_to_end

RESULTS = Path(__file__).parent / "results" / "deterministic.json"
SCENARIOS = Path(__file__).parents[1] / "etc" / "altsim" / "scenarios"
EXPLORED = ("reschedule-once", "last-slot-race")
GOAL_SEEDS_PER_MIN = 1000.0          # reschedule-once, --jobs 2
GOAL_BUILDS_RATIO = 1.0              # deterministic over real time: no slower
GOAL_SIM_OVER_WALL = 100.0           # build-timeout


def seeds_per_minute(name: str, seeds: int, jobs: int) -> dict[str, Any]:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    results = explore(scenario, range(1, seeds + 1), timeout_s=300.0, jobs=jobs)
    wall_s = time.perf_counter() - started
    # The workers' CPU (they are reaped when explore's pool shuts down): what the seeds cost
    # whatever share of the CPUs the machine's other load left them.
    cpu_s = _children_cpu_s() - cpu_before
    outcomes = group(results)
    entry = {"scenario": name, "seeds": seeds, "jobs": jobs, "wall_s": round(wall_s, 2),
             "seeds_per_min": round(60 * seeds / wall_s, 1), "outcomes": len(outcomes),
             "violated_seeds": sum(len(o.seeds) for o in outcomes if o.violations),
             "workers_cpu_s": round(cpu_s, 2),
             "cpu_ms_per_seed": round(1000 * cpu_s / seeds, 1) if jobs > 1 else None}
    print(f"explore {name}: {seeds} seeds in {wall_s:.1f} s with --jobs {jobs}: "
          f"{entry['seeds_per_min']:.0f} seeds/min, {len(outcomes)} outcomes; workers' CPU "
          f"{cpu_s:.1f} s ({entry['cpu_ms_per_seed']} ms a seed, worker start included)",
          flush=True)
    return entry


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(spec: Scenario, deterministic: bool) -> tuple[RunResult, dict[str, float]]:
    """One run and its wall times: `workload_s` from the first request to the report, `run_s`
    the whole run."""
    phases: dict[str, float] = {}
    hooks = Progress(on_phase=lambda phase: phases.setdefault(phase, time.perf_counter()))
    started = time.perf_counter()
    result = run_scenario(spec, timeout_s=600.0, progress=hooks,
                          deterministic=Determinism() if deterministic else None)
    run_s = time.perf_counter() - started
    problems = [*result.errors, *(c["check"] for c in result.report["expectations"]
                                  if not c["ok"])]
    if problems:
        raise SystemExit(f"{spec.name} ({'deterministic' if deterministic else 'real time'})"
                         f" failed: {problems}")
    workload_s = phases["collecting report"] - phases["running workload"]
    return result, {"workload_s": workload_s, "run_s": run_s}


def build_rates(instances: int, repeat: int) -> dict[str, Any]:
    spec = end_to_end.scenario(instances, 1000, 2, 0.0, 100)
    runs: dict[str, list[dict[str, Any]]] = {"real_time": [], "deterministic": []}
    for index in range(repeat):
        for mode in runs:  # alternated, so both modes see the same load over the run
            result, wall = timed_run(spec, mode == "deterministic")
            summary = result.report["summary"]
            entry = {"builds_per_s": round(summary["active"] / wall["workload_s"], 1),
                     "workload_s": round(wall["workload_s"], 2), "run_s": round(wall["run_s"], 2),
                     "report_builds_per_s": summary["builds_per_s"]}
            if mode == "deterministic":
                entry["steps"] = result.report["deterministic"]["steps"]
                entry["sim_time_s"] = summary["sim_time_s"]
            runs[mode].append(entry)
            print(f"{instances} instances, {mode} run {index + 1}: "
                  f"{entry['builds_per_s']:.1f} builds/s (workload {entry['workload_s']} s, "
                  f"whole run {entry['run_s']} s)", flush=True)
    medians = {mode: statistics.median(r["builds_per_s"] for r in entries)
               for mode, entries in runs.items()}
    return {"instances": instances, "runs": runs, "median_builds_per_s": medians,
            "ratio": round(medians["deterministic"] / medians["real_time"], 3)}


def sim_over_wall(repeat: int) -> dict[str, Any]:
    spec = load_scenario(SCENARIOS / "build-timeout.yaml")
    runs = []
    for _ in range(repeat):
        result, wall = timed_run(spec, deterministic=True)
        sim_s = result.report["summary"]["sim_time_s"]
        runs.append({"sim_time_s": sim_s, "workload_s": round(wall["workload_s"], 4),
                     "run_s": round(wall["run_s"], 3)})
    workload = statistics.median(r["workload_s"] for r in runs)
    whole = statistics.median(r["run_s"] for r in runs)
    sim_s = runs[0]["sim_time_s"]
    entry = {"scenario": "build-timeout", "runs": runs, "sim_time_s": sim_s,
             "median_workload_s": workload, "median_run_s": whole,
             "sim_over_workload_wall": round(sim_s / workload, 1),
             "sim_over_run_wall": round(sim_s / whole, 1)}
    print(f"build-timeout: {sim_s} s simulated; workload {workload * 1000:.0f} ms of wall "
          f"time ({entry['sim_over_workload_wall']}:1), whole run {whole:.2f} s "
          f"({entry['sim_over_run_wall']}:1)", flush=True)
    return entry


def _verdict(value: float, goal: float) -> str:
    return "meets" if value >= goal else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=300, help="schedule seeds per scenario")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode, 2,000 instances")
    parser.add_argument("--timeout-repeat", type=int, default=10,
                        help="runs of build-timeout")
    parser.add_argument("--instances", type=int, default=2000)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.CRITICAL)  # the scenarios fail builds on purpose
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("explore", lambda: [seeds_per_minute(name, args.seeds, args.jobs)
                             for name in EXPLORED]),
        ("build_rate", lambda: build_rates(args.instances, args.repeat)),
        ("sim_over_wall", lambda: sim_over_wall(args.timeout_repeat))]
    results = {name: measure() for name, measure in steps}
    explored = results["explore"][0]["seeds_per_min"]
    print(f"explore reschedule-once: {explored:.0f} seeds/min, "
          f"{_verdict(explored, GOAL_SEEDS_PER_MIN)} the goal of {GOAL_SEEDS_PER_MIN:.0f}")
    ratio = results["build_rate"]["ratio"]
    print(f"builds/s deterministic over real time: {ratio:.2f}, "
          f"{_verdict(ratio, GOAL_BUILDS_RATIO)} the goal of {GOAL_BUILDS_RATIO:.0f}")
    sim = results["sim_over_wall"]["sim_over_workload_wall"]
    print(f"build-timeout simulated over wall time: {sim:.0f}:1, "
          f"{_verdict(sim, GOAL_SIM_OVER_WALL)} the goal of {GOAL_SIM_OVER_WALL:.0f}:1")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "deterministic", "date": time.strftime("%Y-%m-%d"),
        "machine": {"node": platform.node(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "params": vars(args),
        "goals": {"seeds_per_min": GOAL_SEEDS_PER_MIN, "builds_ratio": GOAL_BUILDS_RATIO,
                  "sim_over_wall": GOAL_SIM_OVER_WALL},
        **results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
