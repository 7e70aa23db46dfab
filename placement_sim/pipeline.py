"""What every placement request goes through before its handler: a request id, the token
check, the microversion, the media types (an Accept that rules out JSON is a 406, a body
that is not JSON where one is taken a 415, as placement's), and the version headers on the
way out.

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
                 error: ErrorResponse,
                 takes_json: Callable[[str, str], bool] = lambda method, path: False) -> None:
        self.app = app
        self._token = expected_token
        self._open = unauthenticated
        self._check_version = check_version
        self._version_header = version_header
        self._header_name = header_name
        self._error = error
        self._takes_json = takes_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = {"X-OpenStack-Request-Id": f"req-{uuid.uuid4()}"}
        scope.setdefault("state", {})["request_id"] = request_id["X-OpenStack-Request-Id"]
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
        scope["state"]["version"] = version
        refusal = self._media_type_refusal(scope, headers)
        if refusal is not None:
            await self._error(refusal, request_id)(scope, receive, send)
            return
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
                {**request_id, self._header_name: self._version_header(version),
                 "Vary": self._header_name})(scope, receive, send)

    def _media_type_refusal(self, scope: Scope, headers: Headers) -> PlacementError | None:
        """Placement's 406 for an Accept without JSON, and 415 for a body taken as JSON
        that is not."""
        accept = headers.get("accept")
        if accept and not any(
                kind.split(";")[0].strip() in ("application/json", "application/*", "*/*")
                for kind in accept.split(",")):
            return PlacementError(406, DEFAULT, "Only application/json is provided")
        if self._takes_json(scope["method"], scope["path"]):
            media = headers.get("content-type", "").split(";")[0].strip()
            if media != "application/json":
                return PlacementError(
                    415, DEFAULT, f"The media type {media or 'None'} is not supported, use "
                                  "application/json")
        return None
