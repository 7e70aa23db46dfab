"""How the `altsim` client reaches a running deployment: the files it reads and what it opens.

A client config file names the API database ([api_database] connection), the API-level bus
([DEFAULT] transport_url, needed only to create servers) and placement ([placement]
endpoint_url and auth_token, needed for host usage). The cells' databases come from the cell
mappings in the API database, as in Nova. Everything is opened on first use, so a read-only
command never touches the bus.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from oslo_config import cfg

from altsim import rpc
from altsim.conf import make_conf
from altsim.db.api import ApiDatabase, CellMapping
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID
from placement_sim import conf as placement_conf

CONFIG_ENV = "ALTSIM_CONFIG_FILE"


class ClientError(RuntimeError):
    """Something the user can fix: a missing option, an unknown server, an ambiguous name."""


class InvalidClientInput(ClientError):
    """A bad argument or configuration, found before anything was done: exit 2, as `altsim
    run` exits on a bad input (a ClientError otherwise exits 1)."""


def config_files(given: Sequence[str]) -> list[str]:
    """The files given with --config-file, else the one named by $ALTSIM_CONFIG_FILE."""
    files = list(given) or ([os.environ[CONFIG_ENV]] if os.environ.get(CONFIG_ENV) else [])
    if not files:
        raise InvalidClientInput(f"no configuration: give --config-file FILE or set {CONFIG_ENV} "
                          "(a file with [api_database] connection, [DEFAULT] transport_url "
                          "and [placement] endpoint_url; see docs/deploy.md)")
    for path in files:
        if not os.path.isfile(path):
            raise InvalidClientInput(f"config file {path} does not exist")
    return files


def load_client_conf(files: Sequence[str]) -> cfg.ConfigOpts:
    conf = make_conf([placement_conf.register_opts])
    args = [arg for path in files for arg in ("--config-file", path)]
    try:
        conf(args, project="altsim", default_config_files=[], default_config_dirs=[])
    except cfg.Error as exc:  # not INI, or a value its option refuses
        raise InvalidClientInput(f"configuration: {' '.join(str(exc).split())}") from None
    return conf


class Connection:
    """A running deployment as the client sees it; close() releases what was opened."""

    def __init__(self, conf: cfg.ConfigOpts, placement: Any = None) -> None:
        """`placement`, when given, is used instead of the one [placement] names (an
        embedded deployment's in-process client)."""
        self.conf = conf
        self._opened: list[Any] = []
        if placement is not None:
            self.placement = placement

    @classmethod
    def from_files(cls, given: Sequence[str]) -> Connection:
        return cls(load_client_conf(config_files(given)))

    @cached_property
    def api_db(self) -> ApiDatabase:
        if not self.conf.api_database.connection:
            raise InvalidClientInput("[api_database] connection is not set in the "
                                     "configuration")
        return ApiDatabase(self.conf.api_database.connection)

    @cached_property
    def cells(self) -> dict[str, CellMapping]:
        """cell uuid -> mapping, cell0 included."""
        return {cell.uuid: cell for cell in self.api_db.list_cells()}

    def cell_db(self, cell_uuid: str) -> CellDatabase:
        return self._cell_dbs.setdefault(
            cell_uuid, CellDatabase(self.cells[cell_uuid].database_connection))

    def cell_name(self, cell_uuid: str | None) -> str | None:
        if cell_uuid is None:
            return None
        cell = self.cells.get(cell_uuid)
        return cell.name if cell else ("cell0" if cell_uuid == CELL0_UUID else cell_uuid)

    @cached_property
    def _cell_dbs(self) -> dict[str, CellDatabase]:
        return {}

    @cached_property
    def placement(self) -> Any:
        if not self.conf.placement.endpoint_url:
            raise InvalidClientInput("[placement] endpoint_url is not set in the "
                                     "configuration: host usage comes from the deployment's "
                                     "placement service")
        client = placement_conf.make_placement_client(self.conf)
        self._opened.append(client)
        return client

    @cached_property
    def conductor_api(self) -> Any:
        from conductor.rpcapi import ConductorAPI  # only `server create` talks to the bus

        # oslo.messaging's default, rabbit:// (guest on localhost, vhost /), is never this
        # deployment's API vhost: only a URL the file gives counts.
        if self.conf.transport_url in (None, "", "rabbit://"):
            raise InvalidClientInput("[DEFAULT] transport_url is not set in the "
                                     "configuration: new servers are cast to the super "
                                     "conductor on the API bus")
        transport = rpc.get_rpc_transport(self.conf, self.conf.transport_url)
        self._opened.append(transport)
        return ConductorAPI(transport)

    def close(self) -> None:
        for resource in reversed(self._opened):
            (getattr(resource, "cleanup", None) or resource.close)()
        self._opened.clear()
