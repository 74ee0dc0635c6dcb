"""One client connection: authentication, subscriptions, heartbeat answers, a bounded outgoing
queue with slow-consumer detection, and the per-connection faults.

Everything sent goes through one bounded memory stream drained by one writer task, so frames
leave in the order they were produced and a client that reads too slowly shows up as a full
queue (then it is closed, as iTick does).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._logging import get_logger
from ..protocol import (
    AuthRequest,
    BadCommand,
    ClientCommand,
    PingRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    parse_command,
    render_auth_failed,
    render_auth_ok,
    render_connected,
    render_notice,
    render_pong,
    render_subscribe_ok,
    render_subscribe_refused,
)
from ._config import (
    CLOSE_AUTH_FAILED,
    CLOSE_DROPPED,
    CLOSE_KNOCKED_OFF,
    CLOSE_NO_ACTION,
    CLOSE_SLOW_CONSUMER,
)
from ._render import Frame, flood_cycle, malformed_frame, parse_types

if TYPE_CHECKING:
    from ._hub import MarketHub
    from ._state import SimState

__all__ = ["Receive", "Send", "Session"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
"""The ASGI `receive` and `send` callables of one connection."""

_log = get_logger("itick_bot.sim")

LIMIT_MSG: Final = "exceeding the maximum subscription limit"
BAD_REQUEST_MSG: Final = "cannot be resolved action"
_KNOCK_REASON: Final = "another connection authenticated with the same key"
_FLOOD_STEPS: Final = 500
_FLOOD_STEP_MS: Final = 100
_FLOOD_CHECKPOINT: Final = 4
"""In flood mode, yield to the event loop this often: a socket that keeps up never blocks, so
without it the reader would never see a disconnect. Below 5, asyncio's transport never gets to
log "socket.send() raised exception." for writes after the peer has gone."""


class _Close:
    """Queue item: close after everything queued before it has been sent."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


_Item = tuple[str, Frame] | _Close | None
"""`(kind, frame)`, an orderly close, or None (wakes the writer)."""


class Session:
    """The server side of one WebSocket connection, after the handshake was accepted."""

    def __init__(
        self, state: SimState, hub: MarketHub, scope: dict[str, Any], key: str | None
    ) -> None:
        self.state = state
        self.hub = hub
        self.scope = scope
        self.id = state.next_id()
        self._key = key  # a secret: never logged, never sent
        self.authenticated = False
        self.silent = False
        self.subscriptions: dict[tuple[str, str], frozenset[str]] = {}
        send, recv = anyio.create_memory_object_stream[_Item](state.config.max_buffered_frames)
        self._out: MemoryObjectSendStream[_Item] = send
        self._in: MemoryObjectReceiveStream[_Item] = recv
        self._data_count = 0
        self._malformed_turn = 0
        self._flood: list[tuple[str, str]] = []
        self._flood_turn = 0
        self._finished = anyio.Event()
        self._close: tuple[int, str] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._awaiting_auth_message = False
        self._log = _log.bind(conn=self.id, path=scope.get("path", ""))

    def __repr__(self) -> str:
        return f"<Session {self.id} subscriptions={len(self.subscriptions)}>"

    @property
    def key(self) -> str | None:
        """The key this connection authenticated with (for one-connection-per-key)."""
        return self._key

    @property
    def is_silent(self) -> bool:
        return self.silent or self.state.faults.silent

    # -- queueing ---------------------------------------------------------------------------------
    def _offer(self, item: _Item) -> None:
        if self._finished.is_set():
            return
        try:
            self._out.send_nowait(item)
        except anyio.WouldBlock:
            limit = self.state.config.max_buffered_frames
            self.state.stats.slow_clients_dropped += 1
            self.state.notify()
            self._log.warning("slow consumer disconnected", buffered_frames=limit)
            self.close_now(CLOSE_SLOW_CONSUMER, f"slow consumer: more than {limit} frames buffered")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def reply(self, kind: str, frame: str) -> None:
        """Queue a reply (greeting, auth verdict, subscribe answer, pong). A silent server sends
        nothing at all."""
        if not self.is_silent:
            self._offer((kind, frame))

    def offer_data(self, kind: str, frame: str, symbol: str, ts: int) -> None:
        """Queue one market-data frame, unless silent; every `malformed_every`-th is replaced
        by a malformed frame."""
        if self.is_silent:
            return
        self._offer(self._maybe_malformed(kind, frame, symbol, ts))

    def _maybe_malformed(self, kind: str, frame: str, symbol: str, ts: int) -> tuple[str, Frame]:
        every = self.state.faults.malformed_every
        if not every:
            return kind, frame
        self._data_count += 1
        if self._data_count % every:
            return kind, frame
        kinds = self.state.faults.malformed_kinds
        which = kinds[self._malformed_turn % len(kinds)]
        self._malformed_turn += 1
        return "malformed", malformed_frame(which, symbol, ts)

    def wake(self) -> None:
        """Let an idle flood writer notice that the silent switch was turned off."""
        self._offer(None)

    # -- closing ----------------------------------------------------------------------------------
    def close_after_pending(self, code: int, reason: str) -> None:
        """Close once the frames already queued are sent (an auth verdict, a notice)."""
        if not self._finished.is_set():
            try:
                self._out.send_nowait(_Close(code, reason))
            except anyio.WouldBlock:
                self.close_now(code, reason)

    def close_now(self, code: int, reason: str) -> None:
        """Close at once, discarding whatever is still queued."""
        if not self._finished.is_set():
            self._close = (code, reason)
            self._finished.set()

    def drop(self, *, abrupt: bool = False) -> None:
        """The `drop` fault: close with 1011, or with `abrupt` cut the TCP connection without
        a close frame, like a network failure."""
        if self._finished.is_set():
            return
        self.state.stats.clients_dropped += 1
        self.state.notify()
        self._log.info("dropping connection (fault)", abrupt=abrupt)
        if abrupt and self.state.cut_transport(self.scope):
            self._finished.set()
        else:
            self.close_now(CLOSE_DROPPED, "simulated server failure")

    def knock_off(self) -> None:
        if self._finished.is_set():
            return
        self.state.stats.clients_knocked_off += 1
        self.state.notify()
        self._log.info("knocking connection off (fault)")
        self.close_now(CLOSE_KNOCKED_OFF, _KNOCK_REASON)

    def _end(self) -> None:
        self._finished.set()

    # -- running ----------------------------------------------------------------------------------
    async def run(self, receive: Receive, send: Send) -> None:
        """Serve the connection until it closes, from either side."""
        state = self.state
        state.sessions.add(self)
        self._log.info("connection accepted", client=self.scope.get("client"))
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._write, send)
                tg.start_soon(self._read, receive)
                self._greet()
                await self._finished.wait()
                tg.cancel_scope.cancel()
            if self._close is not None:
                await self._send_close(send, *self._close)
        finally:
            self._out.close()
            self._in.close()
            self.hub.remove(self)
            state.sessions.discard(self)
            if self.authenticated:
                state.stats.current_clients -= 1
            state.notify()
            self._log.info("connection closed", close=self._close)

    async def _send_close(self, send: Send, code: int, reason: str) -> None:
        # The close frame waits for room in the socket; a client that reads nothing would hold
        # it for ever, so after a grace period the TCP connection is cut instead.
        with anyio.move_on_after(self.state.config.slow_close_grace) as scope:
            try:
                await send({"type": "websocket.close", "code": code, "reason": reason})
            except (OSError, RuntimeError):
                return  # already gone
        if scope.cancelled_caught:
            self.state.cut_transport(self.scope)

    async def _write(self, send: Send) -> None:
        count = self.state.count_frame
        try:
            sent = 0
            while True:
                try:
                    item = self._in.receive_nowait()
                except anyio.WouldBlock:
                    if self._flood and not self.is_silent:
                        kind, frame = self._next_flood_frame()
                        await send({"type": "websocket.send", "text": frame}
                                   if frame.__class__ is str
                                   else {"type": "websocket.send", "bytes": frame})  # fmt: skip
                        count(kind)
                        sent += 1
                        if sent % _FLOOD_CHECKPOINT == 0:
                            await anyio.lowlevel.checkpoint()
                        continue
                    item = await self._in.receive()
                if item is None:
                    continue
                if isinstance(item, _Close):
                    self._close = (item.code, item.reason)
                    self._end()
                    return
                kind, frame = item
                if isinstance(frame, str):
                    await send({"type": "websocket.send", "text": frame})
                else:
                    await send({"type": "websocket.send", "bytes": frame})
                count(kind)
        except (OSError, RuntimeError):
            # uvicorn raises ClientDisconnected (an OSError) when the peer is gone, and
            # RuntimeError when it has itself started closing (keepalive timeout, bad frame).
            self._close = None
            self._end()

    def _next_flood_frame(self) -> tuple[str, Frame]:
        kind, frame = self._flood[self._flood_turn]
        self._flood_turn = (self._flood_turn + 1) % len(self._flood)
        symbol = next(iter(self.subscriptions))[0]
        return self._maybe_malformed(kind, frame, symbol, 0)

    async def _read(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self._close = None
                self._end()
                return
            if message["type"] != "websocket.receive":
                continue
            text = message.get("text")
            self._handle(parse_command(text if text is not None else message.get("bytes") or b""))

    # -- the protocol -----------------------------------------------------------------------------
    def _greet(self) -> None:
        self.reply("reply", render_connected())
        # With any key accepted and none given there is nothing to wait for; with a key
        # required and none on the handshake, wait for the legacy `{"ac":"auth"}` message.
        if self._key is not None or self.state.config.token is None:
            self._verdict(self._key)
        else:
            self._awaiting_auth_message = True
            assert self._task_group is not None
            self._task_group.start_soon(self._auth_deadline)

    def _accepts(self, key: str | None) -> bool:
        expected = self.state.config.token
        return not self.state.faults.fail_auth and (expected is None or key == expected)

    async def _auth_deadline(self) -> None:
        await anyio.sleep(self.state.config.auth_timeout)
        if self._awaiting_auth_message:
            self._log.info("no key within the auth timeout")
            self._verdict(None)

    def _verdict(self, key: str | None) -> None:
        self._awaiting_auth_message = False
        state = self.state
        if not self._accepts(key):
            state.stats.auths_failed += 1
            state.notify()
            self._log.info("auth failed", key_given=key is not None)
            self.reply("reply", render_auth_failed())
            self.close_after_pending(CLOSE_AUTH_FAILED, "auth failed")
            return
        self._key = key
        self.authenticated = True
        state.stats.auths_ok += 1
        state.stats.current_clients += 1
        self._log.info("authenticated", key_given=key is not None)
        self.reply("reply", render_auth_ok())
        if state.faults.one_connection_per_key and key is not None:
            for other in list(state.sessions):
                if other is not self and other.authenticated and other.key == key:
                    other.knock_off()
        if state.faults.knock_off:
            state.stats.clients_knocked_off += 1
            self._log.info("knocking connection off right after auth (fault)")
            self.close_after_pending(CLOSE_KNOCKED_OFF, _KNOCK_REASON)
        else:
            self._start_timers()
        state.notify()

    def _start_timers(self) -> None:
        faults, tg = self.state.faults, self._task_group
        assert tg is not None
        if faults.drop_after is not None:
            tg.start_soon(self._after, faults.drop_after, self.drop)
        if faults.knock_off_after is not None:
            tg.start_soon(self._after, faults.knock_off_after, self.knock_off)
        if faults.silent_after is not None:
            tg.start_soon(self._after, faults.silent_after, self._go_silent)

    async def _after(self, delay: float, action: Callable[[], None]) -> None:
        await anyio.sleep(delay)
        action()

    def _go_silent(self) -> None:
        self._log.info("going silent (fault)")
        self.silent = True

    def _handle(self, command: ClientCommand) -> None:
        if self._awaiting_auth_message:
            self._verdict(command.token if isinstance(command, AuthRequest) else None)
            return
        if isinstance(command, PingRequest):
            if not self.is_silent:
                self.reply("pong", render_pong(command.params))
                self.state.stats.pings_answered += 1
                self.state.notify()
        elif isinstance(command, SubscribeRequest):
            self._subscribe(command)
        elif isinstance(command, AuthRequest):
            # Already authenticated (on the handshake): a second verdict would be an illegal
            # transition for a client's state machine, so the message is ignored.
            self._log.info("auth message ignored: already authenticated")
        elif isinstance(command, UnsubscribeRequest):
            # iTick answers "no action" and closes (PROTOCOL.md section 3): so does the simulator.
            self.state.stats.unsubscribes += 1
            self.state.notify()
            self._log.info("unsubscribe received: answering 'no action' and closing")
            self.reply("reply", render_notice("unsubscribe", "no action"))
            self.close_after_pending(CLOSE_NO_ACTION, "no action")
        elif isinstance(command, BadCommand):
            self._refuse(BAD_REQUEST_MSG, command.detail)

    def _refuse(self, msg: str, why: str) -> None:
        self.state.stats.subscriptions_refused += 1
        self.state.notify()
        self._log.info("request refused", msg=msg, why=why)
        self.reply("reply", render_subscribe_refused(msg))

    def _subscribe(self, request: SubscribeRequest) -> None:
        if not self.authenticated:
            self._refuse(BAD_REQUEST_MSG, "subscribe before authentication")
            return
        types = parse_types(request.types)
        pairs = [(sym, region) for sym, region in request.symbols]
        if types is None:
            self._refuse(BAD_REQUEST_MSG, f"unknown type in {', '.join(request.types)[:80]}")
            return
        if any(not sym.isalnum() for sym, _ in pairs):
            self._refuse(BAD_REQUEST_MSG, "a symbol is empty or has characters iTick never uses")
            return
        wanted = set(self.subscriptions) | set(pairs)
        limit = self.state.faults.max_symbols
        if len(wanted) > limit:
            self._refuse(LIMIT_MSG, f"{len(wanted)} symbols asked, limit {limit}")
            return
        # A second subscribe adds to the first (what production clients assume).
        added: dict[tuple[str, str], frozenset[str]] = {}
        for pair in pairs:
            merged = self.subscriptions.get(pair, frozenset()) | types
            self.subscriptions[pair] = merged
            added[pair] = merged
        self.state.stats.subscriptions += 1
        self._log.info("subscribed", symbols=len(pairs), types=sorted(types))
        self.reply("reply", render_subscribe_ok())
        config = self.state.config
        if config.rate > 0:
            self.hub.add(self, added)
        else:
            self._flood = flood_cycle(
                self.subscriptions, seed=config.seed, start_ms=self.state.market_now_ms(),
                steps=_FLOOD_STEPS, step_ms=_FLOOD_STEP_MS, volatility=config.volatility,
                echo_region=config.echo_region, kline_format=config.kline_format,
                symbol_style=config.symbol_style,
            )  # fmt: skip
            self._flood_turn = 0
        self.state.notify()
