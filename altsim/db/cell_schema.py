"""Tables of a cell database (cell0 included): where instances live and what happened to them."""

import sqlalchemy as sa

metadata = sa.MetaData()

compute_nodes = sa.Table(
    "compute_nodes", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False, unique=True),
    sa.Column("hypervisor_hostname", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_builds", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.Float, nullable=False),
    # +1 on every change to the row: SUM(version) over the table grows with any change, so a
    # reader can tell in one cheap aggregate whether anything changed since it last looked.
    sa.Column("version", sa.Integer, nullable=False, default=0),
    # time.time() of the row's last change, taken inside the writing transaction: a reader
    # that saw the stamp move reads only the rows changed since its last read, and checks
    # the versions it then holds against the stamp (CellDatabase.compute_node_changes).
    sa.Column("changed_at", sa.Float, index=True),
    # What the host's own resource tracker reports, JSON {resource class: amount}: capacity
    # ((total - reserved) * allocation_ratio) and what its instances use. The scheduler
    # reads them only when [scheduler] use_placement is false. Text, not JSON: the
    # scheduler reads rows with plain SQL, and drivers disagree on decoding JSON columns.
    sa.Column("resources", sa.Text),
    sa.Column("resources_used", sa.Text),
)

# The tracker's claims, one per instance on the host that holds it ([scheduler] use_placement
# = false): what placement's allocations are otherwise, kept so a run can be audited.
resource_claims = sa.Table(
    "resource_claims", metadata,
    sa.Column("instance_uuid", sa.String(36), primary_key=True),
    sa.Column("node_uuid", sa.String(36), nullable=False, index=True),
    sa.Column("resources", sa.Text, nullable=False),
)

instances = sa.Table(
    "instances", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(255), nullable=False),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("flavor", sa.JSON, nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("node", sa.String(255)),
    sa.Column("availability_zone", sa.String(255)),
    sa.Column("vm_state", sa.String(32), nullable=False),
    sa.Column("task_state", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("launched_at", sa.Float),
)

instance_faults = sa.Table(
    "instance_faults", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_uuid", sa.String(36), nullable=False, index=True),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
)

instance_actions = sa.Table(
    "instance_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_uuid", sa.String(36), nullable=False, index=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(255)),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("message", sa.Text),
)

# One row per step of a build: the scheduling, each spawn attempt and each failed claim.
instance_action_events = sa.Table(
    "instance_actions_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action_id", sa.Integer, sa.ForeignKey("instance_actions.id"), nullable=False,
              index=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("result", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("details", sa.JSON),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("finish_time", sa.Float),
)
