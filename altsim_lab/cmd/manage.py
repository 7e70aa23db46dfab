"""altsim-manage: the operator's tool (nova-manage's db sync, cell_v2 and placement audit).

Options come from oslo.config files given with --config-file ([api_database] connection,
[placement] endpoint_url and auth_token); the subcommand and its arguments are argparse's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import sqlalchemy.exc
from oslo_config import cfg

from altsim import daemon
from altsim.db.api import ApiDatabase, FlavorExists
from altsim.db.cell import CellDatabase
from altsim.db.discover import discover_hosts
from altsim.masking import mask_text, mask_url
from altsim.objects import Flavor
from altsim_lab.manage.audit import AuditReport, audit_placement
from altsim_lab.manage.cells import ManageError, create_cell, delete_cell
from placement_sim import conf as placement_conf

PROG = "altsim-manage"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _api_db(conf: cfg.ConfigOpts) -> ApiDatabase:
    if not conf.api_database.connection:
        raise ManageError("[api_database] connection is not set in the configuration "
                          "(give the file with --config-file)")
    return ApiDatabase(conf.api_database.connection)


def cmd_db_sync(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    api_db = _api_db(conf)
    api_db.sync()
    print(f"API database synced: {mask_url(api_db.url)}")
    for cell in api_db.list_cells():
        CellDatabase(cell.database_connection).sync()
        print(f"cell {cell.name} ({cell.uuid}) database synced: "
              f"{mask_url(cell.database_connection)}")
    return 0


def cmd_cell_create(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    cell = create_cell(_api_db(conf), args.name, args.database_connection,
                       args.transport_url, args.uuid)
    print(f"created cell {cell.name} with uuid {cell.uuid}")
    return 0


def cmd_cell_list(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    rows = [(c.uuid, c.name, mask_url(c.transport_url), mask_url(c.database_connection),
             "yes" if c.disabled else "no") for c in _api_db(conf).list_cells()]
    print(_table(("uuid", "name", "transport_url", "database_connection", "disabled"), rows))
    return 0


def cmd_cell_delete(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    cell = delete_cell(_api_db(conf), args.name)
    print(f"deleted cell {cell.name} ({cell.uuid})")
    return 0


def cmd_discover_hosts(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    api_db = _api_db(conf)
    added = discover_hosts(api_db)
    if not added:
        print("no new hosts found")
        return 0
    cells = api_db.host_cells()
    names = {c.uuid: c.name for c in api_db.list_cells()}
    print(_table(("host", "cell"), [(h, names.get(cells[h], cells[h])) for h in added]))
    return 0


def cmd_flavor_create(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    resources = {"VCPU": args.vcpus, "MEMORY_MB": args.ram, "DISK_GB": args.disk}
    for item in args.resource:
        rc, sep, amount = item.partition("=")
        if not sep or not rc or not amount.isdigit():
            raise ManageError(f"--resource {item!r}: expected RESOURCE_CLASS=AMOUNT, "
                              "e.g. CUSTOM_GPU=1")
        resources[rc] = int(amount)
    resources = {rc: amount for rc, amount in resources.items() if amount}
    try:
        _api_db(conf).create_flavor(Flavor(name=args.name, resources=resources))
    except FlavorExists as exc:
        raise ManageError(str(exc)) from None
    print(f"created flavor {args.name}: "
          + ", ".join(f"{rc}={n}" for rc, n in sorted(resources.items())))
    return 0


def cmd_flavor_list(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    rows = [(f.name, ", ".join(f"{rc}={n}" for rc, n in sorted(f.resources.items())))
            for f in _api_db(conf).list_flavors()]
    print(_table(("name", "resources"), rows))
    return 0


def print_audit(report: AuditReport) -> None:
    if report.orphans:
        print("Allocations whose consumer is not an ACTIVE instance in any cell:")
        print(_table(("provider", "consumer", "resources", "reason"), [
            (o.provider_name, o.consumer_uuid,
             ",".join(f"{rc}={n}" for rc, n in sorted(o.resources.items())), o.reason)
            for o in report.orphans]))
    if report.mismatches:
        print("Providers whose usage differs from the sum of their allocations:")
        print(_table(("provider", "resource_class", "usage", "allocated"), [
            (m.provider_name, m.resource_class, m.usage, m.allocated)
            for m in report.mismatches]))
    for consumer in report.deleted:
        print(f"deleted allocations of consumer {consumer}")
    if report.clean:
        print("placement audit: no problems found")


def cmd_placement_audit(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    if not conf.placement.endpoint_url:
        raise ManageError("[placement] endpoint_url is not set: the audit must reach the "
                          "placement service the deployment uses")
    report = audit_placement(_api_db(conf), placement_conf.make_placement_client(conf),
                             delete=args.delete)
    print_audit(report)
    return 0 if report.clean else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Manage altsim's API database, cell mappings and placement.")
    parser.add_argument("--config-file", action="append", default=[], metavar="FILE",
                        help="oslo.config file to read ([api_database] connection, "
                             "[placement] endpoint_url/auth_token); may be repeated.")
    sub = parser.add_subparsers(dest="category", metavar="CATEGORY", required=True)

    db = sub.add_parser("db", help="API and cell database schemas.")
    db_sub = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    db_sub.add_parser("sync", help="Create the API DB schema, then each mapped cell's DB "
                                   "schema.").set_defaults(func=cmd_db_sync)

    cell = sub.add_parser("cell", help="Cell mappings and host discovery.")
    cell_sub = cell.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = cell_sub.add_parser(
        "create", help="Map a new cell. The name cell0 gets the well-known cell0 uuid and "
                       "transport none:/// unless given.")
    create.add_argument("--name", required=True, help="Unique name of the cell.")
    create.add_argument("--transport-url", help="Message queue URL of the cell (required "
                                                "except for cell0).")
    create.add_argument("--database-connection", required=True,
                        help="SQLAlchemy URL of the cell's database.")
    create.add_argument("--uuid", help="UUID of the cell (default: generated; cell0's "
                                       "well-known uuid for cell0).")
    create.set_defaults(func=cmd_cell_create)
    cell_sub.add_parser("list", help="Show the cell mappings, passwords masked as ***."
                        ).set_defaults(func=cmd_cell_list)
    delete = cell_sub.add_parser("delete", help="Delete a cell mapping; refused while "
                                                "instances or hosts are mapped to it.")
    delete.add_argument("name", metavar="NAME", help="Name of the cell to delete.")
    delete.set_defaults(func=cmd_cell_delete)
    cell_sub.add_parser("discover-hosts", help="Map the compute hosts found in the cells' DBs "
                                               "to their cell; prints the hosts newly mapped."
                        ).set_defaults(func=cmd_discover_hosts)

    flavor = sub.add_parser("flavor", help="Flavors (what `altsim server create --flavor` "
                                           "names).")
    flavor_sub = flavor.add_subparsers(dest="action", metavar="ACTION", required=True)
    flavor_create = flavor_sub.add_parser(
        "create", help="Add a flavor: the placement resources one server of it consumes.")
    flavor_create.add_argument("name", metavar="NAME", help="Unique name of the flavor.")
    flavor_create.add_argument("--vcpus", type=int, default=1, help="VCPU (default 1).")
    flavor_create.add_argument("--ram", type=int, default=512, metavar="MB",
                               help="MEMORY_MB (default 512).")
    flavor_create.add_argument("--disk", type=int, default=1, metavar="GB",
                               help="DISK_GB (default 1; 0 for none).")
    flavor_create.add_argument("--resource", action="append", default=[],
                               metavar="CLASS=AMOUNT",
                               help="Another resource class, e.g. CUSTOM_GPU=1; may be "
                                    "repeated.")
    flavor_create.set_defaults(func=cmd_flavor_create)
    flavor_sub.add_parser("list", help="Show the flavors.").set_defaults(func=cmd_flavor_list)

    placement = sub.add_parser("placement", help="Placement consistency.")
    placement_sub = placement.add_subparsers(dest="action", metavar="ACTION", required=True)
    audit = placement_sub.add_parser(
        "audit", help="Report allocations whose consumer is not an ACTIVE instance in any "
                      "cell, and providers whose usage differs from their allocations. Exit "
                      "0 when clean, 1 when something is found.")
    audit.add_argument("--delete", action="store_true",
                       help="Also delete the orphan consumers' allocations.")
    audit.set_defaults(func=cmd_placement_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return int(exc.code or 0)
    oslo_args = [arg for path in args.config_file for arg in ("--config-file", path)]
    try:
        conf = daemon.read_conf(oslo_args, [placement_conf.register_opts])
    except (cfg.Error, OSError) as exc:
        print(mask_text(f"{PROG}: error: configuration: {exc}"), file=sys.stderr)
        return 2
    try:
        return args.func(conf, args)
    except ManageError as exc:
        print(mask_text(f"{PROG}: error: {exc}"), file=sys.stderr)
        return 2
    except sqlalchemy.exc.SQLAlchemyError as exc:
        print(mask_text(f"{PROG}: error: database: {exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0]}"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
