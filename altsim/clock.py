"""Clocks: the wall clock, and a simulated one that only moves when it is told to.

Services read the time through `altsim.runtime` (which picks the clock of the calling thread);
this module is the two implementations. The simulated clock starts at a fixed epoch, so the
timestamps a deterministic run writes to its databases are the same on every run, and moves
only when the deterministic scheduler (altsim.sim.scheduler) advances it to the next timer
because nothing else can run.
"""

from __future__ import annotations

import time
from typing import Protocol

#: Where simulated time starts: 2020-01-01T00:00:00Z, a fixed point so stored times repeat.
SIM_EPOCH = 1577836800.0


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the Unix epoch (what `time.time()` answers)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines and intervals)."""
        ...


class WallClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class SimulatedClock:
    """Virtual time: `elapsed` seconds since SIM_EPOCH, moved forward by `advance_to`."""

    def __init__(self, epoch: float = SIM_EPOCH) -> None:
        self._epoch = epoch
        self.elapsed = 0.0

    def time(self) -> float:
        return self._epoch + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    def advance_to(self, elapsed: float) -> None:
        """Jump to `elapsed` (never backwards: a stale timer must not rewind the clock)."""
        self.elapsed = max(self.elapsed, elapsed)


WALL = WallClock()
