"""A small market to trade in: a manual clock, one book per symbol, and a paper broker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from itick_bot.book import OrderBook
from itick_bot.broker import BrokerConfig, BrokerUpdate, PaperBroker
from itick_bot.clock import ManualClock
from itick_bot.model import Depth, Fill, Order, Tick

START_NS = 1_700_000_000_000_000_000


class Market:
    """Drives a `PaperBroker` the way the engine does: the clock moves to each event's time, the
    book is updated, then the broker is told."""

    def __init__(self, path: Path | str, **config: Any) -> None:
        self.clock = ManualClock(START_NS)
        self.config = BrokerConfig(**config)
        self.path = path
        self.broker = PaperBroker(self.config, self.clock, path)
        self.books: dict[str, OrderBook] = {}
        self.updates: list[BrokerUpdate] = []

    def reopen(self, **config: Any) -> PaperBroker:
        self.broker.close()
        if config:
            self.config = BrokerConfig(**config)
        self.broker = PaperBroker(self.config, self.clock, self.path)
        return self.broker

    def depth(
        self,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        symbol: str = "BTCUSDT",
    ) -> list[BrokerUpdate]:
        book = self.books.setdefault(symbol, OrderBook(symbol))
        event = Depth(
            symbol,
            tuple(bids),
            tuple(asks),
            ts=self.clock.time_ms(),
            received_ns=self.clock.time_ns(),
        )
        book.apply(event)
        return self._keep(self.broker.on_depth(event, book))

    def tick(self, price: float, size: float, symbol: str = "BTCUSDT") -> list[BrokerUpdate]:
        event = Tick(symbol, price, size, ts=self.clock.time_ms(), received_ns=self.clock.time_ns())
        return self._keep(self.broker.on_tick(event))

    def wait(self, ms: int) -> list[BrokerUpdate]:
        """Let `ms` pass and deliver what arrives meanwhile."""
        self.clock.set_ns(self.clock.time_ns() + ms * 1_000_000)
        return self._keep(self.broker.advance())

    def _keep(self, updates: list[BrokerUpdate]) -> list[BrokerUpdate]:
        self.updates.extend(updates)
        return updates


def fills(updates: Sequence[BrokerUpdate]) -> list[Fill]:
    return [u for u in updates if isinstance(u, Fill)]


def statuses(updates: Sequence[BrokerUpdate]) -> list[str]:
    return [u.status for u in updates if isinstance(u, Order)]


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "paper.sqlite"


@pytest.fixture
def market(ledger_path: Path) -> Iterator[Market]:
    """Default fees (10 bps taker, 8 maker), 50 ms latency, 10 000 USDT, 0.1 BTC, 1 ETH."""
    m = Market(ledger_path)
    yield m
    m.broker.close()
