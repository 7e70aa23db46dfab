"""Scenario `config:` entries ("group.option": value) applied to a service's ConfigOpts."""

from __future__ import annotations

import math
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
        problem = _shape_problem(opt, value)
        if problem:
            raise ConfigOverrideError(f"{source}.{key}: invalid value {value!r}: {problem}")
        if isinstance(value, dict) and isinstance(opt.type, cfg.types.Dict):
            value = {str(k): str(v) for k, v in value.items()}
        try:
            conf.set_override(name, value, group=group)
            # values are converted and checked when read; "" reads as no value at all
            if getattr(opt_group, name) is None and opt.default is not None:
                raise ValueError("the option needs a value")
        except (ValueError, TypeError, AttributeError, cfg.Error) as exc:
            # (oslo.config's types assume strings: a list given to a list option's .strip())
            conf.clear_override(name, group=group)
            raise ConfigOverrideError(f"{source}.{key}: invalid value {value!r}: {exc}") from None


def _shape_problem(opt: cfg.Opt, value: Any) -> str | None:
    """What oslo.config would silently coerce: a YAML value of the wrong kind for the option
    (true for a number, 1.5 for an integer, a list for a string, null for an option that
    needs a value), or a number that is not finite."""
    kind = opt.type
    if value is None:
        return None if opt.default is None else "the option needs a value"
    if isinstance(kind, cfg.types.List):
        return None if isinstance(value, (list, str)) else "expected a list"
    if isinstance(kind, cfg.types.Dict):
        return None if isinstance(value, (dict, str)) else "expected a mapping"
    if isinstance(value, (list, dict)):
        return f"expected a single value, got a {type(value).__name__}"
    if isinstance(kind, cfg.types.Boolean):
        return None if isinstance(value, (bool, str)) else "expected true or false"
    if isinstance(value, bool):
        return "expected a number or a string, got a boolean"
    if isinstance(kind, cfg.types.Integer) and isinstance(value, float) \
            and not value.is_integer():
        return "expected an integer"
    if isinstance(kind, cfg.types.Float):
        try:
            finite = math.isfinite(float(value))
        except OverflowError:  # an integer too large for a float
            finite = False
        except ValueError:
            return None  # not a number at all: the option's own check says so
        return None if finite else "expected a finite number"
    return None
