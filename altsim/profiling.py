"""Optional CPU profiling of a daemon, for finding where a launched run spends its time.

With ALTSIM_PROFILE_DIR set (say, for `python -m benchmarks.end_to_end --transport-url ...`),
every altsim daemon profiles all its threads with yappi (CPU time) from the moment it is
ready, and writes `<dir>/<daemon>-<pid>.pstat` when it stops, for `python -m pstats`. py-spy
can attach from outside instead, but on this kind of virtual machine it cannot tell idle
threads from busy ones, and a daemon has dozens of idle ones. yappi is a development tool: it
is not installed with altsim (`pip install yappi`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

LOG = logging.getLogger(__name__)
ENV = "ALTSIM_PROFILE_DIR"


@contextlib.contextmanager
def profiled(name: str) -> Iterator[None]:
    """Profile the block when ALTSIM_PROFILE_DIR is set; else do nothing."""
    folder = os.environ.get(ENV)
    if not folder:
        yield
        return
    try:
        import yappi
    except ImportError:
        LOG.warning("%s is set but yappi is not installed: not profiling", ENV)
        yield
        return
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True)
    try:
        yield
    finally:
        yappi.stop()
        path = Path(folder) / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}-{os.getpid()}.pstat"
        path.parent.mkdir(parents=True, exist_ok=True)
        yappi.get_func_stats().save(str(path), type="pstat")
        LOG.info("CPU profile written to %s", path)
