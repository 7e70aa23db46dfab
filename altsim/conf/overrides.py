"""Scenario `config:` entries ("group.option": value) applied to a service's ConfigOpts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oslo_config import cfg


class ConfigOverrideError(ValueError):
    """A scenario config key that names no registered option, or a value it does not accept."""


def _split(key: str) -> tuple[str | None, str]:
    group, _, name = key.rpartition(".")
    return (group or None), name


def apply_overrides(conf: cfg.ConfigOpts, overrides: Mapping[str, Any],
                    source: str = "config") -> None:
    for key, value in overrides.items():
        group, name = _split(key)
        try:
            opt_group = conf if group is None else getattr(conf, group)
            opt = opt_group._group._opts[name]["opt"] if group else conf._opts[name]["opt"]
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError, KeyError):
            raise ConfigOverrideError(f"{source}.{key}: no such option") from None
        if isinstance(value, dict) and isinstance(opt.type, cfg.types.Dict):
            value = {str(k): str(v) for k, v in value.items()}
        try:
            conf.set_override(name, value, group=group)
            getattr(opt_group, name)  # values are converted and checked when read
        except (ValueError, TypeError, cfg.ConfigFileValueError) as exc:
            conf.clear_override(name, group=group)
            raise ConfigOverrideError(f"{source}.{key}: invalid value {value!r}: {exc}") from None
