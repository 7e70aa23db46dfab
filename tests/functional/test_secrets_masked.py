"""No password or token shows in what altsim prints, logs or writes, end to end.

`altsim -vv run --report-dir` (every service logging at DEBUG) of a scenario whose config
holds a bus and a database URL with passwords and whose fault reason quotes one: the console,
report.json and index.html show the URLs masked and never the passwords. A daemon refusing a
config file names the option but not the secret value in it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"
SECRETS = {"bus": "bus-password-4f1c9a", "db": "db-password-8b2e7d",
           "reason": "reason-password-3c5a1f"}


def test_a_run_shows_and_writes_urls_with_their_passwords_masked(tmp_path: Path):
    # Given reschedule-once with secrets in its config and in the text of its fault
    scenario = yaml.safe_load((SCENARIOS / "reschedule-once.yaml").read_text())
    scenario["config"].update({
        "transport_url": f"rabbit://altsim:{SECRETS['bus']}@rabbit.example:5672/",
        "database.connection": f"postgresql+psycopg://altsim:{SECRETS['db']}@db.example/x"})
    scenario["faults"][0]["reason"] = (f"spawn failed: rabbit://nova:{SECRETS['reason']}"
                                       f"@rabbit.example/ unreachable")
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump(scenario))

    # When it runs embedded with every log line shown
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "altsim_lab.cmd.altsim", "-vv", "run", str(path),
                           "--report-dir", str(out)], capture_output=True, text=True,
                          timeout=120)

    # Then it ran as usual, and no password is anywhere: console, logs, report, page
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = {"stdout": proc.stdout, "stderr": proc.stderr,
             "report.json": (out / "report.json").read_text(),
             "index.html": (out / "index.html").read_text()}
    for where, text in shown.items():
        for secret in SECRETS.values():
            assert secret not in text, f"{secret} in {where}"
    # ... while what they belong to is still shown, masked
    assert "rabbit://altsim:***@rabbit.example:5672/" in shown["report.json"]
    assert "postgresql+psycopg://altsim:***@db.example/x" in shown["index.html"]
    assert "spawn failed: rabbit://nova:***@rabbit.example/ unreachable" in shown["report.json"]
    # (the compute logs the reason of the failed spawn: its line went through the masking)
    assert "rabbit://nova:***@rabbit.example/" in proc.stderr


def test_a_daemon_refusing_its_config_does_not_echo_a_secret_value(tmp_path: Path):
    config = tmp_path / "scheduler.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = rabbit://u:{SECRETS['bus']}@h/$typo\n")
    proc = subprocess.run([str(Path(sys.executable).with_name("altsim-scheduler")),
                           "--config-file", str(config)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "scheduler.conf: DEFAULT.transport_url: invalid value '***'" in proc.stderr
    assert SECRETS["bus"] not in proc.stdout + proc.stderr
