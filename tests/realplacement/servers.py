"""The two placements the tier compares: real openstack-placement (from a virtualenv of its own,
built once from requirements.txt and served by gunicorn over a SQLite file) and
altsim-placement (altsim's own app, served by uvicorn in a thread of this process).

The virtualenv is `$ALTSIM_REALPLACEMENT_VENV` or `.realplacement/venv` in the repository; it is
kept between runs and rebuilt only when requirements.txt changes (a stamp file holds the hash
of the one it was built from). Both servers listen on a free loopback port.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import urllib3
import uvicorn

from placement_sim.http_app import create_app
from placement_sim.store import PlacementStore

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "requirements.txt"
VENV_ENV = "ALTSIM_REALPLACEMENT_VENV"
# With [api] auth_strategy = noauth2 the token names the user: `admin` has the admin role,
# which placement's default policies ask of every request altsim sends.
TOKEN = "admin"
START_TIMEOUT_S = 60.0


def venv_path() -> Path:
    return Path(os.environ.get(VENV_ENV) or HERE.parent.parent / ".realplacement" / "venv")


def ensure_venv(venv: Path) -> Path:
    """The virtualenv with requirements.txt installed, built if missing or out of date."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / "altsim-requirements.sha256"
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=True, timeout=900)
    stamp.write_text(wanted)
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, alive: callable = lambda: True) -> None:  # type: ignore[valid-type]
    """Poll GET / until it answers (a server gives no readiness line we could wait on)."""
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
    """openstack-placement under gunicorn: `url`, and `stop()`."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, venv: Path, workdir: Path) -> RealPlacement:
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "placement.conf"
        conf.write_text("[DEFAULT]\ndebug = false\n[api]\nauth_strategy = noauth2\n"
                        "[placement_database]\n"
                        f"connection = sqlite:///{workdir / 'placement.sqlite'}\n")
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
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class AltsimPlacement:
    """altsim-placement's app over a fresh store, served by uvicorn in a thread."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(PlacementStore(), TOKEN), host="127.0.0.1",
                                port=port, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="altsim-placement",
                                        daemon=True)
        self._thread.start()
        wait_until_serving(self.url, self._thread.is_alive)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
