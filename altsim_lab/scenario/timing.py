"""Times in the run report: seconds since the run began, and percentiles of time to ACTIVE.

Every time the services record (action events) and the runner sees (requests sent, instances
finished) is a wall-clock `time.time()`; the report gives them relative to the run's start, so a
report reads the same whichever day it ran, and launched services on one machine share a clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

DIGITS = 6  # microseconds: finer than anything the simulator resolves


def since(start: float | None, moment: float | None) -> float | None:
    """`moment` in seconds after `start`, or None when either is unknown."""
    if start is None or moment is None:
        return None
    return round(moment - start, DIGITS)


def percentile(values: Sequence[float], q: int) -> float | None:
    """The q-th percentile (1..99) by linear interpolation between the closest ranks, as
    numpy's default does; None for no values."""
    if not 1 <= q <= 99:
        raise ValueError(f"percentile must be between 1 and 99, got {q}")
    if not values:
        return None
    if len(values) == 1:  # statistics.quantiles needs two points before Python 3.13
        return round(values[0], DIGITS)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[q - 1], DIGITS)
