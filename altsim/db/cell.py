"""A cell database as the cell's services use it: compute nodes, instances, faults, actions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from altsim.db import cell_schema as t
from altsim.db.engine import get_engine
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


class CellDatabase:
    """Queries and writes of one cell's database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)

    def sync(self) -> None:
        t.metadata.create_all(self.engine)

    # compute nodes
    def register_compute_node(self, node_uuid: str, host: str) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(t.compute_nodes.c.uuid)
                                 .where(t.compute_nodes.c.uuid == node_uuid)).first()
            if found is None:
                conn.execute(t.compute_nodes.insert().values(
                    uuid=node_uuid, host=host, hypervisor_hostname=host, disabled=False,
                    failed_builds=0, updated_at=now))
            else:
                conn.execute(t.compute_nodes.update().where(t.compute_nodes.c.uuid == node_uuid)
                             .values(updated_at=now))

    def list_compute_nodes(self) -> list[ComputeNode]:
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.compute_nodes).order_by(t.compute_nodes.c.host))
            return [ComputeNode(**row._mapping) for row in rows]

    def heartbeat(self, node_uuids: list[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.compute_nodes.update().where(t.compute_nodes.c.uuid.in_(node_uuids))
                         .values(updated_at=time.time()))

    def record_build_result(self, node_uuid: str, failed: bool) -> None:
        """Nova's failed_builds counter: +1 on a failed or rescheduled build, 0 on success."""
        column = t.compute_nodes.c.failed_builds
        with self.engine.begin() as conn:
            conn.execute(t.compute_nodes.update().where(t.compute_nodes.c.uuid == node_uuid)
                         .values(failed_builds=column + 1 if failed else 0))

    # instances
    def create_instance(self, instance: Instance) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(t.instances.insert().values(
                uuid=instance.uuid, name=instance.name, project_id=instance.project_id,
                user_id=instance.user_id, flavor=instance.flavor.model_dump(mode="json"),
                host=instance.host, node=instance.node,
                availability_zone=instance.availability_zone,
                vm_state=instance.vm_state.value, task_state=instance.task_state,
                created_at=now, updated_at=now))

    def update_instance(self, instance_uuid: str, **values: Any) -> None:
        values["updated_at"] = time.time()
        with self.engine.begin() as conn:
            result = conn.execute(t.instances.update()
                                  .where(t.instances.c.uuid == instance_uuid).values(**values))
        if result.rowcount == 0:
            raise InstanceNotFound(f"instance {instance_uuid} is not in this cell")

    def get_instance_row(self, instance_uuid: str) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.instances)
                               .where(t.instances.c.uuid == instance_uuid)).first()
        if row is None:
            raise InstanceNotFound(f"instance {instance_uuid} is not in this cell")
        return dict(row._mapping)

    def list_instance_rows(self) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t.instances))]

    def set_error(self, instance_uuid: str, fault: Fault) -> None:
        """vm_state error, task_state None and a fault, in one transaction."""
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(t.instances.update().where(t.instances.c.uuid == instance_uuid)
                         .values(vm_state="error", task_state=None, updated_at=now))
            conn.execute(t.instance_faults.insert().values(
                instance_uuid=instance_uuid, code=fault.code, message=fault.message,
                details=fault.details, created_at=now))

    def list_faults(self) -> dict[str, Fault]:
        """The latest fault of each instance that has one."""
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.instance_faults).order_by(t.instance_faults.c.id))
            return {row.instance_uuid: Fault(code=row.code, message=row.message,
                                             details=row.details or "") for row in rows}

    # instance actions and their events
    def start_action(self, instance_uuid: str, request_id: str | None,
                     action: str = CREATE_ACTION) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.instance_actions.insert().values(
                instance_uuid=instance_uuid, action=action, request_id=request_id,
                start_time=time.time()))

    def add_event(self, instance_uuid: str, event: str, result: str, host: str | None = None,
                  reason: str | None = None, details: Any = None,
                  start_time: float | None = None, action: str = CREATE_ACTION) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            action_id = conn.execute(
                sa.select(t.instance_actions.c.id)
                .where(t.instance_actions.c.instance_uuid == instance_uuid,
                       t.instance_actions.c.action == action)
                .order_by(t.instance_actions.c.id.desc())).scalar()
            if action_id is None:
                raise InstanceNotFound(f"instance {instance_uuid} has no {action!r} action")
            conn.execute(t.instance_action_events.insert().values(
                action_id=action_id, event=event, host=host, result=result, reason=reason,
                details=details, start_time=start_time or now, finish_time=now))

    def list_events(self) -> dict[str, list[ActionEvent]]:
        """instance uuid -> its events, in the order they were recorded."""
        a, e = t.instance_actions, t.instance_action_events
        query = (sa.select(a.c.instance_uuid, e.c.event, e.c.host, e.c.result, e.c.reason,
                           e.c.details, e.c.start_time, e.c.finish_time)
                 .join(a, a.c.id == e.c.action_id).order_by(e.c.id))
        events: dict[str, list[ActionEvent]] = {}
        with self.engine.begin() as conn:
            for row in conn.execute(query):
                values = dict(row._mapping)
                events.setdefault(values.pop("instance_uuid"), []).append(ActionEvent(**values))
        return events
