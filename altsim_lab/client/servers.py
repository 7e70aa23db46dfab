"""Servers of a running deployment, as nova-api would show them: list, find, events, create.

A server is a BuildRequest in the API database until the super conductor puts it in a cell;
then its InstanceMapping names the cell and the cell database holds the instance, its fault and
its action events (the schedule, every claim a conductor lost, every build attempt, who gave
a failed attempt's resources back, and with legacy_retry each new scheduler answer).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from altsim.db.api import FlavorNotFound
from altsim.db.cell import ActionEvent
from altsim.events import (
    BUILD_EVENT,
    CLAIM_EVENT,
    COMPUTE_UNCLAIM_EVENT,
    CONDUCTOR_UNCLAIM_EVENT,
    SCHEDULE_EVENT,
    SELECT_EVENT,
)
from altsim.objects import server_status
from altsim_lab.client.connection import ClientError, Connection, InvalidClientInput
from altsim_lab.nova_api import submit_servers

# As a scenario's instances per run (altsim_lab.scenario.schema): far above what one
# deployment on one machine builds in reasonable time.
MAX_SERVERS_PER_REQUEST = 100_000
EVENT_NAMES = {SCHEDULE_EVENT: "schedule", CLAIM_EVENT: "claim", BUILD_EVENT: "build",
               COMPUTE_UNCLAIM_EVENT: "unclaim", CONDUCTOR_UNCLAIM_EVENT: "unclaim",
               SELECT_EVENT: "reselect"}


@dataclass(frozen=True)
class Server:
    id: str
    name: str
    status: str
    flavor: str
    cell_uuid: str | None = None
    host: str | None = None
    task_state: str | None = None
    created_at: float | None = None
    launched_at: float | None = None
    fault: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    number: int
    kind: str
    host: str | None
    result: str
    reason: str | None
    details: str | None
    start: float
    duration_s: float | None


def timestamp(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat(
        timespec="milliseconds")


def list_servers(connection: Connection) -> list[Server]:
    """Every server: those still building at the API level first, then each cell's."""
    servers = [Server(id=br.instance_uuid, name=br.name, status="BUILD", flavor=br.flavor.name,
                      task_state="scheduling")
               for br in connection.api_db.list_build_requests()]
    mapped = {uuid for uuid, cell in connection.api_db.instance_cells().items() if cell}
    for cell_uuid in connection.cells:
        cell_db = connection.cell_db(cell_uuid)
        faults = cell_db.list_faults()
        for row in cell_db.list_instance_rows():
            if row["uuid"] in mapped:
                servers.append(_from_row(cell_uuid, row, faults.get(row["uuid"])))
    servers.sort(key=lambda s: (s.created_at or float("inf"), s.name))
    return servers


def _from_row(cell_uuid: str, row: dict[str, Any], fault: Any) -> Server:
    flavor = row["flavor"]
    return Server(id=row["uuid"], name=row["name"],
                  status=server_status(row["vm_state"]),
                  flavor=flavor.get("name", "") if isinstance(flavor, dict) else str(flavor),
                  cell_uuid=cell_uuid, host=row["host"], task_state=row["task_state"],
                  created_at=row["created_at"], launched_at=row["launched_at"],
                  fault=fault.message if fault else None)


def find_server(connection: Connection, name_or_id: str) -> Server:
    """The one server with this uuid or name; an error names the others when it is ambiguous."""
    servers = list_servers(connection)
    for server in servers:
        if server.id == name_or_id:
            return server
    named = [s for s in servers if s.name == name_or_id]
    if not named:
        raise ClientError(f"no server with a name or ID of {name_or_id!r} exists")
    if len(named) > 1:
        raise ClientError(f"more than one server is named {name_or_id!r} "
                          f"({', '.join(s.id for s in named)}): give its ID")
    return named[0]


def server_events(connection: Connection, server: Server) -> list[Event]:
    """The server's action events in the order they happened (none while it is scheduling)."""
    if server.cell_uuid is None:
        return []
    events = connection.cell_db(server.cell_uuid).list_events(server.id).get(server.id, [])
    return [_event(number, event) for number, event in enumerate(events, start=1)]


def _event(number: int, event: ActionEvent) -> Event:
    details = None
    if isinstance(event.details, dict) and event.details.get("selection"):
        details = "selection: " + ", ".join(event.details["selection"])
    duration = (None if event.finish_time is None
                else round(event.finish_time - event.start_time, 3))
    return Event(number=number, kind=EVENT_NAMES.get(event.event, event.event), host=event.host,
                 result=event.result, reason=event.reason, details=details,
                 start=event.start_time, duration_s=duration)


def server_names(name: str, count: int) -> list[str]:
    """Nova's multi-create naming: one server keeps the name, several get name-1..name-N."""
    if not 1 <= count <= MAX_SERVERS_PER_REQUEST:
        raise InvalidClientInput(f"--count: must be from 1 to {MAX_SERVERS_PER_REQUEST}, "
                                 f"got {count}")
    return [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]


def create_servers(connection: Connection, name: str, flavor_name: str, count: int = 1,
                   num_alternates: int | None = None) -> list[str]:
    """Record one multi-create request in the API DB and cast it to the super conductor, as
    nova-api does; returns the new servers' IDs."""
    try:
        flavor = connection.api_db.get_flavor(flavor_name)
    except FlavorNotFound:
        known = ", ".join(f.name for f in connection.api_db.list_flavors()) or "none"
        raise InvalidClientInput(f"--flavor: no flavor named {flavor_name!r} "
                                 f"(known: {known})") from None
    uuids = {server_name: str(uuid.uuid4()) for server_name in server_names(name, count)}
    conductor_api = connection.conductor_api  # fails here, before the API DB is written
    submit_servers(connection.api_db, conductor_api, uuids, flavor, num_alternates)
    return list(uuids.values())


def wait_for(connection: Connection, ids: list[str], timeout_s: float,
             on_progress: Callable[[int], None] = lambda done: None,
             interval_s: float = 0.2) -> list[Server]:
    """Poll until every server is ACTIVE or ERROR (as `openstack server create --wait` does);
    raises ClientError naming the ones still building after timeout_s."""
    deadline = time.monotonic() + timeout_s
    wanted = set(ids)
    while True:
        servers = {s.id: s for s in list_servers(connection) if s.id in wanted}
        done = [s for s in servers.values() if s.status in ("ACTIVE", "ERROR")]
        on_progress(len(done))
        if len(done) == len(wanted):
            return [servers[i] for i in ids]
        if time.monotonic() > deadline:
            building = sorted(wanted - {s.id for s in done})
            raise ClientError(f"{len(building)} server(s) still building after "
                              f"{timeout_s:.0f} s: {', '.join(building)}")
        time.sleep(interval_s)
