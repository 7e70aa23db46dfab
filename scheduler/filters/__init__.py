"""Host filters, one per module, and the registry that builds the enabled ones by name."""

from __future__ import annotations

from oslo_config import cfg

from scheduler.filters.base import HostFilter
from scheduler.filters.compute_filter import ComputeFilter
from scheduler.filters.resource_filter import ResourceFilter

ALL_FILTERS: dict[str, type[HostFilter]] = {
    cls.__name__: cls for cls in (ComputeFilter, ResourceFilter)}


def enabled_filters(conf: cfg.ConfigOpts) -> list[HostFilter]:
    filters = []
    for name in conf.filter_scheduler.enabled_filters:
        if name not in ALL_FILTERS:
            raise ValueError(f"filter_scheduler.enabled_filters: unknown filter {name!r} "
                             f"(available: {', '.join(sorted(ALL_FILTERS))})")
        filters.append(ALL_FILTERS[name](conf))
    return filters
