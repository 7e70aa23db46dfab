"""A new SQLite database written from its kind's schema image is the one sync() makes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from altsim.db.api import ApiDatabase, CellMapping
from altsim.db.cell import CellDatabase
from altsim.db.engine import dispose_engine
from altsim.db.schema_image import create_schema


def _schema(url: str) -> list[tuple[str, str]]:
    with sa.create_engine(url).connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master ORDER BY name").all()
    return [(name, sql or "") for name, sql in rows]


def test_a_database_from_the_image_has_the_schema_sync_makes(tmp_path: Path) -> None:
    for kind in (ApiDatabase, CellDatabase):
        synced, imaged = (f"sqlite:///{tmp_path / kind.__name__}-{n}.db" for n in (1, 2))
        kind(synced).sync()
        database = kind(imaged)
        create_schema(database)
        assert _schema(imaged) == _schema(synced) != []
        dispose_engine(synced)
        dispose_engine(imaged)


def test_two_new_databases_share_no_rows(tmp_path: Path) -> None:
    first, second = (ApiDatabase(f"sqlite:///{tmp_path / name}.db") for name in ("a", "b"))
    create_schema(first)
    first.create_cell(CellMapping(uuid="c1", name="cell1", transport_url="memory:///c1",
                                  database_connection="sqlite:///c1.db"))
    create_schema(second)
    assert [c.name for c in first.list_cells()] == ["cell1"]
    assert second.list_cells() == []
    for database in (first, second):
        dispose_engine(database.url)
