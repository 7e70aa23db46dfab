"""Garbage collector settings for altsim's processes.

Every scheduling request decodes the allocation candidates of up to 1,000 providers, tens of
thousands of small objects, and CPython's default first-generation threshold (700 allocations)
then runs the cyclic collector dozens of times per request over a heap that only grows (host
states, caches): measured, that doubles the time to decode one candidates body. The build path
makes few reference cycles, so collecting far less often costs little memory; objects alive at
start (modules, config, the services themselves) are moved out of the collector's sight.
"""

from __future__ import annotations

import gc

# Allocations between first-generation collections, and collections between the older ones.
THRESHOLDS = (50_000, 20, 20)


def tune() -> None:
    """Collect less often (THRESHOLDS); safe to call more than once."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_objects() -> None:
    """Everything alive now is kept out of every later collection (gc.freeze): called once a
    service has started, so its long-lived objects are not walked again and again."""
    gc.collect()
    gc.freeze()
