"""A daemon whose bus credentials the broker refuses says so in one line, its password
masked, and exits 2 (a configuration problem), instead of dying with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from altsim.db.api import ApiDatabase

pytestmark = pytest.mark.rabbit
BIN = Path(sys.executable).parent


def test_a_refused_login_is_one_line_with_the_password_masked(rabbit_url: str,
                                                              tmp_path: Path):
    parts = urlsplit(rabbit_url)
    wrong = f"rabbit://altsim-nobody:not-the-password@{parts.hostname}:{parts.port or 5672}/"
    api_url = f"sqlite:///{tmp_path / 'api.db'}"
    ApiDatabase(api_url).sync()
    config = tmp_path / "scheduler.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = {wrong}\n"
                      f"[api_database]\nconnection = {api_url}\n")
    outcome = subprocess.run([str(BIN / "altsim-scheduler"), "--config-file", str(config)],
                             capture_output=True, text=True, timeout=120)
    assert outcome.returncode == 2, outcome.stdout[-2000:] + outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("altsim-scheduler: the broker refused the login"), lines
    assert "ACCESS_REFUSED" in lines[0] and "transport_url" in lines[0]
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert "not-the-password" not in outcome.stdout + outcome.stderr
