"""Entry point for oslo-config-generator: the core options of altsim."""

from altsim.conf.common import list_opts

__all__ = ["list_opts"]
