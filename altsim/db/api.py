"""The API database as the API-level services use it (nova-api, super conductor, scheduler)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from altsim.db import api_schema as t
from altsim.db.engine import Database
from altsim.masking import mask_url
from altsim.objects import BuildRequest, Flavor, RequestSpec


@dataclass(frozen=True)
class CellMapping:
    uuid: str
    name: str
    transport_url: str
    database_connection: str
    disabled: bool = False

    def __repr__(self) -> str:
        # A mapping holds a cell's passwords: one logged or shown in a traceback must not.
        return (f"CellMapping(uuid={self.uuid!r}, name={self.name!r}, "
                f"transport_url={mask_url(self.transport_url)!r}, "
                f"database_connection={mask_url(self.database_connection)!r}, "
                f"disabled={self.disabled!r})")


class HostMappingNotFound(LookupError):
    pass


# Reads are plain SQL too (Database.select), the columns in CellMapping's order.
_CELL_COLUMNS = ", ".join(f"c.{name}" for name in CellMapping.__dataclass_fields__)
_LIST_CELLS = f"SELECT {_CELL_COLUMNS} FROM cell_mappings c ORDER BY c.name"
_CELL_FOR_HOST = (f"SELECT {_CELL_COLUMNS} FROM cell_mappings c JOIN host_mappings h "
                  "ON h.cell_uuid = c.uuid WHERE h.host = :host")
_DELETE_BUILD_REQUEST = "DELETE FROM build_requests WHERE instance_uuid = :uuid"


@dataclass(frozen=True)
class Aggregate:
    """A host aggregate: its uuid (its placement aggregate's), name and metadata."""

    uuid: str
    name: str
    metadata: dict[str, str]


class FlavorNotFound(LookupError):
    pass


class FlavorExists(ValueError):
    pass


def _cell(row: tuple) -> CellMapping:
    """A cell_mappings row in CellMapping's order (SQLite gives the boolean as 0/1)."""
    uuid, name, transport_url, database_connection, disabled = row
    return CellMapping(uuid, name, transport_url, database_connection, bool(disabled))


def _json(value: Any) -> Any:
    """A JSON column written as text by plain SQL reads back as text on some drivers."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _flavor(row: tuple) -> Flavor:
    """A flavors row read as (name, resources, extra_specs)."""
    name, resources, extra_specs = row
    return Flavor(name=name, resources=_json(resources), extra_specs=_json(extra_specs) or {})


class ApiDatabase(Database):
    """Queries and writes of the API database; one instance per URL is cheap to make."""

    def sync(self) -> None:
        t.metadata.create_all(self.engine)
        # An API DB made before flavors had extra specs lacks their column.
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("flavors")}
        if "extra_specs" not in present:
            with self.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE flavors ADD COLUMN extra_specs TEXT"))

    # cell and host mappings
    def create_cell(self, cell: CellMapping) -> None:
        with self.begin() as tx:
            tx.execute("INSERT INTO cell_mappings (uuid, name, transport_url, "
                       "database_connection, disabled) VALUES (:uuid, :name, :transport_url, "
                       ":database_connection, :disabled)",
                       {"uuid": cell.uuid, "name": cell.name, "transport_url": cell.transport_url,
                        "database_connection": cell.database_connection,
                        "disabled": cell.disabled})

    def list_cells(self) -> list[CellMapping]:
        return [_cell(row) for row in self.select(_LIST_CELLS)]

    def map_host(self, host: str, cell_uuid: str) -> None:
        with self.begin() as tx:
            if not tx.query("SELECT host FROM host_mappings WHERE host = :host", {"host": host}):
                tx.execute("INSERT INTO host_mappings (host, cell_uuid) VALUES (:host, :cell)",
                           {"host": host, "cell": cell_uuid})

    def host_cells(self) -> dict[str, str]:
        """host -> cell uuid for every mapped host."""
        return dict(self.select("SELECT host, cell_uuid FROM host_mappings"))

    def get_cell_for_host(self, host: str) -> CellMapping:
        rows = self.select(_CELL_FOR_HOST, {"host": host})
        if not rows:
            raise HostMappingNotFound(f"host {host!r} is not mapped to any cell")
        return _cell(rows[0])

    # what nova-api writes for a new server
    def create_build_request(self, build_request: BuildRequest, spec: RequestSpec) -> None:
        uuid, project_id = build_request.instance_uuid, build_request.project_id
        with self.begin() as tx:
            tx.execute("INSERT INTO build_requests (instance_uuid, project_id, data) "
                       "VALUES (:uuid, :project_id, :data)",
                       {"uuid": uuid, "project_id": project_id,
                        "data": build_request.model_dump_json()})
            tx.execute("INSERT INTO request_specs (instance_uuid, data) VALUES (:uuid, :data)",
                       {"uuid": spec.instance_uuid, "data": spec.model_dump_json()})
            tx.execute("INSERT INTO instance_mappings (instance_uuid, cell_uuid, project_id) "
                       "VALUES (:uuid, NULL, :project_id)",
                       {"uuid": uuid, "project_id": project_id})

    def build_request_exists(self, instance_uuid: str) -> bool:
        return bool(self.select("SELECT instance_uuid FROM build_requests "
                                "WHERE instance_uuid = :uuid", {"uuid": instance_uuid}))

    def map_instance(self, instance_uuid: str, cell_uuid: str,
                     delete_build_request: bool = False) -> None:
        """Point the InstanceMapping at a cell (and drop the BuildRequest, in one transaction)."""
        with self.begin() as tx:
            tx.execute("UPDATE instance_mappings SET cell_uuid = :cell "
                       "WHERE instance_uuid = :uuid", {"uuid": instance_uuid, "cell": cell_uuid})
            if delete_build_request:
                tx.execute(_DELETE_BUILD_REQUEST, {"uuid": instance_uuid})

    def list_build_requests(self) -> list[BuildRequest]:
        """The servers that are not (yet) in a cell."""
        return [BuildRequest.model_validate(_json(data))
                for (data,) in self.select("SELECT data FROM build_requests")]

    # flavors
    def create_flavor(self, flavor: Flavor) -> None:
        """Add a flavor; raises FlavorExists when the name is taken."""
        with self.begin() as tx:
            if tx.query("SELECT name FROM flavors WHERE name = :name", {"name": flavor.name}):
                raise FlavorExists(f"flavor {flavor.name!r} already exists")
            tx.execute("INSERT INTO flavors (name, resources, extra_specs) VALUES (:name, "
                       ":resources, :extra_specs)",
                       {"name": flavor.name, "resources": json.dumps(flavor.resources),
                        "extra_specs": json.dumps(flavor.extra_specs)})

    def list_flavors(self) -> list[Flavor]:
        return [_flavor(row) for row in self.select(
            "SELECT name, resources, extra_specs FROM flavors ORDER BY name")]

    def get_flavor(self, name: str) -> Flavor:
        rows = self.select("SELECT name, resources, extra_specs FROM flavors "
                           "WHERE name = :name", {"name": name})
        if not rows:
            raise FlavorNotFound(f"no flavor named {name!r}")
        return _flavor(rows[0])

    # host aggregates
    def create_aggregate(self, aggregate: Aggregate) -> None:
        with self.begin() as tx:
            tx.execute("INSERT INTO aggregates (uuid, name, metadata) VALUES (:uuid, :name, "
                       ":metadata)", {"uuid": aggregate.uuid, "name": aggregate.name,
                                      "metadata": json.dumps(aggregate.metadata)})

    def list_aggregates(self) -> list[Aggregate]:
        return [Aggregate(uuid, name, _json(metadata)) for uuid, name, metadata in self.select(
            "SELECT uuid, name, metadata FROM aggregates ORDER BY name")]

    def instance_cells(self) -> dict[str, str | None]:
        """instance uuid -> cell uuid (None while it is not yet in a cell)."""
        return dict(self.select("SELECT instance_uuid, cell_uuid FROM instance_mappings"))
