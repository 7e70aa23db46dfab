"""`altsim`: run scenarios, and drive a running deployment like the OpenStack client.

`altsim run SCENARIO` deploys a scenario (embedded, or as daemons over RabbitMQ) and checks its
expectations; `altsim show-run REPORT` tells a saved run again or draws how one of its
instances was built. The other commands (`server create|list|show`, `server event list`,
`host list`, `cell list`, `flavor list`) talk to a deployment that is already running, found
through the config file given with --config-file or $ALTSIM_CONFIG_FILE. Built on cliff, so
every listing takes -f table|json|yaml|csv|value and -c COLUMN, and `altsim help COMMAND`
explains each.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
from collections.abc import Sequence

from cliff.app import App
from cliff.commandmanager import CommandManager

from altsim import gc_tuning
from altsim.masking import MaskingFormatter
from altsim_lab.client.connection import CONFIG_ENV
from altsim_lab.cmd.client_commands import COMMANDS
from altsim_lab.cmd.explore import ExploreScenario
from altsim_lab.cmd.run import RunScenario
from altsim_lab.cmd.show_run import ShowRun
from altsim_lab.cmd.sweep import SweepScenario


class AltsimApp(App):
    NAME = "altsim"
    _handlers: list[logging.Handler] = []

    def __init__(self) -> None:
        manager = CommandManager("altsim.cli")  # other packages may add commands here
        manager.add_command("run", RunScenario)
        manager.add_command("show-run", ShowRun)
        manager.add_command("sweep", SweepScenario)
        manager.add_command("explore", ExploreScenario)
        for name, command in COMMANDS.items():
            manager.add_command(name, command)
        super().__init__(
            description="Simulate Nova's Cells v2 build path with alternate hosts: run "
                        "scenarios, or drive a running deployment.",
            version=importlib.metadata.version("altsim"), command_manager=manager,
            deferred_help=True)

    def build_option_parser(self, description: str | None, version: str | None,
                            argparse_kwargs: dict | None = None) -> argparse.ArgumentParser:
        kwargs = {"prog": "altsim", **(argparse_kwargs or {})}
        parser = super().build_option_parser(description, version, kwargs)
        parser.add_argument("--config-file", action="append", default=[], metavar="FILE",
                            help="config file of the running deployment ([api_database] "
                                 "connection, [DEFAULT] transport_url, [placement] "
                                 f"endpoint_url/auth_token); default ${CONFIG_ENV}. Not "
                                 "needed by `run`.")
        return parser


    def configure_logging(self) -> None:
        # Quieter than cliff's default (INFO on the console, DEBUG on the root logger): the
        # services log every message at DEBUG, and merely creating those records slows an
        # embedded run. -q: errors only; default: warnings; -v: info; -vv: debug.
        level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}.get(
            self.options.verbose_level, logging.DEBUG)
        root = logging.getLogger()
        for handler in AltsimApp._handlers:  # an earlier run in this process (tests)
            root.removeHandler(handler)
        console = logging.StreamHandler(self.stderr)
        console.setLevel(level)
        console.setFormatter(logging.Formatter(self.CONSOLE_MESSAGE_FORMAT))
        AltsimApp._handlers = [console]
        if self.options.log_file:
            file_handler = logging.FileHandler(self.options.log_file)
            file_handler.setFormatter(logging.Formatter(self.LOG_FILE_MESSAGE_FORMAT))
            AltsimApp._handlers.append(file_handler)
            level = logging.DEBUG
        for handler in AltsimApp._handlers:
            # Passwords and tokens never reach the console or the log file (altsim.masking).
            handler.setFormatter(MaskingFormatter(handler.formatter))
            root.addHandler(handler)
        root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:  # cliff would open an interactive shell; a usage summary is more useful
        args = ["--help"]
    gc_tuning.tune()  # an embedded run is every service in this process
    try:
        return AltsimApp().run(args)
    except SystemExit as exc:  # --help, or argparse's usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
