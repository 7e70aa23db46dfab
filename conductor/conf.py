"""Options of the conductors."""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf.groups import register_group_opts

conductor_group = cfg.OptGroup("conductor", help="The super and cell conductors.")

conductor_opts = [
    cfg.StrOpt("role", default="super", choices=["super", "cell"],
               help="super: the API-level conductor (API bus, API DB, every cell for casts); "
                    "cell: a cell's conductor (its cell bus and DB only), which handles "
                    "reschedules with the alternates it is given and never calls up."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, conductor_group, conductor_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(conductor_group.name, conductor_opts)]
