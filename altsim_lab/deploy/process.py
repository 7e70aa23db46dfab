"""One service process: started, waited for on a line of its output, stopped for sure.

The launcher runs every daemon of a launched deployment with it, and tests that start a daemon
of their own do too. The process gets a session of its own (so a signal reaches whatever it
starts, and Ctrl-C at the terminal does not), and a thread reads its output line by line: into
its log file when it has one, and into a memory of its last lines for error messages and for
tests. What it waits for is a line it prints (by default a daemon's readiness line), never a
sleep. Output is masked by default (altsim.masking), since the launcher quotes it in errors;
a test that checks what a daemon itself prints passes `mask=None` to see it raw.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from altsim.daemon import READY_PREFIX
from altsim.masking import mask_text

LOG = logging.getLogger(__name__)
STOP_TIMEOUT_S = 15.0
# What `altsim daemon ready: <name>` (altsim.daemon) and `altsim-placement ready on <url>`
# (placement_sim.cmd, spelled out here: importing that module would load its web stack) start
# with.
READY = re.compile(rf"^(?:{re.escape(READY_PREFIX)}|altsim-placement ready)")
KEEP_LINES = 200  # default memory of output lines: enough for the end of a failed start
QUOTED_LINES = 30  # how many of them an error quotes


class LaunchError(RuntimeError):
    """A service could not be started (its output is in the message)."""


class ServiceProcess:
    """A running service process, its output read by a thread (see the module docstring)."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path | None = None, *,
                 append: bool = False, ready: re.Pattern[str] | str = READY,
                 mask: Callable[[str], str] | None = mask_text,
                 keep: int | None = KEEP_LINES) -> None:
        """Start `argv` at once. `log_path`: where its output goes (`append`: after an earlier
        life's, for a restart); `ready`: the pattern, searched in each line, that wait_ready()
        waits for; `mask`: applied to each line before it is kept or written; `keep`: how
        many of the last lines `output` holds (None: every line)."""
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready_match: re.Match[str] | None = None
        self._append = append
        self._ready_re = re.compile(ready)
        self._mask = mask
        self._ready = threading.Event()
        self._terminated = False
        self._lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._lines_lock = threading.Lock()
        self.popen = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True)
        self._pumping = threading.Thread(target=self._pump, daemon=True, name=f"out-{name}")
        self._pumping.start()

    # output
    def _pump(self) -> None:
        with ExitStack() as stack:
            log_file = (stack.enter_context(self.log_path.open("a" if self._append else "w"))
                        if self.log_path is not None else None)
            for line in self.popen.stdout:  # type: ignore[union-attr]
                # The daemons mask their own log lines; this also covers what they print
                # otherwise (a traceback at exit), in the log and in a LaunchError.
                if self._mask is not None:
                    line = self._mask(line)
                if log_file is not None:
                    log_file.write(line)
                    log_file.flush()
                with self._lines_lock:
                    self._lines.append(line)
                if not self._ready.is_set():
                    match = self._ready_re.search(line.rstrip("\n"))
                    if match:
                        self.ready_match = match
                        self._ready.set()

    @property
    def output(self) -> str:
        """The lines read so far (the last `keep` of them), newlines included."""
        with self._lines_lock:
            return "".join(self._lines)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    # waiting
    def wait_ready(self, timeout: float, slow_hint: str = "") -> re.Match[str]:
        """Wait for the first line matching `ready` and return its match; LaunchError, with
        the last lines of output, if the process exits first or `timeout` seconds pass (its
        first line then ends with `slow_hint`: how to give it longer)."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                exited = self.popen.poll() is not None
                if exited:  # its last lines (often the reason) may still be in the pipe
                    self._pumping.join(5)
                state = (f"exited with {self.popen.returncode}" if exited
                         else f"not ready after {timeout:g} s{slow_hint}")
                where = f" ({self.log_path})" if self.log_path is not None else ""
                with self._lines_lock:
                    quoted = "".join(list(self._lines)[-QUOTED_LINES:])
                raise LaunchError(f"{self.name} {state}; its output{where}:\n{quoted}")
        assert self.ready_match is not None
        return self.ready_match

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and its output to be read to the end; its exit code
        (subprocess.TimeoutExpired if it is still running after `timeout` seconds)."""
        code = self.popen.wait(timeout)
        self._pumping.join(timeout)
        return code

    # signals
    def terminate(self, signum: int = signal.SIGTERM) -> None:
        """Ask it to stop (`signum`, SIGTERM by default), once."""
        # One signal only: a daemon already winding down takes a second one as "die now".
        if self.popen.poll() is None and not self._terminated:
            self._terminated = True
            self.popen.send_signal(signum)
            self.signal_group(signal.SIGCONT)  # a paused one could not act on it

    def signal_group(self, signum: int) -> None:
        """`signum` to the process and whatever it started (its own session)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """terminate(), wait up to `timeout` seconds, else SIGKILL it; its exit code."""
        self.terminate(signum)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            LOG.warning("%s did not stop in %.0f s: killing it", self.name, timeout)
            return self.kill()

    def kill(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGKILL it and whatever it started, as a crash would; its exit code."""
        self.signal_group(signal.SIGKILL)
        return self.popen.wait(timeout)

    def restarted(self) -> ServiceProcess:
        """The same command started again (after it exited), its output appended to the same
        log file."""
        if self.running:
            raise LaunchError(f"{self.name} is still running (kill it first)")
        return ServiceProcess(self.name, self.argv, self.log_path, append=True,
                              ready=self._ready_re, mask=self._mask, keep=self._lines.maxlen)
