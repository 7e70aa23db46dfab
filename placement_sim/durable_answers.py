"""ASGI middleware: a request that may have written is answered only once the store's journal
holds it durably.

The handlers run on the event loop and write to the store at once (memory and one journal
append); waiting there for fdatasync would stop every other request meanwhile. Instead the
answer's first message waits for `sync` in a thread of its own, and the event loop serves
reads and other writes meanwhile. The writes appended during one fdatasync are all made
durable by the next (group commit, ``placement_sim/journal.py``), so a burst of writes costs
a few syncs, not one each. GET and HEAD change nothing and are not held back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]
READ_METHODS = frozenset({"GET", "HEAD"})


class DurableAnswers:
    """`sync()` blocks until everything written so far is durable."""

    def __init__(self, app: ASGIApp, sync: Callable[[], None]) -> None:
        self.app = app
        self._sync = sync
        # One thread: queued syncs find their writes covered by the one before them.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="journal-sync")

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_when_durable(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.get_running_loop().run_in_executor(self._executor, self._sync)
            await send(message)

        await self.app(scope, receive, send_when_durable)
