"""Host filters, one per module, and the registry that builds the enabled ones by name."""

from __future__ import annotations

from oslo_config import cfg

from scheduler.filters.base import HostFilter
from scheduler.filters.compute_filter import ComputeFilter
from scheduler.filters.resource_filter import ResourceFilter
from scheduler.plugins import load_plugins

ALL_FILTERS: dict[str, type[HostFilter]] = {
    cls.__name__: cls for cls in (ComputeFilter, ResourceFilter)}


def enabled_filters(conf: cfg.ConfigOpts) -> list[HostFilter]:
    return load_plugins(conf, "filter_scheduler.enabled_filters",
                        conf.filter_scheduler.enabled_filters, ALL_FILTERS)
