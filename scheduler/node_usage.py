"""Free resources per host as the compute node rows report them (`[scheduler] host_view =
compute_nodes`, Nova's view).

Nova's scheduler builds each request's HostStates anew from the compute node rows
(`HostManager._get_host_states`, `HostState.update_from_compute_node`: free_ram_mb,
vcpus_used, free_disk_gb), which change only when the host's own resource tracker claims or
releases, after the build cast has reached the compute. A claim the scheduler made in placement
a moment ago is not in them, so concurrent requests see the same free resources and herd onto
the same best hosts. These columns hold, in the HostTable's row order, each row's capacity less
what its tracker reports used; a HostTable view takes them in place of placement's free
resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from altsim.db.cell import ComputeNodeRow


class NodeUsage:
    """Free resources per resource class, one entry per row of a HostTable."""

    def __init__(self, rows: Sequence[ComputeNodeRow]) -> None:
        self.free: dict[str, np.ndarray] = {}
        self._size = len(rows)
        self.update(rows, range(len(rows)))

    def update(self, rows: Sequence[ComputeNodeRow], indexes: Iterable[int]) -> None:
        """Decode the rows at `indexes` (those that changed) into the columns."""
        for index in indexes:
            row = rows[index]
            capacity = json.loads(row.resources or "{}")
            used = json.loads(row.resources_used or "{}")
            for rc in capacity.keys() - self.free.keys():
                self.free[rc] = np.zeros(self._size, dtype=np.int64)
            for rc, column in self.free.items():
                column[index] = capacity.get(rc, 0) - used.get(rc, 0)
