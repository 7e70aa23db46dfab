"""Register an option group on one ConfigOpts without sharing state with other ConfigOpts.

oslo.config keeps a registered group's options (and their overrides) on the OptGroup object, so
registering one module-level OptGroup on several ConfigOpts would let an override on one show
on all of them. Every ConfigOpts gets its own copy of the group instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg


def register_group_opts(conf: cfg.ConfigOpts, group: cfg.OptGroup,
                        opts: Sequence[cfg.Opt]) -> None:
    conf.register_group(cfg.OptGroup(group.name, title=group.title, help=group.help))
    conf.register_opts(list(opts), group=group.name)
