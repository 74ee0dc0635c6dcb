"""What the engine knows of the market: a book, a bar store and the last quote per symbol."""

from __future__ import annotations

from collections.abc import Iterable

from ..bars import BarSeries, BarStore
from ..book import OrderBook
from ..model import Bar, Interval, Quote, Tick
from ..symbols import canonical

__all__ = ["MarketState"]


class MarketState:
    """Books, bars and quotes, updated by the engine before any strategy sees an event."""

    __slots__ = ("bars", "books", "quotes")

    def __init__(self, bars: BarStore) -> None:
        self.books: dict[str, OrderBook] = {}
        self.bars = bars
        self.quotes: dict[str, Quote] = {}

    def book(self, symbol: str) -> OrderBook:
        """The book of `symbol` in any spelling; an empty, unreliable one before its first
        snapshot."""
        book = self.books.get(symbol)
        if book is None:
            key = canonical(symbol)
            book = self.books.get(key)
            if book is None:
                book = self.books[key] = OrderBook(key)
        return book

    def series(self, symbol: str, interval: Interval) -> BarSeries:
        return self.bars.series(canonical(symbol), interval)

    def on_tick(self, tick: Tick) -> tuple[Bar, ...]:
        return self.bars.on_tick(tick)

    def on_kline(self, bar: Bar) -> tuple[Bar, ...]:
        return self.bars.on_kline(bar)

    def mark_unreliable(self, reason: str, symbols: Iterable[str] | None = None) -> None:
        for symbol in self.books if symbols is None else symbols:
            self.book(symbol).mark_unreliable(reason)

    def marks(self) -> dict[str, float]:
        """Mid prices (else the last trade price) per symbol, for marking positions."""
        out = {s: q.last for s, q in self.quotes.items()}
        for symbol, book in self.books.items():
            mid = book.mid
            if mid is not None:
                out[symbol] = mid
        return out
