"""A bar-driven example: go long when the fast moving average crosses above the slow one, and
flat again when it crosses back below.

    itick-bot run strategies/sma_cross.py --config config/sim.toml --duration 60
"""

from __future__ import annotations

from itick_bot import Bar, Strategy


class SmaCross(Strategy):
    symbol: str = "BTCUSDT"
    interval: str = "1m"
    fast: int = 5
    slow: int = 20
    size: float = 0.001

    def on_start(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"fast ({self.fast}) must be above 0 and below slow ({self.slow})")
        self._was_above: bool | None = None

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol != self.symbol or bar.interval != self.interval:
            return
        closes = self.bars(self.symbol, self.interval).close
        if len(closes) < self.slow:
            return
        fast = float(closes[-self.fast :].mean())
        slow = float(closes[-self.slow :].mean())
        above = fast > slow
        if self._was_above is not None and above != self._was_above:
            holding = self.position(self.symbol).qty
            if above and holding < self.size:
                self.buy(self.symbol, self.size)
            elif not above and holding > 0:
                self.sell(self.symbol, min(holding, self.size))
            self.log.info("cross", fast=round(fast, 2), slow=round(slow, 2), above=above)
        self._was_above = above
