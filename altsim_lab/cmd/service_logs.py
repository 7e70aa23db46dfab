"""The services' log lines on the console of `altsim run`: hidden by default, named with -v.

An embedded run is every service in this process, logging to the root logger: a run that fails
builds on purpose would otherwise print a warning per failed build between the progress bar
and the story (a 20,000-request run printed 39,986 lines). By default the console keeps only
the lab's own records (altsim_lab, cliff: a launcher that could not clean up, a command's
error); with -v every service line is shown, prefixed with its level and logger (the service)
and with the name beside each uuid the run knows (its instances', its hosts' providers). A
--log-file gets everything, unchanged. Launched services log to their own files, not here.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from altsim_lab.nova_api import instance_uuid_for
from altsim_lab.scenario.schema import Scenario
from compute_sim.host import node_uuid_for

LAB_LOGGERS = ("altsim_lab", "cliff")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def is_service_record(record: logging.LogRecord) -> bool:
    return not any(record.name == lab or record.name.startswith(lab + ".")
                   for lab in LAB_LOGGERS)


class HideServiceRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not is_service_record(record)


class ServiceLineFormatter(logging.Formatter):
    """Wraps the console's formatter (which masks secrets): a service's line gets its level
    and logger in front, and `uuid (name)` for every instance uuid of the run."""

    def __init__(self, inner: logging.Formatter | None, names_by_uuid: Mapping[str, str]):
        super().__init__()
        self._inner = inner or logging.Formatter()
        self._names = names_by_uuid

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        if not is_service_record(record):
            return text
        text = UUID.sub(self._name_beside, text)
        return f"{record.levelname} {record.name}: {text}"

    def _name_beside(self, match: re.Match[str]) -> str:
        name = self._names.get(match.group(0))
        return f"{match.group(0)} ({name})" if name else match.group(0)


def names_by_uuid(scenario: Scenario) -> dict[str, str]:
    """Every uuid of a run known before it starts: its instances' (fixed by seed, scenario
    and name) and its hosts' compute nodes, which are their resource providers too."""
    names = {instance_uuid_for(scenario.seed, scenario.name, name): name
             for name in scenario.instance_names()}
    names.update((node_uuid_for(host.name), host.name)
                 for cell in scenario.cells for host in cell.all_hosts())
    return names


def console_handlers() -> list[logging.StreamHandler]:
    """The root logger's handlers that write to the terminal (not to a log file)."""
    return [h for h in logging.getLogger().handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
            and getattr(h, "stream", None) in (sys.stderr, sys.__stderr__)]


@contextmanager
def service_logs(verbose: bool, names_by_uuid: Mapping[str, str]) -> Iterator[None]:
    """For the duration of a run: hide the services' records from the console (verbose
    False), or show them named (True). A console handler is pointed at the current
    sys.stderr, which a live progress bar replaces to print lines above itself."""
    root = logging.getLogger()
    handlers = console_handlers()
    saved = [(h, h.stream, h.formatter) for h in handlers]
    hide = HideServiceRecords()
    levels = _quieten(root) if not verbose and len(handlers) == len(root.handlers) else {}
    for handler in handlers:
        if verbose:
            handler.setFormatter(ServiceLineFormatter(handler.formatter, names_by_uuid))
            handler.setStream(sys.stderr)
        else:
            handler.addFilter(hide)
    try:
        yield
    finally:
        for handler, stream, formatter in saved:
            handler.removeFilter(hide)
            handler.setFormatter(formatter)
            if handler.stream is not stream:
                handler.setStream(stream)
        for name, level in levels.items():
            logging.getLogger(name or None).setLevel(level)


def _quieten(root: logging.Logger) -> dict[str, int]:
    """Raise the root logger to ERROR so the services do not even make the records the
    console would hide (making them slows an embedded run), keeping the lab's loggers at the
    console's level. Returns what to restore. Only when nothing else (a log file) listens."""
    if root.level >= logging.ERROR:
        return {}
    levels = {"": root.level}
    for name in LAB_LOGGERS:
        lab = logging.getLogger(name)
        levels[name] = lab.level
        if lab.level == logging.NOTSET:
            lab.setLevel(root.level)
    root.setLevel(logging.ERROR)
    return levels
