"""Placement microversions: which ones altsim-placement serves and how a request names one.

A request asks with ``OpenStack-API-Version: placement 1.N`` (or ``latest``); no header means
1.0, as in placement. Like placement's microversion middleware, a malformed version is a 400
and a well-formed but unsupported one a 406 whose error names ``max_version`` and
``min_version``.
"""

from __future__ import annotations

from placement_sim.exceptions import DEFAULT, PlacementError

Version = tuple[int, int]
MIN_VERSION: Version = (1, 0)
MAX_VERSION: Version = (1, 39)
VERSION_HEADER = "OpenStack-API-Version"
SERVICE_TYPE = "placement"


def version_string(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def version_header_value(version: Version) -> str:
    """The ``OpenStack-API-Version`` value an answer at ``version`` carries."""
    return f"{SERVICE_TYPE} {version_string(version)}"


def parse_version_header(header: str | None) -> Version:
    """The requested microversion, as placement's microversion middleware decides it."""
    for item in (header or "").split(","):
        service, _, wanted = item.strip().partition(" ")
        if service.lower() != SERVICE_TYPE:
            continue
        wanted = wanted.strip()
        if wanted == "latest":
            return MAX_VERSION
        try:
            major, minor = (int(part) for part in wanted.split(".", 1))
        except ValueError as exc:
            raise PlacementError(
                400, DEFAULT, f"Invalid microversion: invalid version string: {wanted}; {exc}"
            ) from None
        if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
            raise PlacementError(
                406, DEFAULT, f"Invalid microversion: Unacceptable version header: {wanted}",
                {"max_version": version_string(MAX_VERSION),
                 "min_version": version_string(MIN_VERSION)})
        return (major, minor)
    return MIN_VERSION
