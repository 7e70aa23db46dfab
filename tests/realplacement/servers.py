"""The two placements the tier compares: real openstack-placement (from a virtualenv of its own,
built once from requirements.txt and served by gunicorn over a SQLite file;
altsim_lab.testing.placements starts it) and altsim-placement (altsim's own app, served by
uvicorn in a thread of this process).

The virtualenv is `$ALTSIM_REALPLACEMENT_VENV` or `.realplacement/venv` in the repository; it is
kept between runs and rebuilt only when requirements.txt changes. Both servers listen on a free
loopback port.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import uvicorn

from altsim_lab.testing import placements
from altsim_lab.testing.placements import TOKEN, RealPlacement, free_port, wait_until_serving
from placement_sim.http_app import create_app
from placement_sim.store import PlacementStore

__all__ = ["TOKEN", "AltsimPlacement", "RealPlacement", "ensure_venv", "free_port",
           "venv_path"]

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "requirements.txt"
VENV_ENV = "ALTSIM_REALPLACEMENT_VENV"


def venv_path() -> Path:
    return Path(os.environ.get(VENV_ENV) or HERE.parent.parent / ".realplacement" / "venv")


def ensure_venv(venv: Path) -> Path:
    """The virtualenv with requirements.txt installed, built if missing or out of date."""
    return placements.ensure_venv(venv, REQUIREMENTS)


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
