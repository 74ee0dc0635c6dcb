"""The transport on the `websockets` library (its asyncio client).

Measured on loopback it receives several times more frames per second than httpx-ws (whose
session passes every message through a background task and an unbuffered stream; figures in
bench/RESULTS.md), so it is the default; `[feed] transport = "httpx-ws"` selects the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from ._transport import HandshakeRejected, TransportClosed, TransportError, parse_retry_after

__all__ = ["WebsocketsTransport"]

# Messages the library may hold for a reader that has not taken them yet. The feed's reader
# takes each one at once, so this only absorbs bursts; the feed enforces its own size limit.
_QUEUE_FRAMES = 4096


def _closed(exc: ConnectionClosed) -> TransportClosed:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return TransportClosed(1006, "connection lost")
    return TransportClosed(frame.code, frame.reason)


class _WebsocketsConnection:
    __slots__ = ("_ws",)

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def receive(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from None


class WebsocketsTransport:
    """WebSockets over the `websockets` library; its own keepalive pings are off (the feed sends
    iTick's JSON pings and judges liveness itself), as is compression (iTick sends none)."""

    @asynccontextmanager
    async def connect(
        self, url: str, headers: Mapping[str, str], handshake_timeout: float
    ) -> AsyncIterator[_WebsocketsConnection]:
        try:
            ws = await connect(
                url,
                additional_headers=dict(headers),
                open_timeout=handshake_timeout,
                ping_interval=None,
                compression=None,
                max_size=None,
                max_queue=_QUEUE_FRAMES,
                proxy=None,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise HandshakeRejected(
                response.status_code, parse_retry_after(response.headers.get("Retry-After"))
            ) from None
        except TimeoutError:
            raise TransportError(f"no WebSocket handshake within {handshake_timeout} s") from None
        except (OSError, WebSocketException) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        try:
            yield _WebsocketsConnection(ws)
        finally:
            await ws.close()
