"""Config files read strictly: a missing file, a file that is not INI, or a bad value is one
`ConfigFileError` naming the file, the option (group.option) and the value.

oslo.config only converts a value when the option is first read, so a daemon given
`[scheduler] max_attempts = zero` would start and fail later with a traceback, or another
complaint first; and an option it also has on its command line (`[DEFAULT] debug = perhaps`)
makes argparse exit with a message that names neither the file nor the group. So every file
named with --config-file (and every *.conf of a --config-dir) is read and checked here first,
each value of a registered option converted with that option's type (its choices, min and max
included); then, once oslo.config has parsed everything, every option is read once, so a bad
value from anywhere else (a default config file, the environment) is named too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from oslo_config import cfg, iniparser

from altsim.masking import mask_text

_SOURCE = re.compile(r"detail='([^']*)'")


class ConfigFileError(cfg.Error):
    """A config file that cannot be used; its message is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def parse_config(conf: cfg.ConfigOpts, args: Sequence[str], project: str = "altsim") -> None:
    """`conf(args, project=project)`, with every config file and value checked first;
    ConfigFileError for the first problem found."""
    files = {path: _read(path) for path in _config_files(args)}
    for path, sections in files.items():
        _check_values(conf, path, sections)
    try:
        conf(list(args), project=project)
    except cfg.ConfigFileParseError as exc:
        raise ConfigFileError(f"{exc.config_file}: not a valid INI file: {exc.msg}") from None
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigFilesPermissionDeniedError,
            cfg.ConfigDirNotFoundError) as exc:
        raise ConfigFileError(str(exc)) from None
    except UnicodeDecodeError as exc:  # a default config file (one not named in args)
        raise ConfigFileError(f"a config file is not UTF-8 text: {exc}") from None
    _check_every_option(conf, files)


def _config_files(args: Sequence[str]) -> Iterator[str]:
    for flag, value in _flag_values(args, ("--config-file", "--config-dir")):
        if flag == "--config-file":
            yield value
        elif Path(value).is_dir():
            yield from (str(p) for p in sorted(Path(value).glob("*.conf")))
        else:
            raise ConfigFileError(f"{value}: no such config directory")


def _flag_values(args: Sequence[str], flags: Sequence[str]) -> Iterator[tuple[str, str]]:
    args = list(args)
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in flags:
            if eq:
                yield flag, value
            elif i + 1 < len(args):
                yield flag, args[i + 1]


def _read(path: str) -> dict[str, dict[str, list[str]]]:
    try:
        Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not a valid INI file: not UTF-8 text "
                              f"(byte {exc.start})") from None
    sections: dict[str, dict[str, list[str]]] = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except iniparser.ParseError as exc:
        raise ConfigFileError(f"{path}: not a valid INI file: line {exc.lineno}: "
                              f"{exc.msg}: {exc.line!r}") from None
    return sections


def _registered(conf: cfg.ConfigOpts, group: str | None) -> dict[str, cfg.Opt]:
    # oslo.config has no public look-up of an option object (altsim_lab.config_overrides does the
    # same): [DEFAULT]'s are on the ConfigOpts, a group's on its OptGroup.
    infos = conf._opts if group is None else conf._groups[group]._opts
    return {name: info["opt"] for name, info in infos.items()}


def _groups(conf: cfg.ConfigOpts) -> list[str | None]:
    return [None, *conf._groups]


def _check_values(conf: cfg.ConfigOpts, path: str,
                  sections: dict[str, dict[str, list[str]]]) -> None:
    groups = {group or "DEFAULT": group for group in _groups(conf)}
    for section, values in sections.items():
        if section not in groups:
            continue  # a section for another program (oslo.config ignores it too)
        opts = _registered(conf, groups[section])
        for name, raw_values in values.items():
            opt = opts.get(name)
            if opt is None:
                continue
            for raw in raw_values:
                if "$" in raw:
                    continue  # a $substitution: checked once oslo.config has resolved it
                try:
                    opt.type(raw)
                except (ValueError, TypeError) as exc:
                    shown = "'***'" if opt.secret else repr(raw)  # e.g. a password
                    raise ConfigFileError(f"{path}: {section}.{name}: invalid value {shown}: "
                                          f"{_masked(opt, str(exc), raw)}") from None


def _check_every_option(conf: cfg.ConfigOpts,
                        files: dict[str, dict[str, list[str]]]) -> None:
    for group in _groups(conf):
        holder = conf if group is None else getattr(conf, group)
        for name in _registered(conf, group):
            try:
                getattr(holder, name)
            except (cfg.Error, ValueError) as exc:  # a bad value, or a bad $substitution
                section = group or "DEFAULT"
                source, raw = _source(files, section, name, str(exc))
                opt = _registered(conf, group)[name]
                value = "" if raw is None else " '***'" if opt.secret else f" {raw!r}"
                reason = _masked(opt, str(exc).rpartition(" is not valid: ")[2], raw)
                raise ConfigFileError(f"{source}: {section}.{name}: invalid value{value}: "
                                      f"{reason}") from None


def _source(files: dict[str, dict[str, dict[str, list[str]]]], section: str, name: str,
            error: str) -> tuple[str, str | None]:
    """Where a value that failed came from, and its text there: oslo.config's message says
    "Value for option X from LocationInfo(..., detail='FILE') is not valid: WHY" (asking it
    with get_location would convert the value again, and fail the same way)."""
    found = _SOURCE.search(error)
    named = os.path.abspath(found.group(1)) if found else None
    for path in reversed(list(files)):  # the last file that sets it wins
        raw = files[path].get(section, {}).get(name)
        if raw and (named is None or os.path.abspath(os.path.expanduser(path)) == named):
            return path, raw[-1]
    return (found.group(1) if found else "configuration"), None


def _masked(opt: cfg.Opt, text: str, raw: str | None) -> str:
    """An error about a secret option's value, without the value (its reason may quote it)."""
    if opt.secret and raw:
        text = text.replace(raw, "***")
    return mask_text(text)
