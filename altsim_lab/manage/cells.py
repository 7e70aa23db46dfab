"""Cell mappings as an operator manages them (nova-manage cell_v2's create/list/delete)."""

from __future__ import annotations

import uuid as uuidlib

from altsim.db.api import ApiDatabase, CellMapping
from altsim.masking import mask_url
from altsim.objects import CELL0_UUID

CELL0_NAME = "cell0"
CELL0_TRANSPORT_URL = "none:///"
__all__ = ["ManageError", "create_cell", "delete_cell", "mask_url"]  # mask_url: altsim.masking


class ManageError(Exception):
    """A problem the operator must fix; the command prints it and exits 2."""


def create_cell(api_db: ApiDatabase, name: str, database_connection: str,
                transport_url: str | None = None, cell_uuid: str | None = None) -> CellMapping:
    if not name:
        raise ManageError("the cell name must not be empty")
    if any(cell.name == name for cell in api_db.list_cells()):
        raise ManageError(f"a cell named {name!r} already exists")
    if name == CELL0_NAME:
        cell_uuid = cell_uuid or CELL0_UUID
        transport_url = transport_url or CELL0_TRANSPORT_URL
    if not transport_url:
        raise ManageError(f"--transport-url is required for cell {name!r} (only cell0 "
                          f"defaults to {CELL0_TRANSPORT_URL})")
    cell_uuid = cell_uuid or str(uuidlib.uuid4())
    if any(cell.uuid == cell_uuid for cell in api_db.list_cells()):
        raise ManageError(f"a cell with uuid {cell_uuid} already exists")
    cell = CellMapping(uuid=cell_uuid, name=name, transport_url=transport_url,
                       database_connection=database_connection)
    api_db.create_cell(cell)
    return cell


def delete_cell(api_db: ApiDatabase, name: str) -> CellMapping:
    """Delete an empty cell mapping; refuse while instances or hosts are mapped to it."""
    cell = next((c for c in api_db.list_cells() if c.name == name), None)
    if cell is None:
        raise ManageError(f"no cell named {name!r}")
    instances = sorted(i for i, c in api_db.instance_cells().items() if c == cell.uuid)
    hosts = sorted(h for h, c in api_db.host_cells().items() if c == cell.uuid)
    if instances or hosts:
        raise ManageError(
            f"cell {name!r} ({cell.uuid}) is not empty: {len(instances)} instance(s) and "
            f"{len(hosts)} host(s) are mapped to it"
            + (f" (hosts: {', '.join(hosts)})" if hosts else ""))
    with api_db.begin() as tx:
        tx.execute("DELETE FROM cell_mappings WHERE uuid = :uuid", {"uuid": cell.uuid})
    return cell
