"""Tables of the API database (what nova-api and the super conductor share)."""

import sqlalchemy as sa

metadata = sa.MetaData()

cell_mappings = sa.Table(
    "cell_mappings", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("transport_url", sa.Text, nullable=False),
    sa.Column("database_connection", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
)

host_mappings = sa.Table(
    "host_mappings", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("cell_uuid", sa.String(36), sa.ForeignKey("cell_mappings.uuid"), nullable=False),
)

instance_mappings = sa.Table(
    "instance_mappings", metadata,
    sa.Column("instance_uuid", sa.String(36), primary_key=True),
    sa.Column("cell_uuid", sa.String(36), sa.ForeignKey("cell_mappings.uuid"), nullable=True),
    sa.Column("project_id", sa.String(255), nullable=False),
)

build_requests = sa.Table(
    "build_requests", metadata,
    sa.Column("instance_uuid", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)

request_specs = sa.Table(
    "request_specs", metadata,
    sa.Column("instance_uuid", sa.String(36), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
)

# Flavors live in the API database, as in Nova: the client looks a flavor up by name.
flavors = sa.Table(
    "flavors", metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("resources", sa.JSON, nullable=False),
    # `trait:<NAME>`: required or forbidden (None in a database made before extra specs).
    sa.Column("extra_specs", sa.JSON, nullable=True),
)

# Host aggregates with their metadata, as in Nova's API database (their hosts are in the
# placement aggregate of the same uuid): the scheduler's isolate_aggregates reads them.
aggregates = sa.Table(
    "aggregates", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("metadata", sa.JSON, nullable=False),
)
