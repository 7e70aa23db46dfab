"""A server as a test sees it: a view of one instance's entry in the run report.

Every field is read from the report's per-instance entry (altsim_lab.scenario.report), so a test
and `altsim run --report` never disagree on what a server's selection, attempts or fault were.
A Server is live: each field reads the cloud's current state (cached until something on the
buses moves), so `server.status` after `cloud.wait_for_state(server, ...)` is the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attempt:
    """One build attempt on one host: `result` is the compute's ("active", "rescheduled",
    "failed", "aborted", "timed_out"), `reason` the failure's text (None on success)."""

    host: str
    result: str
    reason: str | None = None

    @classmethod
    def of(cls, attempt: dict[str, Any]) -> Attempt:
        return cls(attempt["host"], attempt["result"], attempt.get("reason"))


class Server:
    """One server of a Cloud (as the dict `_build_server`/`_create_server` returns in Nova's
    functional tests, with the build path's story added)."""

    def __init__(self, name: str, uuid: str, entry: Callable[[str], dict[str, Any]]) -> None:
        self.name = name
        self.uuid = uuid
        self._entry = entry

    @property
    def entry(self) -> dict[str, Any]:
        """The report's whole entry for this server (every field of `altsim run --report`)."""
        return self._entry(self.name)

    @property
    def status(self) -> str:
        """BUILD, ACTIVE or ERROR, as the compute API shows it."""
        return str(self.entry["status"])

    @property
    def host(self) -> str | None:
        """Where it runs (OS-EXT-SRV-ATTR:host); None unless ACTIVE on a host."""
        return self.entry["host"]

    @property
    def cell(self) -> str | None:
        return self.entry["cell"]

    @property
    def selection(self) -> list[str]:
        """What the scheduler returned for it: the chosen host, then its alternates."""
        return list(self.entry["selection"])

    @property
    def attempts(self) -> list[Attempt]:
        """Its build attempts in order, each with `.host`, `.result`, `.reason`."""
        return [Attempt.of(a) for a in self.entry["attempts"]]

    @property
    def claim_failures(self) -> list[str]:
        """Hosts whose placement claim it lost (scheduler's first, then the conductors')."""
        return list(self.entry["claim_failures"])

    @property
    def fault(self) -> dict[str, Any] | None:
        """None, or the instance fault as the API shows it: {"message": ..., "code": ...}."""
        fault = self.entry["fault"]
        return None if fault is None else dict(fault)

    @property
    def allocations(self) -> dict[str, dict[str, int]]:
        """host -> resources it holds in placement (Nova's
        `_get_allocations_by_server_uuid`, keyed by host name instead of provider uuid)."""
        return {host: dict(resources) for host, resources in self.entry["allocations"].items()}

    def describe(self) -> str:
        """A few lines saying what happened to it: for failure output."""
        return describe_entry(self.entry)

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.uuid}>"


def describe_entry(entry: dict[str, Any]) -> str:
    """One server's status, selection, attempts, lost claims and fault, a line each."""
    lines = [f"{entry['name']} ({entry['uuid']}): {entry['status']}"
             + (f" on {entry['host']}" if entry.get("host") else "")]
    lines.append(f"  selection: {', '.join(entry['selection']) or '(none)'}")
    for number, attempt in enumerate(entry["attempts"], 1):
        reason = f": {attempt['reason']}" if attempt.get("reason") else ""
        lines.append(f"  attempt {number}: {attempt['host']} {attempt['result']}{reason}")
    if entry["claim_failures"]:
        lines.append(f"  claims lost on: {', '.join(entry['claim_failures'])}")
    if entry["fault"]:
        lines.append(f"  fault ({entry['fault']['code']}): {entry['fault']['message']}")
    return "\n".join(lines)
