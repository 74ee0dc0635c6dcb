"""The simulated venue of one symbol: the visible book, the liquidity our fills took from it, and
the fill models that read it (walking the levels, queue position, crossing).

The book stays in floats, as the feed delivered it: a depth update that fills nothing costs a few
comparisons. Sizes become `Decimal`s only for the levels a fill touches.

What five visible levels cannot tell, and what the models assume instead:

- Liquidity we took from a level is remembered as taken until a snapshot shows that level with a
  different size (or without it): an unchanged book is never filled twice.
- The queue ahead of a resting order is the level's visible size when it arrived. It only shrinks:
  trades at its price (ticks) eat it first, and a level that shrinks below it caps it (we cannot
  tell cancels behind us from fills ahead of us, so we assume the worst). A level that grows does
  not push us back: the newcomers queue behind us.
- When the opposite side reaches a resting order's price, or a trade prints beyond it, the market
  has traded through that price, so the order has filled completely, as maker, at its price.
"""

from __future__ import annotations

from decimal import Decimal

from ..book import OrderBook
from ..model import Level
from ._state import ZERO, WorkingOrder, to_dec

__all__ = ["Take", "Taken", "Venue"]


class Take:
    """One planned taker fill: `qty` at `price` from visible level `level` (0 is the best), or
    beyond the visible book (`level` None) under the slippage policy."""

    __slots__ = ("available", "level", "level_size", "price", "price_f", "qty")

    def __init__(
        self,
        price: Decimal,
        qty: Decimal,
        level: int | None,
        level_size: Decimal | None,
        available: Decimal | None,
        price_f: float | None = None,
    ) -> None:
        self.price = price
        self.qty = qty
        self.level = level
        self.level_size = level_size
        self.available = available
        self.price_f = price_f


class Taken:
    """Liquidity we took from one level, and the level's size when we took it."""

    __slots__ = ("qty", "seen")

    def __init__(self, seen: float, qty: Decimal) -> None:
        self.seen = seen
        self.qty = qty


class Venue:
    """Where the orders of one symbol meet the book, as the broker last saw it."""

    __slots__ = (
        "asks",
        "bids",
        "book",
        "has_book",
        "received_ns",
        "reliable",
        "taken_asks",
        "taken_bids",
        "ts",
        "unreliable_reason",
    )

    def __init__(self) -> None:
        self.bids: tuple[Level, ...] = ()
        self.asks: tuple[Level, ...] = ()
        self.book: OrderBook | None = None
        self.has_book = False
        self.reliable = False
        self.unreliable_reason = "no snapshot yet"
        self.ts: int | None = None
        self.received_ns = 0
        self.taken_bids: dict[float, Taken] = {}
        self.taken_asks: dict[float, Taken] = {}

    def install(self, book: OrderBook) -> None:
        """Take the book's current state as the venue's, forgetting liquidity taken from any
        level whose size changed."""
        self.book = book
        if book.bids is not self.bids:
            self.bids = book.bids
            if self.taken_bids:
                _refresh(self.taken_bids, self.bids)
        if book.asks is not self.asks:
            self.asks = book.asks
            if self.taken_asks:
                _refresh(self.taken_asks, self.asks)
        self.has_book = book.ts is not None
        self.reliable = book.reliable
        self.unreliable_reason = book.unreliable_reason
        self.ts = book.ts
        self.received_ns = book.received_ns

    def usable(self, live: bool) -> str:
        """Why an arriving order cannot be matched here ("" when it can). `live` also asks the
        book itself, which the engine may have marked unreliable since it was installed."""
        if not self.has_book:
            return "no book yet"
        if not self.reliable:
            return f"book unreliable ({self.unreliable_reason})"
        if live and self.book is not None and not self.book.reliable:
            return f"book unreliable ({self.book.unreliable_reason})"
        return ""

    # -- taking liquidity ------------------------------------------------------------------

    def plan(self, buy: bool, qty: Decimal, limit: float | None) -> list[Take]:
        """The taker fills that `qty` would get from the visible levels, best first, within the
        `limit` price (any price when None), net of the liquidity already taken."""
        levels = self.asks if buy else self.bids
        taken = self.taken_asks if buy else self.taken_bids
        out: list[Take] = []
        left = qty
        for index, (price, size) in enumerate(levels):
            if limit is not None and (price > limit if buy else price < limit):
                break
            size_d = to_dec(size)
            memo = taken.get(price)
            available = size_d - memo.qty if memo is not None else size_d
            if available <= 0:
                continue
            take = min(available, left)
            out.append(Take(to_dec(price), take, index, size_d, available, price))
            left -= take
            if left <= 0:
                break
        return out

    def take(self, buy: bool, fill: Take) -> None:
        """Remember that `fill` took its quantity from its level."""
        if fill.level is None or fill.price_f is None:
            return
        taken = self.taken_asks if buy else self.taken_bids
        levels = self.asks if buy else self.bids
        memo = taken.get(fill.price_f)
        if memo is None:
            taken[fill.price_f] = Taken(levels[fill.level][1], fill.qty)
        else:
            memo.qty += fill.qty

    def worst_price(self, buy: bool) -> float | None:
        """The last visible level's price on the side a buy (asks) or a sell (bids) takes from."""
        levels = self.asks if buy else self.bids
        return levels[-1][0] if levels else None

    def best_available(self, buy: bool) -> float | None:
        """The best opposite price that still has liquidity we have not taken."""
        levels = self.asks if buy else self.bids
        taken = self.taken_asks if buy else self.taken_bids
        if not taken:
            return levels[0][0] if levels else None
        for price, size in levels:
            memo = taken.get(price)
            if memo is None or to_dec(size) > memo.qty:
                return price
        return None

    def crosses(self, order: WorkingOrder) -> bool:
        """Whether the untaken opposite side reaches the resting order's price."""
        best = self.best_available(order.is_buy)
        limit = order.price_f
        if best is None or limit is None:
            return False
        return best <= limit if order.is_buy else best >= limit

    # -- resting orders --------------------------------------------------------------------

    def queue_at(self, buy: bool, price: float) -> Decimal | None:
        """The visible size at `price` on the side the order rests on; 0 when the price is inside
        the visible range with no level there, None when it lies beyond the visible levels."""
        levels = self.bids if buy else self.asks
        if not levels:
            return ZERO
        best, worst = levels[0][0], levels[-1][0]
        if (price > best) if buy else (price < best):
            return ZERO
        if (price < worst) if buy else (price > worst):
            return None
        for level_price, size in levels:
            if level_price == price:
                return to_dec(size)
        return ZERO

    def update_queue(self, order: WorkingOrder) -> None:
        """Shrink the order's queue estimate to the visible size at its price (never grow it)."""
        if order.price_f is None:
            return
        seen = self.queue_at(order.is_buy, order.price_f)
        if seen is None:
            return
        if order.queue is None or seen < order.queue:
            order.queue = seen


def _refresh(taken: dict[float, Taken], levels: tuple[Level, ...]) -> None:
    sizes = dict(levels)
    for price in [p for p, memo in taken.items() if sizes.get(p) != memo.seen]:
        del taken[price]
