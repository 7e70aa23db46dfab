"""A cell database as the cell's services use it: compute nodes, instances, faults, actions."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from altsim.db import cell_schema as t
from altsim.db.engine import Database
from altsim.objects import Fault, Instance

CREATE_ACTION = "create"


@dataclass(frozen=True)
class ComputeNode:
    uuid: str
    host: str
    hypervisor_hostname: str
    disabled: bool
    failed_builds: int
    updated_at: float


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


# Statements of the build path, built once: constructing a statement costs SQLAlchemy several
# times more than executing a prebuilt one with parameters.
_LIST_COMPUTE_NODES = sa.select(
    *(t.compute_nodes.c[name] for name in ComputeNode.__dataclass_fields__)
).order_by(t.compute_nodes.c.host)
_COMPUTE_NODE_ROWS_SQL = ("SELECT uuid, host, hypervisor_hostname, disabled, failed_builds, "
                          "updated_at FROM compute_nodes ORDER BY host")
_NODE = t.compute_nodes.c.uuid == sa.bindparam("b_node")
_NEXT_VERSION = t.compute_nodes.c.version + 1
_COUNT_FAILED_BUILD = t.compute_nodes.update().where(_NODE).values(
    failed_builds=t.compute_nodes.c.failed_builds + 1, version=_NEXT_VERSION)
# Only rows that had failures change: a success on a healthy host leaves the stamp alone.
_RESET_FAILED_BUILDS = t.compute_nodes.update().where(
    _NODE, t.compute_nodes.c.failed_builds != 0).values(failed_builds=0, version=_NEXT_VERSION)
_COMPUTE_NODES_STAMP_SQL = "SELECT COUNT(*), COALESCE(SUM(version), 0) FROM compute_nodes"
_INSERT_INSTANCE = t.instances.insert()
_INSERT_FAULT = t.instance_faults.insert()
_INSERT_ACTION = t.instance_actions.insert()
_SET_ERROR = (t.instances.update().where(t.instances.c.uuid == sa.bindparam("b_uuid"))
              .values(vm_state="error", task_state=None, updated_at=sa.bindparam("b_now")))
# The event joins the instance's latest action of its kind, found in the same statement.
_LATEST_ACTION = (sa.select(t.instance_actions.c.id)
                  .where(t.instance_actions.c.instance_uuid == sa.bindparam("b_uuid"),
                         t.instance_actions.c.action == sa.bindparam("b_action"))
                  .order_by(t.instance_actions.c.id.desc()).limit(1).scalar_subquery())
_INSERT_EVENT = t.instance_action_events.insert().values(
    action_id=_LATEST_ACTION, event=sa.bindparam("b_event"), host=sa.bindparam("b_host"),
    result=sa.bindparam("b_result"), reason=sa.bindparam("b_reason"),
    details=sa.bindparam("b_details", type_=t.instance_action_events.c.details.type),
    start_time=sa.bindparam("b_start"), finish_time=sa.bindparam("b_finish"))


@functools.lru_cache(maxsize=64)
def _update_instance_statement(columns: tuple[str, ...]) -> sa.Update:
    return (t.instances.update().where(t.instances.c.uuid == sa.bindparam("b_uuid"))
            .values({name: sa.bindparam(f"v_{name}") for name in columns}))


class CellDatabase(Database):
    """Queries and writes of one cell's database."""

    def sync(self) -> None:
        t.metadata.create_all(self.engine)

    # compute nodes
    def register_compute_node(self, node_uuid: str, host: str) -> None:
        now = time.time()
        with self.begin() as conn:
            found = conn.execute(sa.select(t.compute_nodes.c.uuid)
                                 .where(t.compute_nodes.c.uuid == node_uuid)).first()
            if found is None:
                conn.execute(t.compute_nodes.insert().values(
                    uuid=node_uuid, host=host, hypervisor_hostname=host, disabled=False,
                    failed_builds=0, updated_at=now, version=0))
            else:
                conn.execute(t.compute_nodes.update().where(t.compute_nodes.c.uuid == node_uuid)
                             .values(updated_at=now, version=_NEXT_VERSION))

    def list_compute_nodes(self) -> list[ComputeNode]:
        # The scheduler reads this on every request: a prebuilt statement and positional rows.
        with self.read() as conn:
            return [ComputeNode(*row) for row in conn.execute(_LIST_COMPUTE_NODES)]

    def compute_node_rows(self, unless_stamp: tuple[int, int] | None = None,
                          ) -> tuple[tuple[int, int], list[tuple] | None]:
        """The change stamp of the compute nodes and, unless it equals `unless_stamp`, their
        rows: (uuid, host, hypervisor_hostname, disabled, failed_builds, updated_at) by host.

        The scheduler reads this on every request; when nothing changed since its last read
        (the stamp is the same) it keeps what it has and skips reading every row again.
        """
        with self.read() as conn:
            count, total = conn.exec_driver_sql(_COMPUTE_NODES_STAMP_SQL).one()
            stamp = (int(count), int(total))
            if stamp == unless_stamp:
                return stamp, None
            return stamp, [tuple(row) for row in conn.exec_driver_sql(_COMPUTE_NODE_ROWS_SQL)]

    def heartbeat(self, node_uuids: list[str]) -> None:
        with self.begin() as conn:
            conn.execute(t.compute_nodes.update().where(t.compute_nodes.c.uuid.in_(node_uuids))
                         .values(updated_at=time.time(), version=_NEXT_VERSION))

    def record_build_result(self, node_uuid: str, failed: bool,
                            conn: sa.Connection | None = None) -> None:
        """Nova's failed_builds counter: +1 on a failed or rescheduled build, 0 on success."""
        with self.joined(conn) as conn:
            conn.execute(_COUNT_FAILED_BUILD if failed else _RESET_FAILED_BUILDS,
                         {"b_node": node_uuid})

    # instances
    def create_instance(self, instance: Instance,
                        conn: sa.Connection | None = None) -> None:
        now = time.time()
        with self.joined(conn) as conn:
            conn.execute(_INSERT_INSTANCE, {
                "uuid": instance.uuid, "name": instance.name, "project_id": instance.project_id,
                "user_id": instance.user_id, "flavor": instance.flavor.model_dump(mode="json"),
                "host": instance.host, "node": instance.node,
                "availability_zone": instance.availability_zone,
                "vm_state": instance.vm_state.value, "task_state": instance.task_state,
                "created_at": now, "updated_at": now, "launched_at": None})

    def update_instance(self, instance_uuid: str, conn: sa.Connection | None = None,
                        **values: Any) -> None:
        values["updated_at"] = time.time()
        statement = _update_instance_statement(tuple(sorted(values)))
        params = {f"v_{name}": value for name, value in values.items()}
        params["b_uuid"] = instance_uuid
        with self.joined(conn) as conn:
            result = conn.execute(statement, params)
        if result.rowcount == 0:
            raise InstanceNotFound(f"instance {instance_uuid} is not in this cell")

    def get_instance_row(self, instance_uuid: str) -> dict[str, Any]:
        with self.read() as conn:
            row = conn.execute(sa.select(t.instances)
                               .where(t.instances.c.uuid == instance_uuid)).first()
        if row is None:
            raise InstanceNotFound(f"instance {instance_uuid} is not in this cell")
        return dict(row._mapping)

    def list_instance_rows(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t.instances))]

    def set_error(self, instance_uuid: str, fault: Fault,
                  conn: sa.Connection | None = None) -> None:
        """vm_state error, task_state None and a fault, in one transaction."""
        now = time.time()
        with self.joined(conn) as conn:
            conn.execute(_SET_ERROR, {"b_uuid": instance_uuid, "b_now": now})
            conn.execute(_INSERT_FAULT, {"instance_uuid": instance_uuid, "code": fault.code,
                                         "message": fault.message, "details": fault.details,
                                         "created_at": now})

    def list_faults(self) -> dict[str, Fault]:
        """The latest fault of each instance that has one."""
        with self.read() as conn:
            rows = conn.execute(sa.select(t.instance_faults).order_by(t.instance_faults.c.id))
            return {row.instance_uuid: Fault(code=row.code, message=row.message,
                                             details=row.details or "") for row in rows}

    # instance actions and their events
    def start_action(self, instance_uuid: str, request_id: str | None,
                     action: str = CREATE_ACTION,
                     conn: sa.Connection | None = None) -> None:
        with self.joined(conn) as conn:
            conn.execute(_INSERT_ACTION, {"instance_uuid": instance_uuid, "action": action,
                                          "request_id": request_id, "start_time": time.time(),
                                          "message": None})

    def add_event(self, instance_uuid: str, event: str, result: str, host: str | None = None,
                  reason: str | None = None, details: Any = None,
                  start_time: float | None = None, action: str = CREATE_ACTION,
                  conn: sa.Connection | None = None) -> None:
        now = time.time()
        try:
            with self.joined(conn) as conn:
                conn.execute(_INSERT_EVENT, {
                    "b_uuid": instance_uuid, "b_action": action, "b_event": event,
                    "b_host": host, "b_result": result, "b_reason": reason,
                    "b_details": details, "b_start": start_time or now, "b_finish": now})
        except sa.exc.IntegrityError:  # no such action: action_id came out NULL
            raise InstanceNotFound(
                f"instance {instance_uuid} has no {action!r} action") from None

    def list_events(self) -> dict[str, list[ActionEvent]]:
        """instance uuid -> its events, in the order they were recorded."""
        a, e = t.instance_actions, t.instance_action_events
        query = (sa.select(a.c.instance_uuid, e.c.event, e.c.host, e.c.result, e.c.reason,
                           e.c.details, e.c.start_time, e.c.finish_time)
                 .join(a, a.c.id == e.c.action_id).order_by(e.c.id))
        events: dict[str, list[ActionEvent]] = {}
        with self.read() as conn:
            for row in conn.execute(query):
                values = dict(row._mapping)
                events.setdefault(values.pop("instance_uuid"), []).append(ActionEvent(**values))
        return events
