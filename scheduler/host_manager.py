"""Host states: compute nodes from every cell database joined with placement's summaries."""

from __future__ import annotations

from collections.abc import Mapping

from altsim.db.cell import CellDatabase
from scheduler.host_state import HostState


class HostManager:
    """Reads the cells' compute nodes (the scheduler is API level and may read every cell DB)."""

    def __init__(self, cell_dbs: Mapping[str, CellDatabase]) -> None:
        self._cell_dbs = cell_dbs

    def get_host_states(self, provider_summaries: Mapping[str, dict]) -> list[HostState]:
        """States of the hosts whose provider placement offered, ordered by host name."""
        states = []
        for cell_uuid, cell_db in self._cell_dbs.items():
            for node in cell_db.list_compute_nodes():
                summary = provider_summaries.get(node.uuid)
                if summary is None:
                    continue
                capacity, used = {}, {}
                for resource_class, amounts in summary["resources"].items():
                    capacity[resource_class] = amounts["capacity"]
                    used[resource_class] = amounts["used"]
                states.append(HostState(node.host, node.hypervisor_hostname, node.uuid,
                                        cell_uuid, node.disabled, node.updated_at,
                                        node.failed_builds, capacity, used))
        states.sort(key=lambda state: state.host)
        return states
