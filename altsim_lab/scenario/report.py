"""The run report (`altsim run --report`; its fields are in the README), built from what the
services recorded.

Instances, attempts and failed claims come from the cell databases (instance rows, faults, action
events); usage and allocations from placement; the scheduler's lost claim races from its
select_destinations.end notification. Nothing here is inferred from what the runner expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from altsim.db.api import ApiDatabase
from altsim.db.cell import ActionEvent, CellDatabase
from altsim.events import (
    BUILD_EVENT,
    CLAIM_EVENT,
    COMPUTE_UNCLAIM_EVENT,
    CONDUCTOR_UNCLAIM_EVENT,
    SCHEDULE_EVENT,
    SELECT_EVENT,
    TIMEOUT_EVENT,
)
from altsim.masking import mask_text
from altsim.objects import CELL0_UUID, server_status
from altsim_lab.scenario.timing import percentile, since
from placement_sim.client import PlacementClient


@dataclass(frozen=True)
class RunFacts:
    """Everything the report is made from, gathered after the run."""

    scenario: str
    seed: int
    transport: str
    config: dict[str, Any]
    names_by_uuid: dict[str, str]
    instance_order: list[str]                # names in scenario order
    cell_names: dict[str, str]               # cell uuid -> name (cell0 included)
    host_cells: dict[str, str]               # host -> cell name
    scheduler_claim_failures: dict[str, list[str]]
    duration_s: float
    # Wall-clock times (time.time()) the report turns into seconds since `started_at`.
    started_at: float | None = None
    submitted_at: dict[str, float] = field(default_factory=dict)        # uuid -> request sent
    finished_at: dict[str, float] = field(default_factory=dict)         # uuid -> ACTIVE/ERROR
    scheduler_claim_failures_at: dict[str, float] = field(default_factory=dict)
    messages: int | None = None              # RPC casts and calls; None if not counted
    description: str = ""                    # the scenario's, in its own words
    # Who claims and unclaims in this run's config (build_path()), for readers of the report
    # who draw an instance's build path: the events record failures, not every claim made.
    build_path: dict[str, Any] = field(default_factory=dict)


def gather_instances(api_db: ApiDatabase, cell_dbs: dict[str, CellDatabase],
                     names_by_uuid: dict[str, str]) -> dict[str, dict[str, Any]]:
    """uuid -> {row, cell_uuid, events, fault} for every instance of this run."""
    found: dict[str, dict[str, Any]] = {}
    for cell_uuid, cell_db in cell_dbs.items():
        events, faults = cell_db.list_events(), cell_db.list_faults()
        for row in cell_db.list_instance_rows():
            if row["uuid"] in names_by_uuid:
                found[row["uuid"]] = {"row": row, "cell_uuid": cell_uuid,
                                      "events": events.get(row["uuid"], []),
                                      "fault": faults.get(row["uuid"])}
    return found


# Attempt results that count as a failed build of their host (Nova's FAILED and RESCHEDULED);
# a success resets the count; a spawn that ended after its build timed out counts neither way.
_FAILED_RESULTS = frozenset({"rescheduled", "failed", "aborted"})


def failed_build_counts(instances: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Each host's failed builds since its last success, as its compute counts them (Nova's
    resource tracker stats), from the attempts recorded, in the order they ended. The compute
    node row, which the scheduler reads, gets the count later by default ([compute_sim]
    failed_builds_flush), so the row can lag behind this."""
    attempts = sorted((event.finish_time or event.start_time, event.host, event.result)
                      for info in instances.values() for event in info["events"]
                      if event.event == BUILD_EVENT and event.host is not None)
    counts: dict[str, int] = {}
    for _, host, result in attempts:
        if result == "active":
            counts[host] = 0
        elif result in _FAILED_RESULTS:
            counts[host] = counts.get(host, 0) + 1
    return counts


def build_report(facts: RunFacts, instances: dict[str, dict[str, Any]],
                 placement: PlacementClient,
                 failed_builds: dict[str, int]) -> dict[str, Any]:
    # The run's providers only: a placement shared with others holds theirs too.
    providers = {p["name"]: p["uuid"] for p in placement.list_resource_providers()
                 if p["name"] in facts.host_cells}
    host_by_provider = {uuid: name for name, uuid in providers.items()}
    active_uuids = {uuid for uuid, info in instances.items()
                    if info["row"]["vm_state"] == "active"}
    uuid_by_name = {name: uuid for uuid, name in facts.names_by_uuid.items()}
    entries = [_instance_entry(facts, uuid_by_name[name], name,
                               instances.get(uuid_by_name[name]), placement, host_by_provider)
               for name in facts.instance_order if name in uuid_by_name]
    leaked = sum(1 for provider_uuid in providers.values()
                 for consumer in placement.get_provider_allocations(provider_uuid)
                 if consumer not in active_uuids)
    hosts = [{"name": host, "cell": facts.host_cells.get(host),
              "usage": placement.get_usages(providers[host]),
              "failed_builds": failed_builds.get(host, 0)}
             for host in sorted(providers)]
    return {"scenario": facts.scenario, "description": facts.description,
            "seed": facts.seed, "transport": facts.transport,
            "config": facts.config, "build_path": facts.build_path,
            "summary": _summary(entries, leaked, facts.duration_s, facts.messages),
            "instances": entries, "hosts": hosts, "expectations": []}


def _instance_entry(facts: RunFacts, uuid: str, name: str, info: dict[str, Any] | None,
                    placement: PlacementClient,
                    host_by_provider: dict[str, str]) -> dict[str, Any]:
    allocations = {host_by_provider.get(rp, rp): resources for rp, resources in
                   placement.get_allocations_for_consumer(uuid).items()}
    if info is None:  # never reached a cell: still a BuildRequest in the API DB
        return {"name": name, "uuid": uuid, "status": "BUILD", "host": None, "cell": None,
                "selection": [], "attempts": [], **_claim_failures(facts, uuid, []),
                "events": _events(facts, uuid, []),
                "fault": None, "timed_out": False, "allocations": allocations,
                **_times(facts, uuid, "BUILD")}
    row, events = info["row"], info["events"]
    fault = info["fault"]
    status = server_status(row["vm_state"])
    return {"name": name, "uuid": uuid, "status": status,
            "host": row["host"], "cell": facts.cell_names.get(info["cell_uuid"]),
            "selection": _selection(events), "attempts": _attempts(events, facts.started_at),
            **_claim_failures(facts, uuid, events), "events": _events(facts, uuid, events),
            "fault": None if fault is None else {"code": fault.code,
                                                 "message": mask_text(fault.message)},
            # The cell conductor's build-timeout sweep ended it (its event, not the fault text).
            "timed_out": any(e.event == TIMEOUT_EVENT for e in events),
            "allocations": allocations, **_times(facts, uuid, status)}


def _claim_failures(facts: RunFacts, uuid: str,
                    events: list[ActionEvent]) -> dict[str, list[Any]]:
    """The hosts whose claim was lost, the scheduler's first, and when (seconds since the
    run began: for the scheduler's, when its select_destinations.end was heard)."""
    in_scheduler = list(facts.scheduler_claim_failures.get(uuid, []))
    heard = since(facts.started_at, facts.scheduler_claim_failures_at.get(uuid))
    in_conductor = [e for e in events if e.event == CLAIM_EVENT]
    return {"claim_failures": in_scheduler + [e.host for e in in_conductor],
            "claim_failures_at_s": ([heard] * len(in_scheduler)
                                    + [since(facts.started_at, e.start_time)
                                       for e in in_conductor])}


def _times(facts: RunFacts, uuid: str, status: str) -> dict[str, float | None]:
    """When the request was sent and when the instance finished, in seconds since the run
    began, and for an ACTIVE instance the time between the two."""
    submitted = since(facts.started_at, facts.submitted_at.get(uuid))
    finished = since(facts.started_at, facts.finished_at.get(uuid))
    to_active = (since(facts.submitted_at.get(uuid), facts.finished_at.get(uuid))
                 if status == "ACTIVE" else None)
    return {"submitted_s": submitted, "finished_s": finished, "time_to_active_s": to_active}


def _selection(events: list[ActionEvent]) -> list[str]:
    for event in events:
        if event.event == SCHEDULE_EVENT and isinstance(event.details, dict):
            return list(event.details.get("selection", []))
    return []


def _attempts(events: list[ActionEvent], started_at: float | None) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = []
    reselected = False
    for number, event in enumerate(events):
        if (event.event in _UNCLAIMED_BY and event.result == "deleted" and attempts
                and attempts[-1]["host"] == event.host):
            attempts[-1]["unclaimed_by"] = _UNCLAIMED_BY[event.event]
        # legacy_retry: the next attempt's host came from a new select_destinations.
        reselected = reselected or (event.event == SELECT_EVENT and event.result == "success")
        if event.event == TIMEOUT_EVENT:
            hung = _hung_attempt(event, events[number - 1] if number else None, attempts,
                                 started_at)
            attempts.extend([hung] if hung else [])
        if event.event != BUILD_EVENT:
            continue
        attempt: dict[str, Any] = {"host": event.host, "result": event.result}
        if event.reason:
            attempt["reason"] = mask_text(event.reason)  # free text, e.g. from an exception
        attempt["duration_s"] = round((event.finish_time or event.start_time)
                                      - event.start_time, 6)
        attempt["start_s"] = since(started_at, event.start_time)
        if reselected:
            attempt["reselected"] = True
            reselected = False
        if (event.result == "timed_out" and attempts and attempts[-1]["host"] == event.host
                and attempts[-1].get("recorded_by") == "build_timeout"):
            attempts.pop()  # the compute answered after all, too late: its record is better
        attempts.append(attempt)
    return attempts


def _hung_attempt(timeout: ActionEvent, before: ActionEvent | None,
                  attempts: list[dict[str, Any]],
                  started_at: float | None) -> dict[str, Any] | None:
    """The spawn a build-timeout ended, on the host whose claim the build held: the compute
    recorded nothing (it hung, or has not answered yet), so the cell conductor's sweep is the
    record. It ran from the last event before it (its cast) to the sweep. None when the build
    was not on a host: it timed out while scheduling or between a failure and its reschedule."""
    if timeout.host is None or before is None or before.event == TIMEOUT_EVENT:
        return None
    if attempts and attempts[-1]["host"] == timeout.host:
        return None  # that host's attempt is over; the claim was not given back yet
    cast_at = before.finish_time or before.start_time
    building = (timeout.details or {}).get("building_s") if isinstance(timeout.details,
                                                                        dict) else None
    reason = "no answer from the compute: " + (timeout.reason or "build timed out")
    if building is not None:
        reason += f" after {building:g} s in BUILD"
    return {"host": timeout.host, "result": "timed_out", "reason": reason,
            "duration_s": round(max(timeout.start_time - cast_at, 0.0), 6),
            "start_s": since(started_at, cast_at), "recorded_by": "build_timeout"}


def _events(facts: RunFacts, uuid: str, events: list[ActionEvent]) -> list[dict[str, Any]]:
    """What happened to the instance, in order, each with the service that did it and a short
    `kind`: the scheduler's lost claims (from its notification) first, then the events its
    cell DB recorded. A build's `at_s` is when its spawn began, `duration_s` how long it took."""
    heard = since(facts.started_at, facts.scheduler_claim_failures_at.get(uuid))
    told: list[dict[str, Any]] = [
        {"at_s": heard, "actor": "scheduler", "kind": "claim", "event": SCHEDULER_CLAIM_EVENT,
         "host": host, "result": "failed", "reason": "claim failed in placement"}
        for host in facts.scheduler_claim_failures.get(uuid, [])]
    scheduled = False
    for event in events:
        scheduled = scheduled or event.event == SCHEDULE_EVENT
        actor, kind = _ACTORS.get(event.event, ("unknown", event.event))
        if event.event == CLAIM_EVENT and scheduled:
            actor = "cell_conductor"  # a reschedule's; before the schedule, the super's
        entry = {"at_s": since(facts.started_at, event.start_time), "actor": actor,
                 "kind": kind, "event": event.event, "host": event.host,
                 "result": event.result}
        if event.event == BUILD_EVENT and event.finish_time:
            entry["duration_s"] = round(event.finish_time - event.start_time, 6)
        if event.reason:
            entry["reason"] = mask_text(event.reason)
        if isinstance(event.details, dict) and event.details:
            entry["details"] = event.details
        told.append(entry)
    return told


# Not an action event: the scheduler tells its lost claims in select_destinations.end.
SCHEDULER_CLAIM_EVENT = "scheduler_claim_resources"


# Which service records each event, and its kind (as `altsim server event list` names them).
_ACTORS = {SCHEDULE_EVENT: ("super_conductor", "schedule"),
           CLAIM_EVENT: ("super_conductor", "claim"),
           BUILD_EVENT: ("compute", "build"), COMPUTE_UNCLAIM_EVENT: ("compute", "unclaim"),
           CONDUCTOR_UNCLAIM_EVENT: ("cell_conductor", "unclaim"),
           SELECT_EVENT: ("cell_conductor", "reselect"),
           TIMEOUT_EVENT: ("cell_conductor", "timeout")}


# Who gave a failed attempt's resources back before its reschedule ([conductor] unclaim_by).
_UNCLAIMED_BY = {COMPUTE_UNCLAIM_EVENT: "compute", CONDUCTOR_UNCLAIM_EVENT: "cell_conductor"}


def _summary(entries: list[dict[str, Any]], leaked: int, duration_s: float,
             messages: int | None) -> dict[str, Any]:
    def count(status: str) -> int:
        return sum(1 for e in entries if e["status"] == status)

    active = count("ACTIVE")
    to_active = [e["time_to_active_s"] for e in entries if e["time_to_active_s"] is not None]
    return {"instances": len(entries), "active": active, "error": count("ERROR"),
            "building": count("BUILD"),
            "timed_out": sum(1 for e in entries if e["timed_out"]),
            "reschedules": sum(1 for e in entries for a in e["attempts"]
                               if a["result"] == "rescheduled"),
            "claim_failures": sum(len(e["claim_failures"]) for e in entries),
            "leaked_allocations": leaked, "duration_s": round(duration_s, 3),
            "builds_per_s": round(active / duration_s, 2) if duration_s > 0 else 0.0,
            "time_to_active_p50_s": percentile(to_active, 50),
            "time_to_active_p95_s": percentile(to_active, 95),
            "messages": messages}


def report_json(report: dict[str, Any]) -> str:
    """The report as a file holds it (`--report`, and report.json of `--report-dir`)."""
    return json.dumps(report, indent=2) + "\n"


def cell_names(api_db: ApiDatabase) -> dict[str, str]:
    names = {cell.uuid: cell.name for cell in api_db.list_cells()}
    names.setdefault(CELL0_UUID, "cell0")
    return names
