"""A cell database as the cell's services use it: compute nodes, instances, faults, actions."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from altsim import runtime
from altsim.db import cell_schema as t
from altsim.db.engine import Database, Transaction
from altsim.objects import Fault, Instance

CREATE_ACTION = "create"


class ComputeNodeRow(NamedTuple):
    """A compute node as read from the cell database: by the scheduler on every request
    (compute_node_rows), and by host discovery, the build-timeout sweeper and the lab
    (list_compute_nodes). A tuple, cheap to make by the thousand, with its fields named."""

    uuid: str
    host: str
    hypervisor_hostname: str
    disabled: bool
    failed_builds: int
    updated_at: float
    resources: str | None        # JSON text: capacity per resource class, as reported
    resources_used: str | None   # JSON text: what the node's own tracker counts as used


@dataclass(frozen=True)
class ActionEvent:
    event: str
    host: str | None
    result: str
    reason: str | None
    details: Any
    start_time: float
    finish_time: float | None


class InstanceNotFound(LookupError):
    pass


class UnexpectedVmStateError(LookupError):
    """An update made only in a given vm_state found the instance in another (Nova's
    UnexpectedTaskStateError, for vm_state): e.g. a build that timed out meanwhile."""


@dataclass(frozen=True)
class StuckBuild:
    """An instance still building, as the build-timeout sweeper sees it."""

    uuid: str
    name: str
    created_at: float
    request_id: str | None


# Reads are plain SQL too (Database.select); values converted where drivers differ (SQLite
# gives booleans as 0/1 and JSON as text).
_INSTANCE_ROW_COLUMNS = tuple(c.name for c in t.instances.columns)
_LIST_INSTANCE_ROWS = f"SELECT {', '.join(_INSTANCE_ROW_COLUMNS)} FROM instances"
_LIST_FAULTS = ("SELECT instance_uuid, code, message, details FROM instance_faults "
                "ORDER BY id")
_LIST_EVENTS = ("SELECT a.instance_uuid, e.event, e.host, e.result, e.reason, e.details, "
                "e.start_time, e.finish_time FROM instance_actions_events e "
                "JOIN instance_actions a ON a.id = e.action_id")
# The columns in ComputeNodeRow's order: the row is made from them by position.
_COMPUTE_NODE_ROWS_SQL = (f"SELECT {', '.join(ComputeNodeRow._fields)} FROM compute_nodes "
                          "ORDER BY host")
_COMPUTE_NODES_STAMP_SQL = "SELECT COUNT(*), COALESCE(SUM(version), 0) FROM compute_nodes"
_VERSIONED_ROWS_SQL = (f"SELECT version, changed_at, {', '.join(ComputeNodeRow._fields)} "
                       "FROM compute_nodes ORDER BY host")
# In no order: ordered by host, SQLite would walk the host index over every row instead of
# the changed_at index over the few that changed.
_VERSIONED_ROWS_SQL_SINCE = _VERSIONED_ROWS_SQL.replace(" ORDER BY host",
                                                        " WHERE changed_at > :since")

# Writes are plain SQL with :name parameters (altsim.db.engine.Transaction).
_COUNT_FAILED_BUILD = ("UPDATE compute_nodes SET failed_builds = failed_builds + 1, "
                       "version = version + 1, changed_at = :now WHERE uuid = :node")
# Only rows that had failures change: a success on a healthy host leaves the stamp alone.
_RESET_FAILED_BUILDS = ("UPDATE compute_nodes SET failed_builds = 0, version = version + 1, "
                        "changed_at = :now WHERE uuid = :node AND failed_builds != 0")
_REPORT_USAGE = ("UPDATE compute_nodes SET resources_used = :used, version = version + 1, "
                 "changed_at = :now WHERE uuid = :node")
_REPORT_USAGE_AND_FAILURES = ("UPDATE compute_nodes SET resources_used = :used, "
                              "failed_builds = :failed, version = version + 1, "
                              "changed_at = :now WHERE uuid = :node")
_INSERT_INSTANCE = (
    "INSERT INTO instances (uuid, name, project_id, user_id, flavor, host, node, "
    "availability_zone, vm_state, task_state, created_at, updated_at, launched_at) VALUES "
    "(:uuid, :name, :project_id, :user_id, :flavor, :host, :node, :availability_zone, "
    ":vm_state, :task_state, :now, :now, NULL)")
_SET_ERROR = ("UPDATE instances SET vm_state = 'error', task_state = NULL, updated_at = :now "
              "WHERE uuid = :uuid")
# Only from the given state: the one statement decides a race between two writers (a build
# finishing and the build-timeout sweeper), whichever commits first wins and the other sees
# no row changed.
_SET_ERROR_IF = _SET_ERROR + " AND vm_state = :expected"
# Builds still going since before a cutoff, with the request id of their create action (so
# the sweeper's log lines and notification carry the build's own request id).
_LIST_STUCK_BUILDS = (
    "SELECT i.uuid, i.name, i.created_at, (SELECT a.request_id FROM instance_actions a "
    "WHERE a.instance_uuid = i.uuid AND a.action = 'create' ORDER BY a.id DESC LIMIT 1) "
    "FROM instances i WHERE i.vm_state = 'building' AND i.created_at < :cutoff "
    "ORDER BY i.created_at")
_INSERT_FAULT = ("INSERT INTO instance_faults (instance_uuid, code, message, details, "
                 "created_at) VALUES (:uuid, :code, :message, :details, :now)")
_INSERT_ACTION = ("INSERT INTO instance_actions (instance_uuid, action, request_id, start_time) "
                  "VALUES (:uuid, :action, :request_id, :now)")
# The event joins the instance's latest action of its kind, found in the same statement.
_INSERT_EVENT = (
    "INSERT INTO instance_actions_events (action_id, event, host, result, reason, details, "
    "start_time, finish_time) SELECT id, :event, :host, :result, :reason, :details, :start, "
    ":now FROM instance_actions WHERE instance_uuid = :uuid AND action = :action "
    "ORDER BY id DESC LIMIT 1")
# Nodes per heartbeat statement: far below any driver's limit on bound parameters.
_HEARTBEAT_CHUNK = 500
_INSTANCE_COLUMNS = frozenset(c.name for c in t.instances.columns) - {"uuid"}


def _json(value: Any) -> Any:
    """A JSON column: text on SQLite (None stays None), already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _compute_node_rows(rows: list[tuple]) -> list[ComputeNodeRow]:
    """Rows of ComputeNodeRow's columns, read in its order, as ComputeNodeRows."""
    return [ComputeNodeRow(uuid, host, node, bool(disabled), failed, updated, resources, used)
            for uuid, host, node, disabled, failed, updated, resources, used in rows]


def _stamp(rows: list[tuple]) -> tuple[int, int]:
    (count, total), = rows
    return int(count), int(total)


@functools.lru_cache(maxsize=64)
def _update_instance_sql(columns: tuple[str, ...], conditional: bool = False) -> str:
    # Column names come from _INSTANCE_COLUMNS only (checked by the caller), never from input.
    assignments = ", ".join(f"{name} = :v_{name}" for name in columns)
    condition = " AND vm_state = :expected" if conditional else ""
    return f"UPDATE instances SET {assignments} WHERE uuid = :uuid{condition}"


class CellDatabase(Database):
    """Queries and writes of one cell's database."""

    def sync(self) -> None:
        t.metadata.create_all(self.engine)
        # A cell DB made before compute nodes reported their resources lacks their columns.
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("compute_nodes")}
        with self.engine.begin() as conn:
            for name, kind in (("resources", "TEXT"), ("resources_used", "TEXT"),
                               ("changed_at", "FLOAT")):
                if name not in present:
                    conn.execute(sa.text(f"ALTER TABLE compute_nodes ADD COLUMN {name} {kind}"))
            if "changed_at" not in present:
                conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_compute_nodes_changed_at "
                                     "ON compute_nodes (changed_at)"))

    # compute nodes
    def register_compute_node(self, node_uuid: str, host: str,
                              capacity: dict[str, int] | None = None) -> None:
        """A compute reporting for duty with its capacity per resource class and nothing
        used: a (re)started compute's tracker starts empty, as it counts failures afresh."""
        self.register_compute_nodes([(node_uuid, host, capacity)])

    def register_compute_nodes(self, nodes: list[tuple[str, str, dict[str, int] | None]]
                               ) -> None:
        """register_compute_node for many (uuid, host, capacity) in one transaction: a
        compute process starting thousands of hosts commits once."""
        with self.begin() as tx:
            now = runtime.time()  # in the transaction: see compute_node_changes
            for node_uuid, host, capacity in nodes:
                capacity = capacity or {}
                params = {"uuid": node_uuid, "host": host, "now": now,
                          "resources": json.dumps(capacity),
                          "used": json.dumps(dict.fromkeys(capacity, 0))}
                tx.execute("DELETE FROM resource_claims WHERE node_uuid = :uuid", params)
                if not tx.execute("UPDATE compute_nodes SET updated_at = :now, "
                                  "failed_builds = 0, resources = :resources, "
                                  "resources_used = :used, version = version + 1, "
                                  "changed_at = :now WHERE uuid = :uuid", params):
                    tx.execute("INSERT INTO compute_nodes (uuid, host, hypervisor_hostname, "
                               "disabled, failed_builds, updated_at, version, changed_at, "
                               "resources, resources_used) VALUES (:uuid, :host, :host, "
                               ":disabled, 0, :now, 0, :now, :resources, :used)",
                               {**params, "disabled": False})

    def record_resource_claim(self, node_uuid: str, instance_uuid: str,
                              resources: dict[str, int] | None, used: dict[str, int],
                              conn: Transaction | None = None,
                              failed_builds: int | None = None) -> None:
        """A tracker's claim (resources) or release (None), with the node's usage after it
        (and its failed builds, when the tracker keeps them): report_node_usage."""
        with self.joined(conn) as tx:
            if resources is None:
                tx.execute("DELETE FROM resource_claims WHERE instance_uuid = :instance",
                           {"instance": instance_uuid})
            else:
                tx.execute("INSERT INTO resource_claims (instance_uuid, node_uuid, resources) "
                           "VALUES (:instance, :node, :resources)",
                           {"instance": instance_uuid, "node": node_uuid,
                            "resources": json.dumps(resources)})
            self.report_node_usage(node_uuid, used, failed_builds, conn=tx)

    def report_node_usage(self, node_uuid: str, used: dict[str, int],
                          failed_builds: int | None = None,
                          conn: Transaction | None = None) -> None:
        """A compute's resource tracker writing its node's row (Nova's ResourceTracker
        ._update): the usage, and failed_builds unless None (the compute then writes it with
        each build's outcome, record_build_result). The change moves the compute nodes'
        stamp, so the scheduler sees it."""
        params = {"node": node_uuid, "used": json.dumps(used), "failed": failed_builds}
        with self.joined(conn) as tx:
            tx.execute(_REPORT_USAGE if failed_builds is None else _REPORT_USAGE_AND_FAILURES,
                       {**params, "now": runtime.time()})

    def list_resource_claims(self) -> dict[str, tuple[str, dict[str, int]]]:
        """instance uuid -> (node uuid, resources) of every tracker claim in this cell."""
        rows = self.raw_queries("SELECT instance_uuid, node_uuid, resources "
                                "FROM resource_claims")[0]
        return {instance: (node, json.loads(resources)) for instance, node, resources in rows}

    def list_compute_nodes(self) -> list[ComputeNodeRow]:
        """Every compute node, by host (compute_node_rows without the stamp)."""
        return _compute_node_rows(self.select(_COMPUTE_NODE_ROWS_SQL))

    def compute_node_rows(self, unless_stamp: tuple[int, int] | None = None,
                          ) -> tuple[tuple[int, int], list[ComputeNodeRow] | None]:
        """The change stamp of the compute nodes and, unless it equals `unless_stamp`, their
        rows by host, the resources left as JSON text (or None) for the caller to decode,
        since most callers never look at them.

        The scheduler reads this on every request; when nothing changed since its last read
        (the stamp is the same) it keeps what it has and skips reading every row again.
        """
        (count, total), = self.raw_queries(_COMPUTE_NODES_STAMP_SQL)[0]
        stamp = (int(count), int(total))
        if stamp == unless_stamp:
            return stamp, None
        # Rows read after the stamp can only be newer than it: the next call then sees a
        # different stamp and reads again, which is safe.
        return stamp, _compute_node_rows(self.raw_queries(_COMPUTE_NODE_ROWS_SQL)[0])

    def compute_node_changes(self, unless_stamp: tuple[int, int] | None,
                             since: float | None,
                             ) -> tuple[tuple[int, int],
                                        list[tuple[int, float | None, ComputeNodeRow]] | None]:
        """The change stamp of the compute nodes and, unless it equals `unless_stamp`, the
        rows changed after `since` (a changed_at; None: every row, by host), each as
        (version, changed_at, row) with the row as compute_node_rows gives it, all read in
        one snapshot.

        A reader that keeps every row it read can so read only what changed: applied to what
        it holds, the rows' count and the sum of their versions equal the stamp exactly when
        it missed nothing (versions only grow), and it reads every row otherwise. Writers take
        changed_at inside their transaction, so with SQLite, whose writers take turns, a row
        committed later is never stamped earlier; with concurrent writers (PostgreSQL) one
        can be, and the check catches it.
        """
        queries = [(_COMPUTE_NODES_STAMP_SQL, {})]
        if since is None:
            queries.append((_VERSIONED_ROWS_SQL, {}))
        else:
            queries.append((_VERSIONED_ROWS_SQL_SINCE, {"since": since}))
        stamp_rows, rows = self.snapshot_queries(
            *queries, stop=lambda results: _stamp(results[0]) == unless_stamp)
        stamp = _stamp(stamp_rows)
        if rows is None:
            return stamp, None
        return stamp, [(int(version), changed_at,
                        ComputeNodeRow(uuid, host, node, bool(disabled), failed, updated,
                                       resources, used))
                       for version, changed_at, uuid, host, node, disabled, failed, updated,
                       resources, used in rows]

    def heartbeat(self, node_uuids: list[str]) -> None:
        """Every node of `node_uuids` reported now: one statement per chunk of nodes, so a
        process beating for thousands of hosts stays cheap."""
        with self.begin() as tx:
            now = runtime.time()  # in the transaction: see compute_node_changes
            for start in range(0, len(node_uuids), _HEARTBEAT_CHUNK):
                chunk = node_uuids[start:start + _HEARTBEAT_CHUNK]
                names = [f"n{i}" for i in range(len(chunk))]
                tx.execute("UPDATE compute_nodes SET updated_at = :now, version = version + 1, "
                           f"changed_at = :now WHERE uuid IN "
                           f"({', '.join(':' + n for n in names)})",
                           {"now": now, **dict(zip(names, chunk, strict=True))})

    def record_build_result(self, node_uuid: str, failed: bool,
                            conn: Transaction | None = None) -> None:
        """Nova's failed_builds counter: +1 on a failed or rescheduled build, 0 on success,
        written with the build's outcome ([compute_sim] failed_builds_flush = immediate; by
        default the tracker flushes it, report_node_usage)."""
        with self.joined(conn) as tx:
            tx.execute(_COUNT_FAILED_BUILD if failed else _RESET_FAILED_BUILDS,
                       {"node": node_uuid, "now": runtime.time()})

    # instances
    def create_instance(self, instance: Instance,
                        conn: Transaction | None = None) -> None:
        with self.joined(conn) as tx:
            tx.execute(_INSERT_INSTANCE, {
                "uuid": instance.uuid, "name": instance.name, "project_id": instance.project_id,
                "user_id": instance.user_id, "flavor": instance.flavor.model_dump_json(),
                "host": instance.host, "node": instance.node,
                "availability_zone": instance.availability_zone,
                "vm_state": instance.vm_state.value, "task_state": instance.task_state,
                "now": runtime.time()})

    def update_instance(self, instance_uuid: str, conn: Transaction | None = None,
                        expected_vm_state: str | None = None, **values: Any) -> None:
        """Set columns of one instance; with `expected_vm_state`, only if it is still in that
        state (UnexpectedVmStateError otherwise, and nothing is written)."""
        values["updated_at"] = runtime.time()
        unknown = set(values) - _INSTANCE_COLUMNS
        if unknown:
            raise ValueError(f"instances has no column(s) {sorted(unknown)}")
        params = {f"v_{name}": value for name, value in values.items()}
        params["uuid"] = instance_uuid
        params["expected"] = expected_vm_state
        sql = _update_instance_sql(tuple(sorted(values)), expected_vm_state is not None)
        with self.joined(conn) as tx:
            changed = tx.execute(sql, params)
        if changed == 0 and expected_vm_state is not None:
            raise UnexpectedVmStateError(f"instance {instance_uuid} is no longer "
                                         f"{expected_vm_state} (or not in this cell)")
        if changed == 0:
            raise InstanceNotFound(f"instance {instance_uuid} is not in this cell")

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """One parameterised SELECT on a pooled DBAPI connection, no write lock taken."""
        with self._raw_transaction("") as tx:
            return tx.query(sql, params)

    def list_instance_rows(self) -> list[dict[str, Any]]:
        flavor = _INSTANCE_ROW_COLUMNS.index("flavor")
        rows = []
        for values in self.select(_LIST_INSTANCE_ROWS):
            row = dict(zip(_INSTANCE_ROW_COLUMNS, values, strict=True))
            row["flavor"] = _json(values[flavor])
            rows.append(row)
        return rows

    def set_error(self, instance_uuid: str, fault: Fault,
                  conn: Transaction | None = None,
                  expected_vm_state: str | None = None) -> bool:
        """vm_state error, task_state None and a fault, in one transaction. With
        `expected_vm_state`, only if the instance is still in that state: False (and no
        fault written) when it is not, so that of two racing writers only one acts."""
        now = runtime.time()
        with self.joined(conn) as tx:
            if expected_vm_state is None:
                tx.execute(_SET_ERROR, {"uuid": instance_uuid, "now": now})
            elif not tx.execute(_SET_ERROR_IF, {"uuid": instance_uuid, "now": now,
                                                "expected": expected_vm_state}):
                return False
            tx.execute(_INSERT_FAULT, {"uuid": instance_uuid, "code": fault.code,
                                       "message": fault.message, "details": fault.details,
                                       "now": now})
        return True

    def list_stuck_builds(self, created_before: float) -> list[StuckBuild]:
        """Instances still building that were created before `created_before` (time.time()),
        oldest first."""
        rows = self._query(_LIST_STUCK_BUILDS, {"cutoff": created_before})
        return [StuckBuild(uuid, name, float(created), request_id)
                for uuid, name, created, request_id in rows]

    def list_faults(self) -> dict[str, Fault]:
        """The latest fault of each instance that has one."""
        return {uuid: Fault(code=code, message=message, details=details or "")
                for uuid, code, message, details in self.select(_LIST_FAULTS)}

    # instance actions and their events
    def start_action(self, instance_uuid: str, request_id: str | None,
                     action: str = CREATE_ACTION,
                     conn: Transaction | None = None) -> None:
        with self.joined(conn) as tx:
            tx.execute(_INSERT_ACTION, {"uuid": instance_uuid, "action": action,
                                        "request_id": request_id, "now": runtime.time()})

    def add_event(self, instance_uuid: str, event: str, result: str, host: str | None = None,
                  reason: str | None = None, details: Any = None,
                  start_time: float | None = None, action: str = CREATE_ACTION,
                  conn: Transaction | None = None) -> None:
        now = runtime.time()
        with self.joined(conn) as tx:
            inserted = tx.execute(_INSERT_EVENT, {
                "uuid": instance_uuid, "action": action, "event": event, "host": host,
                "result": result, "reason": reason,
                "details": None if details is None else json.dumps(details),
                "start": start_time or now, "now": now})
        if inserted == 0:  # the SELECT found no action to attach the event to
            raise InstanceNotFound(f"instance {instance_uuid} has no {action!r} action")

    def list_events(self, instance_uuid: str | None = None) -> dict[str, list[ActionEvent]]:
        """instance uuid -> its events (of one instance when given), in the order recorded."""
        if instance_uuid is None:
            rows = self.select(_LIST_EVENTS + " ORDER BY e.id")
        else:
            rows = self.select(_LIST_EVENTS + " WHERE a.instance_uuid = :uuid ORDER BY e.id",
                               {"uuid": instance_uuid})
        events: dict[str, list[ActionEvent]] = {}
        for uuid, event, host, result, reason, details, start_time, finish_time in rows:
            events.setdefault(uuid, []).append(ActionEvent(
                event, host, result, reason, _json(details), start_time, finish_time))
        return events
