"""Run plans through Nova: `python -m crosscheck.nova_side` in the cross-check virtualenv.

All plans of a cross-check run go to one Nova process, one test after another (imports and
Nova's database schema are then paid once). It runs apart from altsim's (Nova's harness
monkey-patches its process with eventlet), with an import path holding this package alone,
not the whole checkout, whose top-level `scheduler`, `conductor` and `tests` could shadow
other modules there, and with Nova's eventlet mode kept: OS_NOVA_DISABLE_EVENTLET_PATCHING is
removed from its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from crosscheck.venv import PACKAGE_DIR

# Seconds the Nova process may take beyond the plans' own timeouts: imports, Nova's database
# migrations, each test's services starting and stopping.
STARTUP_ALLOWANCE_S = 120.0
PER_PLAN_ALLOWANCE_S = 30.0
LOG_TAIL_LINES = 40


def run_nova(plans: dict[str, dict[str, Any]], python: Path,
             workdir: Path) -> dict[str, dict[str, Any]]:
    """Nova's report for each plan, by scenario name (crosscheck.nova_side.results); a plan
    that produced none has its reason in `errors`. Each run's files are in workdir/<name>/,
    the Nova process's own output in workdir/nova.log."""
    rundirs = {name: (workdir / name).resolve() for name in plans}
    for name, plan in plans.items():
        rundirs[name].mkdir(parents=True, exist_ok=True)
        (rundirs[name] / "plan.json").write_text(json.dumps(plan, indent=2))
        (rundirs[name] / "nova.json").unlink(missing_ok=True)
    log_path = workdir / "nova.log"
    timeout = STARTUP_ALLOWANCE_S + sum(plan["timeout_s"] + PER_PLAN_ALLOWANCE_S
                                        for plan in plans.values())
    problem = _run(python, list(rundirs.values()), log_path, timeout)
    reports = {}
    for name, rundir in rundirs.items():
        out = rundir / "nova.json"
        reports[name] = (json.loads(out.read_text()) if out.exists() else
                         {"instances": [], "hosts": [], "summary": {},
                          "errors": [f"no report from Nova: {problem}{_tail(log_path)}"]})
    return reports


def _run(python: Path, rundirs: list[Path], log_path: Path, timeout: float) -> str:
    """Runs the Nova process; what went wrong with it, if anything ("" if nothing)."""
    with tempfile.TemporaryDirectory(prefix="crosscheck-path-") as path_dir:
        (Path(path_dir) / "crosscheck").symlink_to(PACKAGE_DIR, target_is_directory=True)
        env = {key: value for key, value in os.environ.items()
               if key not in ("OS_NOVA_DISABLE_EVENTLET_PATCHING", "VIRTUAL_ENV", "PYTHONHOME")}
        env["PYTHONPATH"] = path_dir
        with open(log_path, "w") as log:
            try:
                done = subprocess.run(
                    [os.path.abspath(python), "-m", "crosscheck.nova_side",
                     *map(str, rundirs)],
                    stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
            except subprocess.TimeoutExpired:
                return f"the Nova process was stopped after {timeout:.0f} s"
    return "" if done.returncode == 0 else f"the Nova process exited {done.returncode}"


def _tail(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return f" (end of {log_path}):\n" + "\n".join(lines)
