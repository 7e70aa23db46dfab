"""Placements served on a free loopback port by a process of their own, started and stopped for
sure: real openstack-placement (gunicorn over a SQLite file, or a PostgreSQL database it is
given, noauth2, from a virtualenv built from a pinned requirements file) and altsim-placement's
daemon.

The real-Placement test tier and the benchmark that compares the two both start them here.
The virtualenv is kept between runs and rebuilt only when the requirements change (a stamp
file in it holds the hash of the requirements it was built from).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3

from altsim_lab.deploy.process import ServiceProcess

# With [api] auth_strategy = noauth2 the token names the user: `admin` has the admin role,
# which placement's default policies ask of every request altsim sends.
TOKEN = "admin"
START_TIMEOUT_S = 60.0
STAMP = "altsim-requirements.sha256"
ALTSIM_READY_RE = re.compile(r"altsim-placement ready on (http://\S+)$")


def ensure_venv(venv: Path, requirements: Path) -> Path:
    """The virtualenv with `requirements` installed, built if missing or out of date."""
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-r", str(requirements)], check=True, timeout=900)
    stamp.write_text(wanted)
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll GET / until it answers (gunicorn gives no readiness line once the app loads)."""
    http = urllib3.PoolManager(retries=False, timeout=2.0)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the placement at {url} exited while starting")
        try:
            if http.request("GET", url + "/").status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no placement answered at {url} within {START_TIMEOUT_S:.0f} s")


@dataclass
class RealPlacement:
    """openstack-placement under gunicorn (2 workers of 4 threads): `url`, and `stop()`.
    Its log, and its database unless it is given one, are files in the `workdir` it was
    started in."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, venv: Path, workdir: Path,
              database_url: str | None = None) -> RealPlacement:
        """`database_url`: an empty database to keep placement's tables in (e.g.
        postgresql+psycopg2://postgres@127.0.0.1:5432/name: placement needs psycopg2, whose
        cursors have lastrowid), as operators serve it; by
        default a SQLite file, on which its two workers' writes lock each other out (a 500
        "database is locked" now and then under concurrent writes)."""
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "placement.conf"
        connection = database_url or f"sqlite:///{workdir / 'placement.sqlite'}"
        conf.write_text("[DEFAULT]\ndebug = false\n[api]\nauth_strategy = noauth2\n"
                        f"[placement_database]\nconnection = {connection}\n")
        bin_dir = venv / "bin"
        subprocess.run([str(bin_dir / "placement-manage"), "--config-file", str(conf),
                        "db", "sync"], check=True, capture_output=True, timeout=120)
        port = free_port()
        log = workdir / "placement.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                 "--threads", "4", "placement.wsgi.api:application"],
                stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                env={**os.environ, "OS_PLACEMENT_CONFIG_DIR": str(workdir)})
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, lambda: process.poll() is None)
        except RuntimeError as exc:
            process.kill()
            raise RuntimeError(f"{exc}; its log:\n{log.read_text()[-2000:]}") from None
        return cls(url, process, log)

    def stop(self) -> None:
        # gunicorn's master stops its workers on SIGTERM.
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class AltsimPlacementDaemon:
    """The `altsim-placement` daemon of this interpreter's environment, in memory, taking
    `token` (as a real placement's noauth2 takes TOKEN): `url`, and `stop()`."""

    url: str
    process: ServiceProcess

    @classmethod
    def start(cls, workdir: Path, token: str = TOKEN) -> AltsimPlacementDaemon:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "altsim-placement.conf"
        config.write_text("[placement]\nbind_host = 127.0.0.1\nbind_port = 0\n"
                          f"auth_token = {token}\n")
        script = Path(sys.executable).with_name("altsim-placement")
        process = ServiceProcess("altsim-placement", [str(script), "--config-file", str(config)],
                                 workdir / "altsim-placement.log", ready=ALTSIM_READY_RE)
        try:
            url = process.wait_ready(START_TIMEOUT_S)[1]
        except BaseException:
            process.kill()
            raise
        return cls(url, process)

    def stop(self) -> None:
        self.process.stop()
