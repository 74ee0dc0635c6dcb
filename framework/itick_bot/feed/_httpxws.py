"""The transport on httpx-ws (DESIGN.md section 6 has its measured costs and quirks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Final

import httpx
import wsproto.events
from httpx_ws import (
    AsyncWebSocketSession,
    HTTPXWSException,
    WebSocketDisconnect,
    WebSocketNetworkError,
    WebSocketUpgradeError,
    aconnect_ws,
)

from ._transport import HandshakeRejected, TransportClosed, TransportError, parse_retry_after

__all__ = ["HttpxWsTransport"]

# httpx-ws reads the socket in chunks of this size; it is not a message-size limit (the feed
# enforces its own), so a larger chunk only means fewer reads per burst.
_READ_CHUNK: Final = 256 * 1024


def _translate(exc: BaseException) -> TransportError | None:
    """One of our transport errors for an httpx/httpx-ws exception, else None."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, WebSocketUpgradeError):
        response = exc.response
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return HandshakeRejected(response.status_code, retry_after)
    if isinstance(exc, WebSocketDisconnect):
        return TransportClosed(exc.code, exc.reason)
    if isinstance(exc, WebSocketNetworkError):
        return TransportClosed(1006, "network error")
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"timed out: {type(exc).__name__}")
    if isinstance(exc, httpx.TransportError | HTTPXWSException | OSError):
        return TransportError(f"{type(exc).__name__}: {exc}")
    return None


def _unwrap(exc: BaseException) -> TransportError | None:
    # httpx-ws runs a task group, so its errors may leave `aconnect_ws` wrapped in groups.
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _unwrap(inner)
            if found is not None:
                return found
        return None
    return _translate(exc)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


class _HttpxWsConnection:
    __slots__ = ("_ws",)

    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self._ws = ws

    async def receive(self) -> str | bytes:
        try:
            event = await self._ws.receive()
        except HTTPXWSException as exc:
            raise _translate(exc) or TransportError(str(exc)) from None
        if isinstance(event, wsproto.events.TextMessage):
            return event.data
        if isinstance(event, wsproto.events.BytesMessage):
            return bytes(event.data)
        raise TransportError(f"unexpected WebSocket event {type(event).__name__}")

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_text(text)
        except HTTPXWSException as exc:
            raise _translate(exc) or TransportError(str(exc)) from None


class HttpxWsTransport:
    """WebSockets over httpx-ws. WebSocket-level keepalive pings are off: the feed sends
    iTick's JSON pings and judges liveness itself."""

    def __init__(self, *, max_read_bytes: int = _READ_CHUNK) -> None:
        self._max_read_bytes = max_read_bytes

    @asynccontextmanager
    async def connect(
        self, url: str, headers: Mapping[str, str], handshake_timeout: float
    ) -> AsyncIterator[_HttpxWsConnection]:
        # httpx's timeout covers connecting and the upgrade response; once upgraded, httpx-ws
        # reads the socket with no timeout, and liveness is the feed's heartbeat's business.
        try:
            async with (
                httpx.AsyncClient(timeout=handshake_timeout) as client,
                aconnect_ws(
                    url,
                    client,
                    headers=dict(headers),
                    max_message_size_bytes=self._max_read_bytes,
                    keepalive_ping_interval_seconds=None,
                    session_class=AsyncWebSocketSession,
                ) as ws,
            ):
                yield _HttpxWsConnection(ws)
        except Exception as exc:
            translated = _unwrap(exc)
            if translated is not None:
                raise translated from None
            # The caller's own error (an AuthError, say), wrapped by httpx-ws's task group:
            # hand it back as it was raised.
            leaves = _leaves(exc)
            if len(leaves) == 1 and leaves[0] is not exc:
                raise leaves[0] from None
            raise
