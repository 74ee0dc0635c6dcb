"""`Momentum`: buys when the price has risen on each of the last `lookback` price changes and
sells when it has fallen on each of them. Long only, one lot of `size` at a time, market orders.

A tick at the same price as the previous one is not a move and does not break a run."""

from __future__ import annotations

from collections import deque
from itertools import pairwise

from itick_bot import Strategy, Tick

__all__ = ["Momentum"]


class Momentum(Strategy):
    """Follow short runs of trade prices on one symbol."""

    symbol: str = "BTCUSDT"
    lookback: int = 3
    """How many consecutive price changes in one direction make a signal."""
    size: float = 0.001
    """The quantity bought on a rise and sold on a fall."""

    def on_start(self) -> None:
        if self.lookback < 1:
            raise ValueError(f"lookback must be at least 1, not {self.lookback}")
        if self.size <= 0:
            raise ValueError(f"size must be positive, not {self.size}")
        # One more price than moves: `lookback` changes need `lookback + 1` prices.
        self._prices: deque[float] = deque(maxlen=self.lookback + 1)
        self.log.info("momentum started", symbol=self.symbol, lookback=self.lookback)

    def on_tick(self, tick: Tick) -> None:
        if tick.symbol != self.symbol:
            return
        prices = self._prices
        if prices and tick.price == prices[-1]:
            return
        prices.append(tick.price)
        if len(prices) <= self.lookback or self.open_orders(self.symbol):
            return
        held = self.position(self.symbol).qty
        if all(a < b for a, b in pairwise(prices)) and held < self.size:
            self.buy(self.symbol, self.size)
            self.log.info("momentum buy", price=tick.price, qty=self.size)
            prices.clear()
        elif all(a > b for a, b in pairwise(prices)) and held >= self.size:
            self.sell(self.symbol, self.size)
            self.log.info("momentum sell", price=tick.price, qty=self.size)
            prices.clear()
