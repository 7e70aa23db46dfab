"""A daemon meeting a configuration problem while it starts (a database without altsim's
schema) says so in one line and exits 2, as for a bad config file: never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_a_scheduler_on_an_api_database_without_schema_names_db_sync(tmp_path: Path):
    config = tmp_path / "scheduler.conf"
    config.write_text("[DEFAULT]\ntransport_url = memory:///startup-problem\n"
                      f"[api_database]\nconnection = sqlite:///{tmp_path / 'empty.db'}\n")
    outcome = subprocess.run([str(BIN / "altsim-scheduler"), "--config-file", str(config)],
                             capture_output=True, text=True, timeout=60)
    assert outcome.returncode == 2, outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    assert lines == [
        "altsim-scheduler: a database has no altsim schema (no such table: cell_mappings): "
        "create the API and cell schemas with `altsim-manage db sync`"], outcome.stderr
