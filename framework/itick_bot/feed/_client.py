"""The feed client: one live connection to iTick, kept healthy for as long as it runs.

It connects with the key in the `token` header, waits for the verdict on the key (a refusal is
final: `AuthError`, never a retry loop), subscribes everything configured, sends iTick's JSON ping
every `ping_interval`, and replaces the connection when a pong is late or no frame at all arrives
for `stale_timeout`. Reconnects back off exponentially with full jitter, resubscribe everything,
and never send unsubscribe. A connection dropped again and again right after authenticating is
what iTick does when another client connects with the same key: that is said in those words, and
the client backs off much longer.

The reader reads at wire speed: it decodes and hands each event to an `EventInbox` without ever
waiting on the consumer. Given a `FrameRecorder`, it also hands it every frame received, with its
receive stamp, and every connection event (`itick_bot.record` writes them to a recording).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import anyio
import attrs

from ..clock import Clock, LiveClock
from ..config import FeedConfig, mask_secret
from ..errors import AuthError, ProtocolError
from ..model import Bar, Depth, FeedState, FeedStatus, Quote, Tick
from ..protocol import (
    Authenticated,
    AuthFailed,
    ClientConnection,
    Connected,
    ConnState,
    Event,
    Malformed,
    Pong,
    ServerNotice,
    Subscribed,
    SubscribeRefused,
    decode_frame,
)
from ._inbox import EventInbox
from ._stats import FeedStats
from ._transport import Connection, HandshakeRejected, Transport, TransportClosed, TransportError

__all__ = ["FeedClient", "FrameRecorder", "public_url"]

_MARKET_KINDS: Final[dict[type, str]] = {Quote: "quote", Depth: "depth", Tick: "tick", Bar: "kline"}
_REPLY_KINDS: Final[dict[type, str]] = {
    Malformed: "malformed",
    Connected: "connected",
    Authenticated: "auth",
    AuthFailed: "auth",
    Subscribed: "subscribe",
    SubscribeRefused: "subscribe",
    Pong: "pong",
    ServerNotice: "notice",
}
_NS: Final = 1_000_000_000


def public_url(url: str) -> str:
    """`url` without its query string (which may carry a legacy `?token=`) and without any
    `user:password@`: safe to show or to write down."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class FrameRecorder(Protocol):
    """Where the client reports what it receives, for a recording (`itick_bot.record.Recorder`).
    Both are called on the reader's path: they must return at once."""

    def frame(self, received_ns: int, data: str | bytes) -> None:
        """A frame exactly as received, with its receive stamp."""
        ...

    def event(self, received_ns: int, kind: str, **detail: Any) -> None:
        """A connection event: a feed state ("connected", "stale", ...) with its `reason`,
        "subscribed" / "subscribe_refused", or "dropped" with its `reason`."""
        ...


@attrs.frozen
class _Ended:
    """How one connection attempt ended."""

    reason: str
    authed_ns: int | None = None
    retry_after: float | None = None


class FeedClient:
    """Streams normalized events from one iTick endpoint into `inbox` until cancelled."""

    def __init__(
        self,
        config: FeedConfig,
        *,
        url: str,
        token: str | None,
        transport: Transport,
        inbox: EventInbox,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_info: Callable[[str], None] | None = None,
        recorder: FrameRecorder | None = None,
    ) -> None:
        self.config = config
        self.url = url
        self.stats = FeedStats()
        self._token = token
        self._transport = transport
        self._inbox = inbox
        self._clock = clock or LiveClock()
        self._rng = rng or random.Random()
        self._warn = on_warning or (lambda _msg: None)
        self._info = on_info or (lambda _msg: None)
        self._recorder = recorder
        self._connected_ns = 0
        self._failures = 0
        self._quick_drops = 0
        self._ever_connected = False
        self._symbols = [(s, config.region) for s in config.symbols]

    def report(self, now_ns: int) -> dict[str, object]:
        """The statistics as a JSON-ready dict, with the inbox's conflation count."""
        summary = self.stats.as_dict(now_ns)
        summary["conflated"] = self._inbox.conflated
        summary["pending"] = self._inbox.pending
        return summary

    # -- the life of the client ---------------------------------------------------------------
    async def run(self) -> None:
        """Connect, stream and reconnect until cancelled. Raises `AuthError` if the key is
        refused. Leaves a final "stopped" `FeedStatus` in the inbox either way."""
        reason = "stopped"
        try:
            while True:
                ended = await self._connect_once()
                delay, why = self._next_delay(ended)
                self.stats.reconnects += 1
                self._status("reconnecting", f"{why}; reconnecting in {delay:.1f} s")
                await anyio.sleep(delay)
        except AuthError as exc:
            reason = str(exc)
            raise
        finally:
            self._status("stopped", reason)

    async def _connect_once(self) -> _Ended:
        headers = {"token": self._token} if self._token else {}
        proto = ClientConnection(max_frame_bytes=self.config.max_frame_bytes)
        authed_ns: int | None = None
        try:
            async with self._transport.connect(
                self.url, headers, self.config.connect_timeout
            ) as conn:
                self._connected_ns = self._clock.time_ns()
                await self._authenticate(conn, proto)
                authed_ns = self._clock.time_ns()
                self.stats.connects += 1
                await conn.send(proto.subscribe(self._symbols, self.config.types))
                state: FeedState = "recovered" if self._ever_connected else "connected"
                self._ever_connected = True
                self._status(state, f"authenticated at {public_url(self.url)}")
                reason = await self._stream(conn, proto)
        except HandshakeRejected as exc:
            self.stats.handshake_failures += 1
            if exc.status in (401, 403):
                raise AuthError(
                    f"iTick refused the connection with HTTP {exc.status}: the API key "
                    f"{mask_secret(self._token)} is not accepted. Check {self.config.token_env}"
                ) from None
            self._record_event("dropped", reason=str(exc))
            return _Ended(str(exc), None, exc.retry_after)
        except TransportClosed as exc:
            reason = "server closed the connection" + (
                f" (code {exc.code}: {exc.reason})" if exc.reason else f" (code {exc.code})"
            )
        except (TransportError, ProtocolError) as exc:
            reason = str(exc)
        self._record_event("dropped", reason=reason)
        self.stats.drops[reason.split(" (")[0].split(";")[0][:60]] += 1
        return _Ended(reason, authed_ns)

    async def _authenticate(self, conn: Connection, proto: ClientConnection) -> None:
        with anyio.move_on_after(self.config.auth_timeout) as scope:
            while proto.state is not ConnState.READY:
                frame = await conn.receive()
                now = self._stamp()
                if self._recorder is not None:
                    self._recorder.frame(now, frame)
                event = self._handle(proto.receive(frame, now))
                if isinstance(event, AuthFailed):
                    raise AuthError(
                        f"iTick refused the API key {mask_secret(self._token)} "
                        f"({event.msg!r}, at {public_url(self.url)}). Check the key in "
                        f"{self.config.token_env}, or run against the simulator with "
                        f'[feed] url = "sim"'
                    )
        if scope.cancelled_caught:
            raise TransportError(f"no authentication reply within {self.config.auth_timeout} s")

    def _stamp(self) -> int:
        now = self._clock.time_ns()
        if self.stats.first_frame_ns is None:
            self.stats.first_frame_ns = now
        self.stats.last_frame_ns = now
        return now

    async def _stream(self, conn: Connection, proto: ClientConnection) -> str:
        ended: list[str] = []
        async with anyio.create_task_group() as tg:

            async def read() -> None:
                try:
                    await self._read(conn, proto)
                except TransportClosed as exc:
                    detail = f"code {exc.code}: {exc.reason}" if exc.reason else f"code {exc.code}"
                    ended.append(f"server closed the connection ({detail})")
                except (TransportError, ProtocolError) as exc:
                    ended.append(str(exc))
                tg.cancel_scope.cancel()

            async def watch() -> None:
                try:
                    ended.append(await self._heartbeat(conn, proto))
                except TransportError as exc:
                    ended.append(str(exc))
                tg.cancel_scope.cancel()

            tg.start_soon(read)
            tg.start_soon(watch)
        return ended[0] if ended else "connection ended"

    async def _read(self, conn: Connection, proto: ClientConnection) -> None:
        # The hot path: no logging, no awaits but the socket's, nothing allocated that the event
        # itself does not need.
        receive = conn.receive
        decode = decode_frame
        max_bytes = self.config.max_frame_bytes
        on_event = proto.on_event
        inbox = self._inbox
        put = inbox.put
        checkpoint = anyio.lowlevel.checkpoint
        now_ns = self._clock.time_ns
        frames = self.stats.frames
        stats = self.stats
        kinds = _MARKET_KINDS
        record = self._recorder.frame if self._recorder is not None else None
        if stats.first_frame_ns is None:
            stats.first_frame_ns = now_ns()
        read_batch = batch = self.config.read_batch
        while True:
            frame = await receive()
            now = now_ns()
            stats.last_frame_ns = now
            if record is not None:
                record(now, frame)
            event = decode(frame, now, max_bytes)
            kind = kinds.get(event.__class__)
            if kind is not None:
                frames[kind] += 1
                put(event)
                batch -= 1
                if not batch:
                    # In a burst `receive` returns frames already buffered without waiting:
                    # every `read_batch` frames the consumer gets its turn.
                    batch = read_batch
                    await checkpoint()
            else:
                self._handle(on_event(event, now))

    def _handle(self, event: Event) -> Event:
        """Count and act on one event outside the hot path (replies, malformed frames)."""
        kind = _MARKET_KINDS.get(event.__class__)
        if kind is not None:
            self.stats.frames[kind] += 1
            self._inbox.put(event)
            return event
        self.stats.frames[_REPLY_KINDS.get(event.__class__, "other")] += 1
        if isinstance(event, Malformed):
            self.stats.malformed[event.reason] += 1
        elif isinstance(event, Pong):
            if event.rtt_ms is not None:
                self.stats.last_pong_rtt_ms = event.rtt_ms
        elif isinstance(event, Subscribed):
            self._record_event("subscribed", symbols=event.symbols, types=event.types)
            self._info(f"subscribed {','.join(event.symbols)} to {','.join(event.types)}")
        elif isinstance(event, SubscribeRefused):
            what = (
                f"{','.join(event.symbols)} for {','.join(event.types)}"
                if event.symbols
                else "a subscription"
            )
            text = f"iTick refused {what}: {event.msg!r}"
            self._record_event(
                "subscribe_refused", symbols=event.symbols, types=event.types, msg=event.msg
            )
            self.stats.subscribe_refused.append(text)
            self._warn(text + "; streams granted earlier keep flowing")
        elif isinstance(event, ServerNotice):
            self._warn(f"iTick says {event.msg!r} (resAc={event.res_ac!r}, code={event.code})")
        return event

    async def _heartbeat(self, conn: Connection, proto: ClientConnection) -> str:
        """Ping on schedule; return why the connection is dead once it is."""
        cfg = self.config
        check = max(min(cfg.ping_interval, cfg.pong_timeout, cfg.stale_timeout) / 4, 0.005)
        next_ping_ns = self._clock.time_ns() + int(cfg.ping_interval * _NS)
        while True:
            await anyio.sleep(check)
            now = self._clock.time_ns()
            # Silent since the last frame, or since this connection opened if none came yet.
            last = max(self.stats.last_frame_ns or 0, self._connected_ns)
            silent_s = (now - last) / _NS
            if silent_s > cfg.stale_timeout:
                reason = f"no frame for {silent_s:.1f} s (stale_timeout {cfg.stale_timeout:g} s)"
                self._status("stale", reason)
                return reason
            oldest = proto.oldest_unanswered_ping_ms
            if oldest is not None and now // 1_000_000 - oldest > cfg.pong_timeout * 1000:
                reason = f"no pong within {cfg.pong_timeout:g} s (pong_timeout)"
                self._status("stale", reason)
                return reason
            if now >= next_ping_ns:
                await conn.send(proto.ping(now // 1_000_000))
                next_ping_ns = now + int(cfg.ping_interval * _NS)

    # -- reconnect policy ---------------------------------------------------------------------
    def _next_delay(self, ended: _Ended) -> tuple[float, str]:
        cfg = self.config
        reason = ended.reason
        if ended.authed_ns is not None:
            lived = (self._clock.time_ns() - ended.authed_ns) / _NS
            if lived >= cfg.knockoff_window:
                # A connection that was healthy for a while: start the backoff afresh.
                self._failures = 0
                self._quick_drops = 0
            else:
                self._quick_drops += 1
        self._failures += 1
        cap = min(cfg.backoff_max, cfg.backoff_initial * 2 ** (self._failures - 1))
        delay = self._rng.uniform(0.0, cap)
        if self._quick_drops >= cfg.knockoff_threshold:
            delay = max(delay, cfg.knockoff_backoff * self._rng.uniform(0.5, 1.0))
            self._warn(
                f"the connection was dropped {self._quick_drops} times in a row within "
                f"{cfg.knockoff_window:g} s of authenticating: another client with the same key "
                f"is probably connected (iTick allows one connection per key, and each new one "
                f"knocks the other off). Stop the other client or use another key; backing off "
                f"{delay:.0f} s"
            )
            reason = f"knocked off by another client with the same key ({reason})"
        if ended.retry_after is not None:
            delay = max(delay, ended.retry_after)
        return delay, reason

    def _status(self, state: FeedState, reason: str) -> None:
        now = self._clock.time_ns()
        self._inbox.put(FeedStatus(state, reason, now // 1_000_000, now))
        # Recorded with the stamp strategies saw, so a backtest replays the same FeedStatus.
        self._record_event(state, now, reason=reason)
        if state in ("reconnecting", "stale"):
            self._warn(f"feed {state}: {reason}")
        else:
            self._info(f"feed {state}: {reason}")

    def _record_event(self, kind: str, at_ns: int | None = None, **detail: Any) -> None:
        if self._recorder is None:
            return
        token = self._token
        if token:
            # A library's error text may quote the URL, and a legacy URL may carry the key.
            masked = mask_secret(token)
            for name, value in detail.items():
                if isinstance(value, str) and token in value:
                    detail[name] = value.replace(token, masked)
        if at_ns is None:
            # Replies (subscribed, refused) are handled while their frame's stamp is current.
            last = self.stats.last_frame_ns
            at_ns = (
                last if kind.startswith("subscribe") and last is not None else self._clock.time_ns()
            )
        self._recorder.event(at_ns, kind, **detail)
