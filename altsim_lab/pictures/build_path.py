"""One instance's build path as steps between services, from its entry in the run report.

The steps of a sequence diagram (altsim_lab.pictures.sequence draws them; `altsim show-run
--instance` prints them): the API's request, the scheduler's answer, every cast, claim and
unclaim, each spawn and how it ended, and who ended the build. Everything comes from the
entry's `events` (what the services recorded, each with its actor) and the report's
`build_path` (who claims: the events record the claims lost, not the ones made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API, SUPER, SCHEDULER = "API", "super conductor", "scheduler"
PLACEMENT, CELL = "placement", "cell conductor"
SERVICES = (API, SUPER, SCHEDULER, PLACEMENT, CELL)


@dataclass(frozen=True)
class Step:
    """A message from `source` to `target`, or a note on `source` (target None). `tone`:
    plain, ok (it worked), lost (a claim lost), fail (a failure), hung (no answer)."""

    source: str
    target: str | None
    text: str
    tone: str = "plain"
    at_s: float | None = None
    spent_s: float | None = None  # on a compute's first step after a cast: how long it took


@dataclass(frozen=True)
class BuildPath:
    name: str
    outcome: str
    lanes: list[str]        # the services, then every compute host in order of appearance
    steps: list[Step]


def build_path(report: dict[str, Any], name: str) -> BuildPath:
    """LookupError naming the instances there are when `name` is not one of them."""
    by_name = {entry["name"]: entry for entry in report["instances"]}
    if name not in by_name:
        known = ", ".join(list(by_name)[:10]) + (", ..." if len(by_name) > 10 else "")
        raise LookupError(f"no instance {name!r} in the report (instances: {known})")
    entry = by_name[name]
    if "events" not in entry:
        raise LookupError("the report has no events per instance: it was written by an "
                          "older altsim; run the scenario again")
    steps = _Walk(entry, report.get("build_path") or {}).steps()
    hosts = [lane for step in steps for lane in (step.source, step.target)
             if lane is not None and lane not in SERVICES]
    used = {lane for step in steps for lane in (step.source, step.target)}
    lanes = [lane for lane in SERVICES if lane in used] + list(dict.fromkeys(hosts))
    return BuildPath(name, outcome(entry), lanes, steps)


def seconds(value: float) -> str:
    """A duration as a reader wants it: 0.3 ms, 401 ms, 2.08 s."""
    if value >= 2:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def outcome(entry: dict[str, Any]) -> str:
    attempts = len(entry["attempts"])
    lost = len(entry.get("claim_failures", []))
    where = f" on {entry['host']}" if entry.get("host") else (
        f" in {entry['cell']}" if entry.get("cell") == "cell0" else "")
    text = f"{entry['status']}{where} after {attempts} attempt{'s' * (attempts != 1)}"
    text += f", {lost} lost claim{'s' * (lost != 1)}" if lost else ""
    return text + (" (build timed out)" if entry.get("timed_out") else "")


class _Walk:
    """Walks the entry's events once, turning each into its steps."""

    def __init__(self, entry: dict[str, Any], path: dict[str, Any]) -> None:
        self._entry = entry
        self._placement = path.get("placement", True)
        self._claims_by = path.get("claims_by", "scheduler")
        self._out: list[Step] = []
        self._cast_to: str | None = None     # the host the build was last sent to
        self._attempt = 0
        self._scheduler_claimed: str | None = None  # legacy_retry: claimed on reselecting
        self._ended = False                  # a note already says how the build ended

    def steps(self) -> list[Step]:
        entry, events = self._entry, self._entry["events"]
        self._add(API, SUPER, f"create {entry['name']}", at=entry.get("submitted_s"))
        self._add(SUPER, SCHEDULER, "select_destinations")
        for event in events:
            if event["actor"] == "scheduler":
                self._claim(SCHEDULER, event)
        self._answer(events)
        for number, event in enumerate(events):
            if event["actor"] != "scheduler":
                self._event(event, events[number + 1] if number + 1 < len(events) else None)
        self._end()
        return self._out

    def _add(self, source: str, target: str | None, text: str, tone: str = "plain",
             at: float | None = None, spent: float | None = None) -> None:
        self._out.append(Step(source, target, text, tone, at, spent))

    def _answer(self, events: list[dict[str, Any]]) -> None:
        """The scheduler's answer to the super conductor (and its claim of the host)."""
        schedule = next((e for e in events if e["kind"] == "schedule"), None)
        selection = self._entry.get("selection") or []
        if not selection:
            self._add(SCHEDULER, SUPER, "no valid host" if schedule else "no answer yet",
                      "fail")
            return
        if self._claims_by == "scheduler" and schedule and schedule["result"] == "success":
            self._add(SCHEDULER, PLACEMENT, f"claim {selection[0]}", "ok")
        alternates = ", ".join(selection[1:]) or "none"
        self._add(SCHEDULER, SUPER, f"{selection[0]}; alternates: {alternates}")

    def _claim(self, who: str, event: dict[str, Any]) -> None:
        self._add(who, PLACEMENT, f"claim {event['host']}: lost (placement refused it)",
                  "lost", event.get("at_s"))

    def _event(self, event: dict[str, Any], after: dict[str, Any] | None) -> None:
        kind, actor = event["kind"], event["actor"]
        if kind == "claim":
            self._claim(SUPER if actor == "super_conductor" else CELL, event)
        elif kind == "schedule":
            self._schedule(event)
        elif kind == "build":
            self._build(event, after)
        elif kind == "unclaim" and actor == "cell_conductor":
            self._add(CELL, PLACEMENT, f"unclaim {event['host']}" if event["result"] ==
                      "deleted" else "unclaim: nothing was held", at=event.get("at_s"))
        elif kind == "reselect":
            self._reselect(event)
        elif kind == "timeout":
            self._timeout(event)

    def _schedule(self, event: dict[str, Any]) -> None:
        if event["result"] != "success":
            self._add(SUPER, None, f"buries it in cell0: ERROR ({event.get('reason', '')})",
                      "fail", event.get("at_s"))
            self._ended = True
            return
        host = event["host"]
        if self._claims_by == "super_conductor":
            self._add(SUPER, PLACEMENT, f"claim {host}", "ok")
        self._cast(SUPER, host, event.get("at_s"))

    def _cast(self, source: str, host: str, at: float | None) -> None:
        self._attempt += 1
        self._cast_to = host
        self._add(source, host, f"build_and_run_instance (attempt {self._attempt}; "
                  f"alternates: {self._alternates_after(host)})", at=at)

    def _alternates_after(self, host: str) -> str:
        selection = self._entry.get("selection") or []
        rest = selection[selection.index(host) + 1:] if host in selection else []
        return ", ".join(rest) or "none"

    def _recast(self, host: str, at: float | None) -> None:
        """A reschedule's cast to the next host, with its claim (what no event records)."""
        if self._cast_to == host:
            return
        if self._placement and self._scheduler_claimed != host:
            self._add(CELL, PLACEMENT, f"claim {host}", "ok")
        self._cast(CELL, host, at)

    def _build(self, event: dict[str, Any], after: dict[str, Any] | None) -> None:
        host, result = event["host"], event["result"]
        reason = event.get("reason") or ""
        self._recast(host, event.get("at_s"))
        spent = event.get("duration_s")
        done = None if event.get("at_s") is None else event["at_s"] + (spent or 0.0)
        took = "" if spent is None else f" after {seconds(spent)}"
        if result == "active":
            self._add(host, None, f"ACTIVE (spawned in {seconds(spent or 0.0)})", "ok", done,
                      spent)
        elif result == "rescheduled":
            if after and after["kind"] == "unclaim" and after["actor"] == "compute":
                self._add(host, PLACEMENT, f"unclaim {host}", at=done, spent=spent)
                spent = None
            self._add(host, CELL, f"failed{took}: {reason}; reschedule", "fail", done, spent)
        elif result == "timed_out":
            self._add(host, None, f"answers{took}, after the build timed out ({reason}): "
                      "gives its resources back", "fail", done, spent)
        else:
            self._add(host, None, f"spawn {result}{took}: {reason}; ERROR", "fail", done,
                      spent)
            self._ended = True

    def _reselect(self, event: dict[str, Any]) -> None:
        details = event.get("details") or {}
        ignored = ", ".join(details.get("ignore_hosts", [])) or "none"
        self._add(CELL, SCHEDULER, f"select_destinations again, ignoring {ignored}",
                  at=event.get("at_s"))
        if event["result"] != "success":
            self._add(SCHEDULER, CELL, f"no host: {event.get('reason', '')}", "fail")
            return
        if self._claims_by == "scheduler":
            self._add(SCHEDULER, PLACEMENT, f"claim {event['host']}", "ok")
            self._scheduler_claimed = event["host"]
        self._add(SCHEDULER, CELL, str(event["host"]))

    def _timeout(self, event: dict[str, Any]) -> None:
        host = event.get("host")
        details = event.get("details") or {}
        hung = next((a for a in self._entry["attempts"] if a["host"] == host
                     and a.get("recorded_by") == "build_timeout"), None)
        if host and hung:
            self._recast(host, hung.get("start_s"))
            waited = hung.get("duration_s")
            self._add(host, None, "no answer" + (f" in {seconds(waited)}" if waited else "")
                      + ": the spawn hangs", "hung", event.get("at_s"), waited)
        building, limit = details.get("building_s"), details.get("build_timeout_s")
        past = f" ({building:g} s in BUILD, limit {limit:g} s)" if building and limit else ""
        self._add(CELL, None, f"build-timeout sweep ends it: ERROR{past}", "fail",
                  event.get("at_s"))
        if self._placement and host:
            self._add(CELL, PLACEMENT, f"delete the claim on {host}")
        self._ended = True

    def _end(self) -> None:
        status = self._entry["status"]
        if self._ended:
            return
        if status == "ERROR":
            fault = (self._entry.get("fault") or {}).get("message", "")
            self._add(CELL, None, f"gives up: ERROR ({fault})", "fail",
                      self._entry.get("finished_s"))
        elif status == "BUILD":
            self._add(self._cast_to or SUPER, None, "still in BUILD when the run ended",
                      "hung")
