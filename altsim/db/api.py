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


_CELL_FOR_HOST = (sa.select(*(t.cell_mappings.c[f] for f in CellMapping.__dataclass_fields__))
                  .join(t.host_mappings, t.host_mappings.c.cell_uuid == t.cell_mappings.c.uuid)
                  .where(t.host_mappings.c.host == sa.bindparam("b_host")))
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


def _json(value: Any) -> Any:
    """A JSON column written as text by plain SQL reads back as text on some drivers."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _flavor(row: Any) -> Flavor:
    return Flavor(name=row.name, resources=_json(row.resources),
                  extra_specs=_json(row.extra_specs) or {})


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
        with self.read() as conn:
            rows = conn.execute(sa.select(t.cell_mappings).order_by(t.cell_mappings.c.name))
            return [CellMapping(**row._mapping) for row in rows]

    def map_host(self, host: str, cell_uuid: str) -> None:
        with self.begin() as tx:
            if not tx.query("SELECT host FROM host_mappings WHERE host = :host", {"host": host}):
                tx.execute("INSERT INTO host_mappings (host, cell_uuid) VALUES (:host, :cell)",
                           {"host": host, "cell": cell_uuid})

    def host_cells(self) -> dict[str, str]:
        """host -> cell uuid for every mapped host."""
        with self.read() as conn:
            return dict(conn.execute(sa.select(t.host_mappings.c.host,
                                               t.host_mappings.c.cell_uuid)).all())

    def get_cell_for_host(self, host: str) -> CellMapping:
        with self.read() as conn:
            row = conn.execute(_CELL_FOR_HOST, {"b_host": host}).first()
        if row is None:
            raise HostMappingNotFound(f"host {host!r} is not mapped to any cell")
        return CellMapping(*row)

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
        with self.read() as conn:
            return conn.execute(sa.select(t.build_requests.c.instance_uuid).where(
                t.build_requests.c.instance_uuid == instance_uuid)).first() is not None

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
        with self.read() as conn:
            rows = conn.execute(sa.select(t.build_requests.c.data))
            return [BuildRequest.model_validate(_json(row.data)) for row in rows]

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
        with self.read() as conn:
            rows = conn.execute(sa.select(t.flavors).order_by(t.flavors.c.name))
            return [_flavor(row) for row in rows]

    def get_flavor(self, name: str) -> Flavor:
        with self.read() as conn:
            row = conn.execute(sa.select(t.flavors).where(t.flavors.c.name == name)).first()
        if row is None:
            raise FlavorNotFound(f"no flavor named {name!r}")
        return _flavor(row)

    # host aggregates
    def create_aggregate(self, aggregate: Aggregate) -> None:
        with self.begin() as tx:
            tx.execute("INSERT INTO aggregates (uuid, name, metadata) VALUES (:uuid, :name, "
                       ":metadata)", {"uuid": aggregate.uuid, "name": aggregate.name,
                                      "metadata": json.dumps(aggregate.metadata)})

    def list_aggregates(self) -> list[Aggregate]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.aggregates).order_by(t.aggregates.c.name))
            return [Aggregate(row.uuid, row.name, _json(row.metadata)) for row in rows]

    def instance_cells(self) -> dict[str, str | None]:
        """instance uuid -> cell uuid (None while it is not yet in a cell)."""
        with self.read() as conn:
            return dict(conn.execute(sa.select(t.instance_mappings.c.instance_uuid,
                                               t.instance_mappings.c.cell_uuid)).all())
