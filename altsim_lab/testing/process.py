"""Service processes a test starts, every one of them stopped when the test is done.

A test that runs a daemon (`altsim-placement`, `altsim-conductor`, ...) starts it through a
ServiceProcesses, as a context manager or from a fixture that calls stop_all() at teardown,
so that whatever the test does, no process outlives it: each is asked to stop (SIGTERM, all at
once, since each takes a while to wind down) and killed if it lingers. What a process is and
how it is waited for is altsim_lab.deploy.process.ServiceProcess, the launcher's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from altsim.masking import mask_text
from altsim_lab.deploy.process import KEEP_LINES, READY, STOP_TIMEOUT_S, ServiceProcess


class ServiceProcesses:
    """Starts service processes and stops them all at the end."""

    def __init__(self, log_dir: Path | None = None,
                 stop_timeout: float = STOP_TIMEOUT_S) -> None:
        """`log_dir`: each process's output also goes to `<log_dir>/<name>.log`;
        `stop_timeout`: how long stop_all() lets each one stop before it kills it."""
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        self.started: list[ServiceProcess] = []

    def start(self, name: str, argv: Sequence[str], *,
              ready: re.Pattern[str] | str = READY,
              mask: Callable[[str], str] | None = mask_text,
              keep: int | None = KEEP_LINES) -> ServiceProcess:
        """Start `argv` as service `name`; `ready`, `mask` and `keep` are ServiceProcess's
        (`mask=None` to see what the daemon itself printed, unmasked)."""
        log_path = self.log_dir / f"{name}.log" if self.log_dir is not None else None
        process = ServiceProcess(name, argv, log_path, ready=ready, mask=mask, keep=keep)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process still running: SIGTERM to all, then wait for each (SIGKILL to
        one that has not stopped after `stop_timeout` seconds)."""
        for process in self.started:
            process.terminate()
        for process in self.started:
            if process.running:
                process.stop(timeout=self.stop_timeout)

    def __enter__(self) -> ServiceProcesses:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop_all()
