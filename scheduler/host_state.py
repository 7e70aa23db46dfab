"""What the scheduler knows of one host while it places one request."""

from __future__ import annotations


class HostState:
    """One host as filters and weighers see it; built per request, so kept lean (slots)."""

    __slots__ = ("host", "nodename", "uuid", "cell_uuid", "disabled", "updated_at",
                 "failed_builds", "capacity", "free_resources")

    def __init__(self, host: str, nodename: str, uuid: str, cell_uuid: str, disabled: bool,
                 updated_at: float, failed_builds: int, capacity: dict[str, int],
                 used: dict[str, int]) -> None:
        self.host = host
        self.nodename = nodename
        self.uuid = uuid
        self.cell_uuid = cell_uuid
        self.disabled = disabled
        self.updated_at = updated_at
        self.failed_builds = failed_builds
        self.capacity = capacity
        # What is left: capacity - used, less what earlier instances of the request being
        # placed took (Nova's consume_from_request; placement counts those claims, but the
        # summaries the states were built from were read before them).
        self.free_resources = {rc: total - used.get(rc, 0) for rc, total in capacity.items()}

    def copy(self) -> HostState:
        """A state of its own for one request (consume() changes only the copy)."""
        state = HostState.__new__(HostState)
        state.host, state.nodename, state.uuid = self.host, self.nodename, self.uuid
        state.cell_uuid, state.disabled = self.cell_uuid, self.disabled
        state.updated_at, state.failed_builds = self.updated_at, self.failed_builds
        state.capacity = self.capacity
        state.free_resources = dict(self.free_resources)
        return state

    def __repr__(self) -> str:
        return f"HostState({self.host!r}, cell={self.cell_uuid!r}, free={self.free_resources})"

    def free(self, resource_class: str) -> int:
        return self.free_resources.get(resource_class, 0)

    def consume(self, resources: dict[str, int]) -> None:
        for resource_class, amount in resources.items():
            self.free_resources[resource_class] = self.free(resource_class) - amount
