"""Errors of the placement simulator and of its clients.

``PlacementError`` is what the store raises. It carries the HTTP status and the placement
error code of the equivalent real API failure, so an HTTP front end can turn it 1:1 into
Placement's JSON error body and an HTTP client can turn such a body back into the same
exception; code that branches on errors therefore behaves identically in-process and over HTTP.

``AllocationUpdateFailed`` and ``PlacementUnavailable`` are client-side errors, named after
the Nova exceptions whose role they play.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# Error codes exactly as placement/errors.py spells them: clients compare these strings.
DEFAULT = "placement.undefined_code"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
INVENTORY_INUSE = "placement.inventory.inuse"
PROVIDER_IN_USE = "placement.resource_provider.inuse"

# Nova tells a consumer generation conflict from a provider generation conflict (both are
# 409 placement.concurrent_update) only by this substring of the detail, so keep it verbatim.
CONSUMER_GENERATION_CONFLICT = "consumer generation conflict"


class PlacementError(Exception):
    """A failed placement request: HTTP status, placement error code and human detail."""

    def __init__(self, status: int, code: str, detail: str,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        # More fields of the error, as placement's 406 has max_version and min_version.
        self.extra = extra or {}

    @property
    def title(self) -> str:
        """The HTTP reason phrase, which is what placement puts in an error's ``title``."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown Error"

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        """The JSON error body real placement returns for this error (with the request's
        id, as placement's)."""
        error: dict[str, Any] = {"status": self.status, "code": self.code,
                                 "detail": self.detail, "title": self.title, **self.extra}
        if request_id is not None:
            error["request_id"] = request_id
        return {"errors": [error]}

    @classmethod
    def from_body(cls, status: int, body: dict[str, Any]) -> PlacementError:
        """Rebuild the error from a placement JSON error body (for HTTP clients)."""
        err = (body.get("errors") or [{}])[0]
        return cls(status, err.get("code", DEFAULT), err.get("detail", ""))

    @property
    def is_consumer_generation_conflict(self) -> bool:
        return (
            self.status == 409
            and self.code == CONCURRENT_UPDATE
            and CONSUMER_GENERATION_CONFLICT in self.detail
        )

    @property
    def is_provider_generation_conflict(self) -> bool:
        # Any concurrent_update that is not about the consumer is about a provider: the same
        # inference Nova's report client makes before blindly retrying.
        return (
            self.status == 409
            and self.code == CONCURRENT_UPDATE
            and CONSUMER_GENERATION_CONFLICT not in self.detail
        )


class AllocationUpdateFailed(Exception):
    """Someone else changed the consumer's allocations since the caller last looked.

    Mirrors nova.exception.AllocationUpdateFailed: it is not retried, because the caller's
    view of the consumer is stale and only the caller can decide what to do about it.
    """

    def __init__(self, consumer_uuid: str, detail: str) -> None:
        super().__init__(
            f"Failed to update allocations for consumer {consumer_uuid}. Error: {detail}"
        )
        self.consumer_uuid = consumer_uuid
        self.detail = detail


class PlacementUnavailable(Exception):
    """Placement could not be reached (connection refused, timeout, 5xx, ...)."""
