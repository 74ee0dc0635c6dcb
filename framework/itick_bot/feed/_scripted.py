"""A scripted, in-memory transport: the feed client's tests drive it frame by frame.

The test plans connections (`expect()`, or `refuse(error)` for a failed handshake), feeds frames
into a connection, closes it, and reads what the client sent. Nothing touches a socket.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import anyio

from ._transport import TransportClosed, TransportError

__all__ = ["ScriptedConnection", "ScriptedTransport"]


class _Signal:
    """Wake whoever waits for a condition on this object to become true."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._event.wait()


class ScriptedConnection:
    """One planned connection. Test side: `feed`, `close`, `sent`, `wait_sent`."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.headers: dict[str, str] = {}
        self.url = ""
        self.open = False
        self._inbound: deque[str | bytes | TransportClosed] = deque()
        self._signal = _Signal()

    # test side
    def feed(self, *frames: str | bytes) -> None:
        """Frames the client will receive, in order."""
        self._inbound.extend(frames)
        self._signal.notify()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The server closes the connection after the frames already fed."""
        self._inbound.append(TransportClosed(code, reason))
        self._signal.notify()

    async def wait_sent(self, count: int) -> list[str]:
        """Wait until the client has sent at least `count` messages; return them all."""
        await self._signal.until(lambda: len(self.sent) >= count)
        return self.sent

    async def wait_closed(self) -> None:
        await self._signal.until(lambda: not self.open)

    # client side (the `Connection` protocol)
    async def receive(self) -> str | bytes:
        await self._signal.until(lambda: bool(self._inbound))
        item = self._inbound.popleft()
        if isinstance(item, TransportClosed):
            self._inbound.appendleft(item)  # closed stays closed
            raise item
        return item

    async def send(self, text: str) -> None:
        if not self.open:
            raise TransportClosed(1006, "connection is gone")
        self.sent.append(text)
        self._signal.notify()


class ScriptedTransport:
    """Hands out planned connections in order; `connect` waits until one is planned."""

    def __init__(self) -> None:
        self._planned: deque[ScriptedConnection | TransportError] = deque()
        self.attempts = 0
        self._signal = _Signal()

    def expect(self) -> ScriptedConnection:
        """Plan the next successful connection and return it."""
        conn = ScriptedConnection()
        self._planned.append(conn)
        self._signal.notify()
        return conn

    def refuse(self, error: TransportError) -> None:
        """Plan the next connection attempt to fail with `error`."""
        self._planned.append(error)
        self._signal.notify()

    async def wait_attempts(self, count: int) -> None:
        await self._signal.until(lambda: self.attempts >= count)

    @asynccontextmanager
    async def connect(
        self, url: str, headers: Mapping[str, str], handshake_timeout: float
    ) -> AsyncIterator[ScriptedConnection]:
        self.attempts += 1
        self._signal.notify()
        await self._signal.until(lambda: bool(self._planned))
        planned = self._planned.popleft()
        if isinstance(planned, TransportError):
            raise planned
        planned.url, planned.headers, planned.open = url, dict(headers), True
        try:
            yield planned
        finally:
            planned.open = False
            planned._signal.notify()
