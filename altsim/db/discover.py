"""Host discovery: map every compute node found in the cells' DBs to its cell (nova-manage's
cell_v2 discover_hosts)."""

from __future__ import annotations

from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID


def discover_hosts(api_db: ApiDatabase) -> list[str]:
    """Map unmapped hosts; returns the hosts newly mapped."""
    mapped = api_db.host_cells()
    added = []
    for cell in api_db.list_cells():
        if cell.uuid == CELL0_UUID:
            continue
        for node in CellDatabase(cell.database_connection).list_compute_nodes():
            if node.host not in mapped:
                api_db.map_host(node.host, cell.uuid)
                added.append(node.host)
    return added
