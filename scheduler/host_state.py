"""What the scheduler knows of one host while it places one request."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HostState:
    host: str
    nodename: str
    uuid: str
    cell_uuid: str
    disabled: bool
    updated_at: float
    failed_builds: int
    capacity: dict[str, int]
    used: dict[str, int]
    # Resources taken by earlier instances of the request being placed (Nova's
    # consume_from_request): placement already counts them, but the summaries were read before.
    consumed: dict[str, int] = field(default_factory=dict)

    def free(self, resource_class: str) -> int:
        return (self.capacity.get(resource_class, 0) - self.used.get(resource_class, 0)
                - self.consumed.get(resource_class, 0))

    def consume(self, resources: dict[str, int]) -> None:
        for resource_class, amount in resources.items():
            self.consumed[resource_class] = self.consumed.get(resource_class, 0) + amount
