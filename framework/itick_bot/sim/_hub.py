"""The market hub: one shared market per symbol, stepped `rate` times a second and fanned out to
every session subscribed to it. Each update is rendered once per (symbol, region), whatever the
number of subscribers.

The hub never waits for a session: it queues frames without blocking, and a session whose queue
is full is a slow consumer (closed by the session itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._market import SymbolMarket
from ._render import FrameRenderer

if TYPE_CHECKING:
    from ._session import Session
    from ._state import SimState

__all__ = ["MarketHub"]

_MAX_CATCH_UP_S = 1.0
"""After a stall (a busy machine), replay at most this much market time in one burst."""
_MIN_SLEEP_S = 0.002
"""High rates are paced in batches: no sleep shorter than this."""


class MarketHub:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self._markets: dict[str, SymbolMarket] = {}
        # symbol -> region -> session -> subscribed types
        self._subs: dict[str, dict[str, dict[Session, frozenset[str]]]] = {}
        self._renderers: dict[tuple[str, str], FrameRenderer] = {}
        self._wake = anyio.Event()

    def add(self, session: Session, subscriptions: dict[tuple[str, str], frozenset[str]]) -> None:
        """Start (or widen) `session`'s streams; a new symbol's market starts now."""
        config = self._state.config
        for (symbol, region), types in subscriptions.items():
            if symbol not in self._markets:
                self._markets[symbol] = SymbolMarket(
                    symbol, config.seed, self._state.market_now_ms(), volatility=config.volatility
                )
            if (symbol, region) not in self._renderers:
                self._renderers[(symbol, region)] = FrameRenderer(
                    symbol,
                    region,
                    echo_region=config.echo_region,
                    kline_format=config.kline_format,
                    symbol_style=config.symbol_style,
                )
            self._subs.setdefault(symbol, {}).setdefault(region, {})[session] = types
        self._wake.set()

    def remove(self, session: Session) -> None:
        for symbol, regions in list(self._subs.items()):
            for region, sessions in list(regions.items()):
                sessions.pop(session, None)
                if not sessions:
                    del regions[region]
            if not regions:
                del self._subs[symbol]

    def step_all(self, now_ms: int) -> None:
        """One market update of every subscribed symbol, queued to its subscribers."""
        for symbol, regions in list(self._subs.items()):
            update = self._markets[symbol].step(now_ms)
            for region, sessions in list(regions.items()):
                wanted = frozenset().union(*sessions.values())
                frames = self._renderers[(symbol, region)].render(update, wanted)
                for session, types in list(sessions.items()):
                    for kind, frame in frames:
                        if kind in types:
                            session.offer_data(kind.partition("@")[0], frame, symbol, update.ts)

    async def run(self) -> None:
        """Step the markets `rate` times a second for as long as the simulator runs."""
        state = self._state
        rate = state.config.rate
        if rate <= 0:
            return  # flood mode: sessions send pre-rendered cycles themselves
        interval = 1.0 / rate
        step_ms = interval * 1000 * state.config.time_scale
        next_time = anyio.current_time()
        while True:
            if not self._subs:
                self._wake = anyio.Event()
                await self._wake.wait()
                next_time = anyio.current_time()
            now = anyio.current_time()
            if now < next_time:
                await anyio.sleep(max(next_time - now, _MIN_SLEEP_S))
                now = anyio.current_time()
            due = int((now - next_time) / interval) + 1
            limit = max(1, int(rate * _MAX_CATCH_UP_S))
            if due > limit:  # fell far behind: skip ahead instead of flooding clients
                next_time = now - (limit - 1) * interval
                due = limit
            market_now = state.market_now_ms()
            for i in range(due):
                self.step_all(market_now - int((due - 1 - i) * step_ms))
            next_time += due * interval
