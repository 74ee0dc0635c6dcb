"""A small test client: the `websockets` library's client plus the project's protocol core, so
every frame the simulator sends is decoded exactly as the feed would decode it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from websockets.asyncio.client import ClientConnection as WsConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from itick_bot.protocol import ClientConnection, Event

E = TypeVar("E")

SUB_ALL = "quote,depth,tick,kline@1"


class Client:
    """One connection to the simulator, decoding what arrives with the client role."""

    def __init__(self, ws: WsConnection) -> None:
        self.ws = ws
        self.conn = ClientConnection()
        self.events: list[Event] = []

    async def event(self) -> Event:
        frame = await self.ws.recv()
        event = self.conn.receive(frame, time.time_ns())
        self.events.append(event)
        return event

    async def expect(self, kind: type[E], *, within: int = 2000) -> E:
        """The next event of `kind`, skipping up to `within` others."""
        for _ in range(within):
            event = await self.event()
            if isinstance(event, kind):
                return event
        raise AssertionError(f"no {kind.__name__} within {within} frames")

    async def closed(self, *, within_s: float = 5.0) -> ConnectionClosed:
        """Read (decoding everything) until the connection closes; return how it closed."""
        with anyio.fail_after(within_s):
            try:
                while True:
                    await self.event()
            except ConnectionClosed as exc:
                return exc

    async def send(self, obj: dict[str, Any] | str) -> None:
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def subscribe(self, params: str, types: str = SUB_ALL) -> None:
        await self.send({"ac": "subscribe", "params": params, "types": types})

    async def ready(self) -> Client:
        """Read the greeting and the auth verdict; fail unless authenticated."""
        from itick_bot.protocol import Authenticated, Connected

        assert isinstance(await self.event(), Connected)
        assert isinstance(await self.event(), Authenticated)
        return self

    async def drain_until_quiet(self, quiet_s: float = 0.3, limit_s: float = 5.0) -> int:
        """Read (and keep) frames until none arrives for `quiet_s`; return how many came."""
        count = 0
        with anyio.fail_after(limit_s):
            while True:
                with anyio.move_on_after(quiet_s) as scope:
                    await self.event()
                    count += 1
                if scope.cancelled_caught:
                    return count


@asynccontextmanager
async def client(
    url: str, *, token: str | None = "test-key", **kwargs: Any
) -> AsyncIterator[Client]:
    headers = {"token": token} if token is not None else {}
    kwargs.setdefault("open_timeout", 5)
    kwargs.setdefault("close_timeout", 2)
    # An unbounded inbox keeps the client reading its socket, so closing never waits for room;
    # the slow-consumer tests pass a small `max_queue` to stop reading on purpose.
    kwargs.setdefault("max_queue", None)
    async with connect(
        url, additional_headers=headers, proxy=None, compression=None, **kwargs
    ) as ws:
        yield Client(ws)
