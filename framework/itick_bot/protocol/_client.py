"""The client role: commands to text, text to events, and the connection's state."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from ..errors import ProtocolError
from ..symbols import wire_symbol
from ._decode import DEFAULT_MAX_FRAME_BYTES
from ._events import (
    Authenticated,
    AuthFailed,
    Connected,
    Event,
    Pong,
    Subscribed,
    SubscribeRefused,
)
from ._fast import decode_frame
from ._state import ConnState, Input, next_state

__all__ = ["ClientConnection", "encode_ping", "encode_subscribe"]

_encode: Final = msgspec.json.encode
_INPUTS: Final[dict[type, Input]] = {
    Connected: Input.CONNECTED,
    Authenticated: Input.AUTHENTICATED,
    AuthFailed: Input.AUTH_FAILED,
}


def encode_subscribe(symbols: Iterable[tuple[str, str]], types: Iterable[str]) -> str:
    """`{"ac":"subscribe","params":"BTCUSDT$BA,...","types":"quote,depth"}`; a pair's region ""
    sends the bare symbol, as the original document does."""
    params = ",".join(wire_symbol(sym, region) for sym, region in symbols)
    return _encode({"ac": "subscribe", "params": params, "types": ",".join(types)}).decode()


def encode_ping(now_ms: int) -> str:
    """`{"ac":"ping","params":"<ms>"}`: the timestamp travels as a string."""
    return _encode({"ac": "ping", "params": str(now_ms)}).decode()


class ClientConnection:
    """One connection's protocol state, with no I/O: feed it frames, ask it for commands.

    `receive` turns a frame into an event and moves the state along `TRANSITIONS`; it raises
    `ProtocolError` only for a reply that is illegal in the current state (the caller replaces the
    connection). Subscribe replies carry no id, so they are paired with requests in order.
    """

    __slots__ = ("_max_frame_bytes", "_pending_subs", "_pings", "state")

    def __init__(self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.state = ConnState.CONNECTING
        self._max_frame_bytes = max_frame_bytes
        self._pings: dict[str, int] = {}
        self._pending_subs: deque[tuple[tuple[str, ...], tuple[str, ...]]] = deque()

    # -- reading ------------------------------------------------------------------------------
    def receive(self, frame: str | bytes, received_ns: int) -> Event:
        return self.on_event(decode_frame(frame, received_ns, self._max_frame_bytes), received_ns)

    def on_event(self, event: Event, received_ns: int) -> Event:
        """What `receive` does after decoding: a reader that decodes market data itself (one
        call less on the hot path) hands everything else here."""
        cls = event.__class__
        if cls in _INPUTS:
            self.state = next_state(self.state, _INPUTS[cls])
        elif cls is Pong:
            return self._pong(event, received_ns)  # type: ignore[arg-type]
        elif cls is Subscribed or cls is SubscribeRefused:
            return self._sub_reply(event)  # type: ignore[arg-type]
        return event

    def _pong(self, pong: Pong, received_ns: int) -> Pong:
        sent_ms = self._pings.pop(pong.params, None)
        if sent_ms is None:
            return pong
        # A pong answers every ping sent before the one it echoes, too.
        for params, ms in list(self._pings.items()):
            if ms <= sent_ms:
                del self._pings[params]
        return Pong(pong.params, received_ns // 1_000_000 - sent_ms, received_ns)

    def _sub_reply(self, reply: Subscribed | SubscribeRefused) -> Subscribed | SubscribeRefused:
        if not self._pending_subs:
            return reply
        symbols, types = self._pending_subs.popleft()
        return reply.__class__(reply.msg, symbols, types)

    def connection_lost(self) -> None:
        self.state = next_state(self.state, Input.CLOSED)
        self._pings.clear()
        self._pending_subs.clear()

    # -- writing ------------------------------------------------------------------------------
    def subscribe(self, symbols: Sequence[tuple[str, str]], types: Sequence[str]) -> str:
        """The text of a subscribe request; only legal once authenticated."""
        if self.state is not ConnState.READY:
            raise ProtocolError(f"cannot subscribe while the connection is {self.state.value!r}")
        if not symbols or not types:
            raise ProtocolError("a subscribe request needs at least one symbol and one type")
        self._pending_subs.append((tuple(wire_symbol(s, r) for s, r in symbols), tuple(types)))
        return encode_subscribe(symbols, types)

    def ping(self, now_ms: int) -> str:
        """The text of a heartbeat ping, remembered until its pong arrives."""
        if self.state is ConnState.CLOSED:
            raise ProtocolError("cannot ping a closed connection")
        params = str(now_ms)
        while params in self._pings:  # two pings in one millisecond stay distinguishable
            now_ms += 1
            params = str(now_ms)
        self._pings[params] = now_ms
        return encode_ping(now_ms)

    @property
    def oldest_unanswered_ping_ms(self) -> int | None:
        """When the oldest ping still waiting for its pong was sent, or None."""
        return min(self._pings.values()) if self._pings else None

    @property
    def pending_subscriptions(self) -> int:
        return len(self._pending_subs)
