"""A spread market maker: quotes both sides around the mid, within inventory limits.

It keeps at most one bid and one ask resting, `edge_bps` either side of the mid (post-only, so
they never take liquidity), and replaces them when the mid has moved more than `requote_bps` or
one of them has been filled. Quotes go out only while the market's spread is at least
`min_spread_bps` and the book is reliable; when the position reaches `max_inventory` on one side,
it stops quoting that side until fills bring it back.

    itick-bot run strategies/spread.py --config config/sim.toml --duration 30
"""

from __future__ import annotations

import math

from itick_bot import Depth, FeedStatus, Fill, Order, Strategy


class Spread(Strategy):
    symbol: str = "BTCUSDT"
    edge_bps: float = 5.0
    """Distance of each quote from the mid, in basis points."""
    size: float = 0.001
    """Quantity of each quote, in the base asset."""
    max_inventory: float = 0.005
    """Largest position (long or short, in the base asset) the strategy builds up."""
    requote_bps: float = 2.0
    """Replace the quotes when the mid moved this far from where they were placed."""
    min_spread_bps: float = 0.0
    """Quote only while the market's own spread is at least this wide."""
    tick_size: float = 0.01
    """Price grid of the quotes (the broker's tick for the symbol)."""

    def on_start(self) -> None:
        # A restarted bot resumes its ledger, quotes of the last run included: start clean.
        self.cancel_all(self.symbol)
        self._bid: Order | None = None
        self._ask: Order | None = None
        self._quoted_mid: float | None = None
        self.log.info("quoting", symbol=self.symbol, edge_bps=self.edge_bps, size=self.size)

    def on_depth(self, depth: Depth) -> None:
        if depth.symbol != self.symbol:
            return
        book = self.book(self.symbol)
        mid, spread_bps = book.mid, book.spread_bps
        if not book.reliable or mid is None or spread_bps is None:
            self._pull("book unreliable")
            return
        if spread_bps < self.min_spread_bps:
            self._pull("spread too narrow")
            return
        moved = (
            self._quoted_mid is None
            or abs(mid - self._quoted_mid) / mid * 10_000 >= self.requote_bps
        )
        if moved or self._bid is None or self._ask is None:
            self._quote(mid)

    def on_order(self, order: Order) -> None:
        # A finished order no longer quotes; the next depth update puts a fresh one out.
        if not order.is_open:
            if self._bid is not None and order.id == self._bid.id:
                self._bid = None
            elif self._ask is not None and order.id == self._ask.id:
                self._ask = None

    def on_fill(self, fill: Fill) -> None:
        self.log.info("filled", side=fill.side, qty=fill.qty, price=fill.price, fee=fill.fee)

    def on_feed(self, status: FeedStatus) -> None:
        if status.state in ("stale", "reconnecting"):
            self._pull(f"feed {status.state}")

    def on_stop(self) -> None:
        position = self.position(self.symbol)
        self.log.info("stopping", position=position.qty, realized=position.realized_pnl)

    # -- helpers ------------------------------------------------------------------------------
    def _quote(self, mid: float) -> None:
        self._pull("requote")
        inventory = self.position(self.symbol).qty
        edge = mid * self.edge_bps / 10_000
        bid = math.floor((mid - edge) / self.tick_size) * self.tick_size
        ask = math.ceil((mid + edge) / self.tick_size) * self.tick_size
        if inventory < self.max_inventory:
            self._bid = self._live(self.buy(self.symbol, self.size, round(bid, 8), post_only=True))
        if inventory > -self.max_inventory:
            self._ask = self._live(self.sell(self.symbol, self.size, round(ask, 8), post_only=True))
        self._quoted_mid = mid

    def _live(self, order: Order) -> Order | None:
        if order.status == "rejected":
            self.log.warning("quote rejected", reason=order.reason)
            return None
        return order

    def _pull(self, why: str) -> None:
        if self._bid is not None or self._ask is not None:
            self.cancel_all(self.symbol)
            self._bid = self._ask = None
            self._quoted_mid = None
