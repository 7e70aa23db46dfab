"""Run a plan through Nova: `python -m crosscheck.nova_side` in the cross-check virtualenv.

The Nova side runs in a process of its own (Nova's harness monkey-patches it with eventlet)
whose import path holds this package alone, not the whole checkout, whose top-level
`scheduler`, `conductor` and `tests` could shadow other modules there. Nova's eventlet mode is
kept: OS_NOVA_DISABLE_EVENTLET_PATCHING is removed from its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from crosscheck.venv import PACKAGE_DIR

# Seconds the Nova process may take beyond the plan's own timeout (imports, database
# migrations, services starting).
STARTUP_ALLOWANCE_S = 120.0
LOG_TAIL_LINES = 40


class NovaRunError(RuntimeError):
    """The Nova side did not produce a report: the message has the end of its log."""


def run_nova(plan: dict[str, Any], python: Path, workdir: Path) -> dict[str, Any]:
    """Nova's report for `plan` (crosscheck.nova_side.results), its log in workdir/nova.log."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path, out_path, log_path = (workdir / "plan.json", workdir / "nova.json",
                                     workdir / "nova.log")
    plan_path.write_text(json.dumps(plan, indent=2))
    out_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="crosscheck-path-") as path_dir:
        (Path(path_dir) / "crosscheck").symlink_to(PACKAGE_DIR, target_is_directory=True)
        env = {key: value for key, value in os.environ.items()
               if key not in ("OS_NOVA_DISABLE_EVENTLET_PATCHING", "VIRTUAL_ENV", "PYTHONHOME")}
        env["PYTHONPATH"] = path_dir
        with open(log_path, "w") as log:
            try:
                done = subprocess.run(
                    [os.path.abspath(python), "-m", "crosscheck.nova_side", str(plan_path),
                     str(out_path)],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                    timeout=plan["timeout_s"] + STARTUP_ALLOWANCE_S)
            except subprocess.TimeoutExpired:
                raise NovaRunError(f"Nova run of {plan['scenario']} timed out"
                                   f"{_tail(log_path)}") from None
    if not out_path.exists():
        raise NovaRunError(f"Nova run of {plan['scenario']} exited {done.returncode} without "
                           f"a report{_tail(log_path)}")
    return json.loads(out_path.read_text())


def _tail(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return f" (end of {log_path}):\n" + "\n".join(lines)
