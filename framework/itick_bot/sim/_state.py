"""The simulator's shared, mutable state: live fault switches, statistics, the set of open
sessions, and waiters that let tests synchronise on what the server has done (no sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._config import MalformedKind, SimConfig

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["Faults", "SimState", "SimStats"]


@attrs.define(kw_only=True)
class Faults:
    """The fault switches as they are now; `Simulator`'s methods flip them at run time."""

    fail_auth: bool
    max_symbols: int
    drop_after: float | None
    silent: bool
    silent_after: float | None
    malformed_every: int
    malformed_kinds: tuple[MalformedKind, ...]
    knock_off: bool
    knock_off_after: float | None
    one_connection_per_key: bool
    reject_connects: int
    rest_fail_auth: bool = False
    rest_rate_limit: int = 0
    rest_empty: bool = False

    @classmethod
    def from_config(cls, config: SimConfig) -> Faults:
        return cls(
            fail_auth=config.fail_auth,
            max_symbols=config.max_symbols,
            drop_after=config.drop_after,
            silent=config.silent,
            silent_after=config.silent_after,
            malformed_every=config.malformed_every,
            malformed_kinds=config.malformed_kinds,
            knock_off=config.knock_off,
            knock_off_after=config.knock_off_after,
            one_connection_per_key=config.one_connection_per_key,
            reject_connects=config.reject_connects,
            rest_fail_auth=config.rest_fail_auth,
            rest_rate_limit=config.rest_rate_limit,
            rest_empty=config.rest_empty,
        )


@attrs.define(kw_only=True)
class SimStats:
    """What the simulator has done since it started. Counters only grow, except
    `current_clients`."""

    connections_accepted: int = 0
    """Handshakes completed (WebSocket accepted)."""
    connections_refused: int = 0
    """Handshakes refused with HTTP 429 (`reject_connects`)."""
    bad_paths: int = 0
    """Handshakes refused because the path is no iTick endpoint."""
    auths_ok: int = 0
    auths_failed: int = 0
    subscriptions: int = 0
    """Subscribe requests granted."""
    subscriptions_refused: int = 0
    """Subscribe requests refused (limit, or a request that cannot be resolved)."""
    unsubscribes: int = 0
    pings_answered: int = 0
    frames_sent: dict[str, int] = attrs.field(factory=dict)
    """Frames sent, by kind: quote, depth, tick, kline, malformed, reply (greeting, auth,
    subscribe and notice frames), pong."""
    clients_dropped: int = 0
    """Connections closed by the `drop` fault."""
    clients_knocked_off: int = 0
    slow_clients_dropped: int = 0
    current_clients: int = 0
    """Authenticated connections open now."""
    rest_requests: int = 0
    """REST requests answered, whatever the answer."""
    rest_refused: int = 0
    """REST requests refused with HTTP 401 (wrong or missing key, or `rest_fail_auth`)."""
    rest_rate_limited: int = 0
    """REST requests answered with HTTP 429 (`rest_rate_limit`)."""

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class SimState:
    """Shared by the ASGI app, every session and the market hub."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.faults = Faults.from_config(config)
        self.stats = SimStats()
        self.sessions: set[Session] = set()
        self._waiters: list[tuple[Callable[[], bool], anyio.Event]] = []
        self._next_id = 0
        # The market clock: wall time at start, running `time_scale` times faster from there.
        self._wall_ms0 = time.time_ns() // 1_000_000
        self._mono0 = time.monotonic()
        self.cut_transport: Callable[[dict[str, Any]], bool] = lambda scope: False
        """Set by the server: abort the TCP connection of an ASGI scope (no close frame)."""

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def market_now_ms(self) -> int:
        elapsed = time.monotonic() - self._mono0
        return self._wall_ms0 + int(elapsed * self.config.time_scale * 1000)

    def count_frame(self, kind: str) -> None:
        frames = self.stats.frames_sent
        frames[kind] = frames.get(kind, 0) + 1
        if self._waiters:
            self.notify()

    # -- waiting ---------------------------------------------------------------------------------
    def notify(self) -> None:
        """Something changed: wake every waiter whose condition now holds. Called after every
        change of `stats` (cheap when nobody waits)."""
        for condition, event in self._waiters:
            if condition():
                event.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds (checked now and after every change)."""
        if condition():
            return
        entry = (condition, anyio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        finally:
            self._waiters.remove(entry)
