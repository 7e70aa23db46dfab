"""The same user test, every service launched over the real broker by
`pytest --altsim-transport-url`; and run-time faults refused there, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from altsim_lab.testing import Cloud, CloudError

pytestmark = pytest.mark.rabbit
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tests" / "test_reschedule_once.py"


def test_an_example_runs_launched_over_rabbit(rabbit_url: str, tmp_path: Path) -> None:
    (tmp_path / EXAMPLE.name).write_text(EXAMPLE.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}

    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--altsim-transport-url", rabbit_url], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_run_time_faults_are_refused_once_launched(rabbit_url: str) -> None:
    with Cloud(cells={"cell1": ["host1", "host2"]}, transport_url=rabbit_url) as cloud:
        cloud.start()
        with pytest.raises(CloudError, match="faults live in the compute daemons"):
            cloud.fail_spawn("host1")
