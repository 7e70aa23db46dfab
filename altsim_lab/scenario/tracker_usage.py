"""The report's view of resources when `[scheduler] use_placement = false`.

Placement then holds nothing; what the computes' own trackers hold is in the cell DBs (their
claim rows and each compute node's reported usage). This class answers the read calls the
report makes of placement from those, so the report keeps its meaning: per host its usage, per
instance the host holding its resources, and as leaked any claim whose instance is not ACTIVE
(a compute that forgot to give resources back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from altsim.db.cell import CellDatabase


class TrackerUsage:
    """A snapshot of every cell's tracker claims, read once when made."""

    def __init__(self, cell_dbs: Iterable[CellDatabase]) -> None:
        self._providers: list[dict] = []
        self._usage: dict[str, dict[str, int]] = {}
        self._claims: dict[str, tuple[str, dict[str, int]]] = {}
        for cell_db in cell_dbs:
            rows = cell_db.compute_node_rows()[1] or []
            for row in rows:
                self._providers.append({"uuid": row.uuid, "name": row.host, "generation": 0})
                self._usage[row.uuid] = {
                    **dict.fromkeys(json.loads(row.resources or "{}"), 0),
                    **json.loads(row.resources_used or "{}")}
            self._claims.update(cell_db.list_resource_claims())

    def list_resource_providers(self) -> list[dict]:
        return list(self._providers)

    def get_usages(self, rp_uuid: str) -> dict[str, int]:
        return dict(self._usage.get(rp_uuid, {}))

    def get_provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        return {instance: dict(resources)
                for instance, (node, resources) in self._claims.items() if node == rp_uuid}

    def get_allocations_for_consumer(self, consumer_uuid: str) -> dict[str, dict[str, int]]:
        claim = self._claims.get(consumer_uuid)
        return {} if claim is None else {claim[0]: dict(claim[1])}
