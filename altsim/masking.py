"""Secrets kept out of sight: wherever altsim shows text, passwords and tokens read `***`.

What is secret: the password of every URL (`rabbit://user:PASSWORD@host/`, several hosts
each with its own; `postgresql+psycopg://user:PASSWORD@host/db`), `key=value` and JSON forms
of password-like keys (oslo.utils' `strutils.mask_password`, which knows `password`,
`auth_token`, `token`, `secret`, ... but not URLs), an `X-Auth-Token` header, and the literal
value of each secret registered here (the placement token, a per-cell RabbitMQ password), in
case one appears bare.

`mask_text` is the one function every output path uses: log lines (`install_log_masking` puts
a masking formatter on the root logger's handlers, so a traceback is masked too), the error
messages the commands print, the launcher's copy of a daemon's output, and the report's free
text. Literal secrets shorter than MIN_LITERAL are not registered: masking a short password
everywhere would also hide ordinary words (their URL forms are masked whatever their length).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from oslo_config import cfg
from oslo_utils import strutils

MASK = "***"
MIN_LITERAL = 8

# scheme://netloc with credentials, up to the path: the netloc may list several hosts.
_URL_WITH_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<netloc>[^\s/?#\"'<>]*@[^\s/?#\"'<>]*)")
_AUTH_HEADER = re.compile(r"(?i)(x-auth-token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+")

_literals: set[str] = set()
_literals_lock = threading.Lock()


def _mask_netloc(netloc: str) -> str:
    """`user:password@host` -> `user:***@host`, for each comma-separated host."""
    entries = []
    for entry in netloc.split(","):
        creds, at, host = entry.rpartition("@")
        if at and ":" in creds:
            creds = creds.split(":", 1)[0] + ":" + MASK
        entries.append(f"{creds}{at}{host}")
    return ",".join(entries)


def mask_url(url: str) -> str:
    """A URL with every password replaced by `***` (transport URLs may list several hosts:
    rabbit://u:p@h1,u:p@h2/); a string that does not parse as a URL is masked whole."""
    try:
        urlsplit(url)
    except ValueError:
        return MASK
    return _URL_WITH_CREDENTIALS.sub(
        lambda m: m.group("scheme") + _mask_netloc(m.group("netloc")), url)


def url_passwords(url: str) -> list[str]:
    """The passwords in a URL (as written, and percent-decoded), to register as secrets."""
    found = []
    for match in _URL_WITH_CREDENTIALS.finditer(url):
        for entry in match.group("netloc").split(","):
            creds, at, _ = entry.rpartition("@")
            if at and ":" in creds:
                password = creds.split(":", 1)[1]
                found += [password, unquote(password)]
    return found


def register_secret(*values: str | None) -> None:
    """Mask these literal values wherever they appear from now on (in this process)."""
    with _literals_lock:
        for value in values:
            if value and len(value) >= MIN_LITERAL:
                _literals.add(value)


def mask_text(text: str) -> str:
    """`text` with every password and token in it replaced by `***`."""
    if not text:
        return text
    # Known values first: the patterns below may rewrite part of one, hiding the rest.
    for literal in _snapshot():
        if literal in text:
            text = text.replace(literal, MASK)
    if "://" in text and "@" in text:
        text = _URL_WITH_CREDENTIALS.sub(
            lambda m: m.group("scheme") + _mask_netloc(m.group("netloc")), text)
    text = strutils.mask_password(text, secret=MASK)
    if "auth-token" in text.lower():
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
    return text


def _snapshot() -> list[str]:
    with _literals_lock:
        # Longest first: a secret that contains another is masked whole.
        return sorted(_literals, key=len, reverse=True)


def mask_value(key: str, value: Any, secret_keys: Iterable[str] = ()) -> Any:
    """A config value as it may be shown: `***` for a secret option (named in `secret_keys`,
    or password-like by name) unless it is a URL, which shows with its password masked (the
    host and vhost or database are worth seeing); other text with the secrets in it masked."""
    name = key.rpartition(".")[2]
    is_url = isinstance(value, str) and "://" in value
    if (key in set(secret_keys) or _secret_name(name)) and not is_url:
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v, secret_keys) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(key, v, secret_keys) for v in value]
    return value


def mask_config(config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> dict[str, Any]:
    """A scenario's `config:` as a report shows it: secret options' values masked."""
    keys = set(secret_keys)
    return {key: mask_value(key, value, keys) for key, value in config.items()}


def _secret_name(name: str) -> bool:
    return bool(strutils.mask_dict_password({name: "x"}, secret=MASK)[name] == MASK)


def secret_options(conf: cfg.ConfigOpts) -> list[str]:
    """"group.option" (bare for [DEFAULT]) of every option registered secret on `conf`."""
    keys = [name for name, info in conf._opts.items() if info["opt"].secret]
    for group_name, group in conf._groups.items():
        keys += [f"{group_name}.{name}" for name, info in group._opts.items()
                 if info["opt"].secret]
    return keys


def register_conf_secrets(conf: cfg.ConfigOpts) -> None:
    """Register the value of every secret option of a parsed conf (and each URL's
    passwords): a daemon does so at start, so its own secrets never show in its output."""
    for key in secret_options(conf):
        group, _, name = key.rpartition(".")
        try:
            value = getattr(getattr(conf, group) if group else conf, name)
        except (cfg.Error, ValueError):
            continue
        if isinstance(value, str) and "://" in value:  # a URL: only its passwords
            register_secret(*url_passwords(value))
        elif isinstance(value, str):
            register_secret(value)


class MaskingFormatter(logging.Formatter):
    """Formats with the handler's own formatter, then masks the whole line (message,
    arguments and traceback alike)."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(self.inner.format(record))


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Put a MaskingFormatter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not isinstance(handler.formatter, MaskingFormatter):
            handler.setFormatter(MaskingFormatter(handler.formatter))
