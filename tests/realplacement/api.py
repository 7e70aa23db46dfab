"""A bare HTTP caller for the conformance suite: one request, its status, parsed body and
headers, nothing interpreted (altsim's clients would turn errors into exceptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3

from tests.realplacement.servers import TOKEN


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        """The first error of a placement error body."""
        return self.body["errors"][0]

    @property
    def code(self) -> str | None:
        return self.error.get("code") if isinstance(self.body, dict) else None


class Api:
    """Requests to one placement at `url`, as altsim's clients send them (JSON, the token)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._http = urllib3.PoolManager(retries=False, timeout=10.0)

    def __repr__(self) -> str:
        return f"Api({self.name})"

    def call(self, method: str, path: str, *, version: str | None = None, json: Any = None,
             params: dict[str, Any] | None = None, token: str | None = TOKEN) -> Answer:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if version is not None:
            headers["OpenStack-API-Version"] = f"placement {version}"
        if token is not None:
            headers["X-Auth-Token"] = token
        url = self.url + path + (f"?{urlencode(params)}" if params else "")
        response = self._http.request(method, url, headers=headers,
                                      body=orjson.dumps(json) if json is not None else None)
        try:
            body = orjson.loads(response.data) if response.data else None
        except orjson.JSONDecodeError:
            body = response.data.decode(errors="replace")
        return Answer(response.status, body, {k.lower(): v for k, v in response.headers.items()})
