"""What every placement request goes through before its handler: a request id, the token
check and the microversion, and the version headers on the way out.

A plain ASGI middleware rather than Starlette's @app.middleware("http"): that one runs each
handler in a task of its own and streams the response body through a memory channel, which
took longer than building a 1,000-provider candidates body itself.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

from placement_sim.exceptions import DEFAULT, PlacementError

LOG = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ErrorResponse = Callable[[PlacementError, dict[str, str]], Any]


class PlacementPipeline:
    """`check_version(header) -> version` raises PlacementError for a bad one; `error(exc,
    headers)` makes the response of a refused request; `version_header(version)` is the
    OpenStack-API-Version value the answer carries."""

    def __init__(self, app: Callable[..., Awaitable[None]], expected_token: bytes | None,
                 unauthenticated: frozenset[str], check_version: Callable[[str | None], Any],
                 version_header: Callable[[Any], str], header_name: str,
                 error: ErrorResponse) -> None:
        self.app = app
        self._token = expected_token
        self._open = unauthenticated
        self._check_version = check_version
        self._version_header = version_header
        self._header_name = header_name
        self._error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = {"X-OpenStack-Request-Id": f"req-{uuid.uuid4()}"}
        headers = Headers(scope=scope)
        if self._token is not None and scope["path"] not in self._open:
            given = headers.get("x-auth-token", "").encode()
            # A missing token never matches, not even an empty expected one.
            if not given or not hmac.compare_digest(given, self._token):
                await self._error(PlacementError(
                    401, DEFAULT, "The request you have made requires authentication."),
                    request_id)(scope, receive, send)
                return
        try:
            version = self._check_version(headers.get(self._header_name))
        except PlacementError as exc:
            await self._error(exc, request_id)(scope, receive, send)
            return
        scope.setdefault("state", {})["version"] = version
        extra = [(name.lower().encode(), value.encode()) for name, value in (
            *request_id.items(), (self._header_name, self._version_header(version)),
            ("Vary", self._header_name))]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            LOG.exception("Unexpected error serving %s %s", scope.get("method"), scope["path"])
            if started:
                raise
            await self._error(PlacementError(
                500, DEFAULT, "An unexpected error occurred in the placement simulator."),
                {})(scope, receive, send_with_headers)
