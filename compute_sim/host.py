"""A simulated hypervisor host: its identity, its inventory, its traits and aggregates, and its
registration at start."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from altsim.db.cell import CellDatabase
from placement_sim.client import PlacementClient

_NODE_NAMESPACE = uuid.UUID("6f1c1d3e-51a1-4f0e-9a55-8f4bb1d0a7c2")
_AGGREGATE_NAMESPACE = uuid.UUID("3d0c7f9e-2b8a-4c55-9e1f-5a7b6c4d2e10")


def node_uuid_for(host: str) -> str:
    """Compute node (and resource provider) uuid: stable per host name, so runs are comparable."""
    return str(uuid.uuid5(_NODE_NAMESPACE, host))


def aggregate_uuid_for(name: str) -> str:
    """A host aggregate's uuid (its placement aggregate): stable per name, as a provider's is,
    so the computes and the scheduler agree on it without asking each other."""
    return str(uuid.uuid5(_AGGREGATE_NAMESPACE, name))


@dataclass(frozen=True)
class SimulatedHost:
    name: str
    resources: dict[str, int]
    allocation_ratio: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    # The provider's traits (standard or CUSTOM_) and the names of its host aggregates.
    traits: tuple[str, ...] = ()
    aggregates: tuple[str, ...] = ()

    @property
    def node_uuid(self) -> str:
        return node_uuid_for(self.name)

    def inventories(self) -> dict[str, dict]:
        return {rc: {"total": total, "reserved": self.reserved.get(rc, 0),
                     "allocation_ratio": self.allocation_ratio.get(rc, 1.0),
                     "min_unit": 1, "max_unit": total, "step_size": 1}
                for rc, total in self.resources.items()}

    def capacities(self) -> dict[str, int]:
        """What fits per resource class, computed as placement does."""
        return {rc: int((total - self.reserved.get(rc, 0)) * self.allocation_ratio.get(rc, 1.0))
                for rc, total in self.resources.items()}

    def register(self, cell_db: CellDatabase, placement: PlacementClient | None) -> None:
        """Report for duty: a compute node row in the cell DB (with its capacity) and,
        unless placement is not used at all (None), a provider in placement."""
        self.register_provider(placement)
        cell_db.register_compute_node(self.node_uuid, self.name, self.capacities())

    def register_provider(self, placement: PlacementClient | None) -> None:
        """Its resource provider in placement (nothing when placement is not used: None),
        with its traits, as a Nova compute reports what its driver's provider tree holds
        (custom traits created first), and its aggregates, which Nova's API mirrors into
        placement when a host joins a host aggregate."""
        if placement is None:
            return
        placement.ensure_resource_provider(self.node_uuid, self.name, self.inventories())
        if self.traits:
            placement.set_provider_traits(self.node_uuid, self.traits)
        if self.aggregates:
            placement.set_provider_aggregates(
                self.node_uuid, [aggregate_uuid_for(name) for name in self.aggregates])

    def compute_node(self) -> tuple[str, str, dict[str, int]]:
        """(uuid, host, capacity): what CellDatabase.register_compute_nodes takes."""
        return self.node_uuid, self.name, self.capacities()
