"""Hosts and cells of a running deployment, for `altsim host list` and `altsim cell list`.

A host's cell comes from its host mapping, its failed_builds and last heartbeat from its cell's
compute_nodes row, and its usage and capacity from its resource provider in placement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from altsim.masking import mask_url
from altsim.objects import CELL0_UUID
from altsim_lab.client.connection import Connection


@dataclass(frozen=True)
class HostUsage:
    host: str
    cell: str
    used: dict[str, int]
    capacity: dict[str, int]
    failed_builds: int
    instances: int
    heartbeat_age_s: float | None

    def usage_text(self, resource_class: str) -> str:
        if resource_class not in self.capacity:
            return ""
        return f"{self.used.get(resource_class, 0)}/{self.capacity[resource_class]}"


@dataclass(frozen=True)
class CellInfo:
    name: str
    uuid: str
    transport_url: str
    database_connection: str
    hosts: int
    disabled: bool


def _capacity(record: dict) -> int:
    # What placement lets allocations reach: (total - reserved) * allocation_ratio.
    return int((record["total"] - record.get("reserved", 0))
               * record.get("allocation_ratio", 1.0))


def list_hosts(connection: Connection) -> list[HostUsage]:
    placement = connection.placement
    providers = {p["name"]: p["uuid"] for p in placement.list_resource_providers()}
    now = time.time()
    hosts = []
    for cell_uuid, cell in connection.cells.items():
        if cell_uuid == CELL0_UUID:
            continue  # cell0 has no computes
        cell_db = connection.cell_db(cell_uuid)
        running: dict[str, int] = {}
        for row in cell_db.list_instance_rows():
            if row["vm_state"] == "active" and row["host"]:
                running[row["host"]] = running.get(row["host"], 0) + 1
        for node in cell_db.list_compute_nodes():
            rp_uuid = providers.get(node.host)
            used: dict[str, int] = {}
            capacity: dict[str, int] = {}
            if rp_uuid is not None:
                used = placement.get_usages(rp_uuid)
                inventories = placement.get_inventories(rp_uuid)["inventories"]
                capacity = {rc: _capacity(record) for rc, record in inventories.items()}
            hosts.append(HostUsage(host=node.host, cell=cell.name, used=used, capacity=capacity,
                                   failed_builds=node.failed_builds,
                                   instances=running.get(node.host, 0),
                                   heartbeat_age_s=round(now - node.updated_at, 1)))
    return sorted(hosts, key=lambda h: (h.cell, h.host))


def list_cells(connection: Connection) -> list[CellInfo]:
    hosts_per_cell: dict[str, int] = {}
    for cell_uuid in connection.api_db.host_cells().values():
        hosts_per_cell[cell_uuid] = hosts_per_cell.get(cell_uuid, 0) + 1
    return [CellInfo(name=cell.name, uuid=cell.uuid, transport_url=mask_url(cell.transport_url),
                     database_connection=mask_url(cell.database_connection),
                     hosts=hosts_per_cell.get(cell.uuid, 0), disabled=cell.disabled)
            for cell in sorted(connection.cells.values(), key=lambda c: c.name)]
