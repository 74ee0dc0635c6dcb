"""The simulator's ASGI application: the handshake (path, 429 refusals, where the key is), then a
`Session` for the connection; plain HTTP requests to `/{market}/...` go to the REST endpoint
(`_rest.py`), any other plain HTTP request is told to use a WebSocket (426).

The key may come as the `token` header (current form), the `?token=` query (legacy) or a first
`{"ac":"auth"}` message (legacy); see PROTOCOL.md section 2.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs

from .._logging import get_logger
from ._config import SIM_PATHS
from ._hub import MarketHub
from ._rest import RestApi, is_rest_path
from ._session import Receive, Send, Session
from ._state import SimState

__all__ = ["SimApp"]

_log = get_logger("itick_bot.sim")
_PATHS_TEXT: Final = ", ".join(sorted(SIM_PATHS))


def _key_of(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"token":
            return bytes(value).decode("latin-1")
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


class SimApp:
    """An ASGI 3 application speaking the iTick WebSocket protocol."""

    def __init__(self, state: SimState, hub: MarketHub) -> None:
        self.state = state
        self.hub = hub
        self.rest = RestApi(state)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            if is_rest_path(scope.get("path", "")):
                await self.rest(scope, receive, send)
            else:
                await self._plain_http(send)

    async def _plain_http(self, send: Send) -> None:
        body = (
            "This is the itick-bot simulator: a WebSocket server. Connect with a WebSocket client "
            f"to one of {_PATHS_TEXT}.\n"
        ).encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"upgrade", b"websocket")]
        await send({"type": "http.response.start", "status": 426, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _deny(
        self,
        scope: dict[str, Any],
        send: Send,
        status: int,
        message: str,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        if "websocket.http.response" not in scope.get("extensions", {}):
            # A server without the denial-response extension can only answer 403.
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await send({
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers],
        })  # fmt: skip
        await send({"type": "websocket.http.response.body", "body": message.encode() + b"\n"})

    async def _websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        state = self.state
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        path = scope.get("path", "")
        if path not in SIM_PATHS:
            state.stats.bad_paths += 1
            state.notify()
            _log.info("handshake refused: unknown path", path=path[:80])
            await self._deny(
                scope, send, 404,
                f"no iTick endpoint at {path[:80]!r}; use one of {_PATHS_TEXT}", [],
            )  # fmt: skip
            return
        if state.faults.reject_connects > 0:
            state.faults.reject_connects -= 1
            state.stats.connections_refused += 1
            state.notify()
            _log.info("handshake refused with 429 (fault)")
            await self._deny(
                scope, send, 429, "too many connection attempts; retry after 1 s",
                [(b"retry-after", b"1")],
            )  # fmt: skip
            return
        await send({"type": "websocket.accept"})
        state.stats.connections_accepted += 1
        state.notify()
        session = Session(state, self.hub, scope, _key_of(scope))
        await session.run(receive, send)
