"""A new SQLite database written from an image of its empty schema, made once per process.

Creating a schema statement by statement costs tens of milliseconds a database, paid for the
API database, cell0 and each cell of every deployment; a test that starts a fresh cloud pays it
each time. The first database of a kind is synced into a scratch folder, its file kept in
memory (the folder removed at once: nothing is left on disk), and every later new database of
that kind is that file's bytes written to its path. Anything else (PostgreSQL, a file that
exists already) is synced as before, so an older database still gets its added columns.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Protocol

from altsim.db.engine import dispose_engine

SQLITE_PREFIX = "sqlite:///"
_images: dict[type, bytes] = {}
_lock = threading.Lock()


class Syncable(Protocol):
    url: str

    def __init__(self, url: str) -> None: ...

    def sync(self) -> None: ...


def create_schema(database: Syncable) -> None:
    """The database's schema: written from its kind's image when it is a new SQLite file,
    else `database.sync()`."""
    path = _new_sqlite_file(database.url)
    if path is None:
        database.sync()
        return
    path.write_bytes(_image(type(database)))


def _new_sqlite_file(url: str) -> Path | None:
    if not url.startswith(SQLITE_PREFIX) or url == SQLITE_PREFIX + ":memory:":
        return None
    path = Path(url[len(SQLITE_PREFIX):])
    return None if path.exists() else path


def _image(kind: type) -> bytes:
    with _lock:
        image = _images.get(kind)
        if image is None:
            image = _images[kind] = _synced_file(kind)
        return image


def _synced_file(kind: type) -> bytes:
    with tempfile.TemporaryDirectory(prefix="altsim-schema-") as scratch:
        path = Path(scratch) / "schema.db"
        url = SQLITE_PREFIX + str(path)
        kind(url).sync()
        # Closing the last connection checkpoints the WAL into the file (and removes it).
        dispose_engine(url)
        return path.read_bytes()
