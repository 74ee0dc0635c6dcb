"""The one small interface between the feed client and a WebSocket library.

A transport opens connections; a connection receives whole messages (text as `str`, binary as
`bytes`) and sends text. Everything a library raises is translated here, at the I/O edge, into the
three errors below, so the feed client never sees httpx-ws (or any later transport).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = [
    "Connection",
    "HandshakeRejected",
    "Transport",
    "TransportClosed",
    "TransportError",
]


class TransportError(Exception):
    """The connection could not be made or broke (DNS, refused, reset, timeout)."""


class TransportClosed(TransportError):
    """The peer closed the WebSocket (`code` 1006 when it vanished without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with code {code}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.reason = reason


class HandshakeRejected(TransportError):
    """The server answered the upgrade request with an HTTP status instead of a WebSocket."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class Connection(Protocol):
    async def receive(self) -> str | bytes:
        """The next whole message. Raises `TransportClosed` when the connection ends."""
        ...

    async def send(self, text: str) -> None:
        """Send one text message. Raises `TransportClosed` if the connection is gone."""
        ...


class Transport(Protocol):
    def connect(
        self, url: str, headers: Mapping[str, str], handshake_timeout: float
    ) -> AbstractAsyncContextManager[Connection]:
        """Open a WebSocket; leaving the context closes it. Raises `HandshakeRejected` or
        `TransportError` (within `handshake_timeout` seconds) when it cannot be opened."""
        ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None when absent or a date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
