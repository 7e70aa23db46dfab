"""Checks several handlers share: query parameters, uuids, and the strict request body base."""

from __future__ import annotations

import uuid as uuidlib

from fastapi import Request
from pydantic import BaseModel, ConfigDict

from placement_sim.http_errors import bad_request


class Body(BaseModel):
    """A request body as placement's JSON schemas take it: no property they do not name."""

    model_config = ConfigDict(extra="forbid")


def check_query(request: Request, allowed: frozenset[str]) -> None:
    """A 400 for any query parameter outside ``allowed``: altsim supports a subset of
    placement's filters, and an ignored one would give an unfiltered answer the caller
    believes filtered."""
    unexpected = sorted(set(request.query_params) - allowed)
    if unexpected:
        raise bad_request(
            "Invalid query string parameters: Additional properties are not allowed "
            f"({', '.join(repr(u) for u in unexpected)} unexpected; altsim supports "
            f"{', '.join(sorted(allowed)) or 'none'})"
        )


def is_uuid_like(value: str) -> bool:
    """oslo.utils' is_uuid_like: parses as a UUID (any case, with or without hyphens)."""
    try:
        uuidlib.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True
