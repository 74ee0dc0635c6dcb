"""The order book of one symbol, kept from iTick's depth snapshots.

iTick sends no sequence numbers: each depth frame is a full snapshot of the visible levels (five in
every example) and replaces the last one. A snapshot that is crossed or locked (best bid >= best
ask), unordered, or has a level with a non-positive price or size is bad data: it is counted by
reason, the last good book is kept, and `reliable` is False until a good snapshot arrives.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from .model import Depth, Level

__all__ = ["BookSide", "OrderBook", "RejectReason"]

BookSide: TypeAlias = Literal["bid", "ask"]
RejectReason: TypeAlias = Literal["crossed", "unordered", "bad_level"]
_INF: Final = float("inf")


def _check(bids: tuple[Level, ...], asks: tuple[Level, ...]) -> RejectReason | None:
    prev = float("inf")
    for price, size in bids:
        # Written so that NaN and infinity fail too (every comparison with NaN is False).
        if not (0.0 < price < _INF and 0.0 < size < _INF):
            return "bad_level"
        if price >= prev:
            return "unordered"
        prev = price
    prev = 0.0
    for price, size in asks:
        if not (0.0 < price < _INF and 0.0 < size < _INF):
            return "bad_level"
        if price <= prev:
            return "unordered"
        prev = price
    if bids and asks and bids[0][0] >= asks[0][0]:
        return "crossed"
    return None


class OrderBook:
    """Bids and asks of one symbol, best first, as `(price, size)` levels.

    `reliable` is False before the first good snapshot, after a bad one, and after
    `mark_unreliable` (the engine calls it when the feed goes stale), until a good snapshot comes.
    """

    __slots__ = (
        "asks",
        "bids",
        "received_ns",
        "rejected",
        "reliable",
        "symbol",
        "ts",
        "unreliable_reason",
        "updates",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: tuple[Level, ...] = ()
        self.asks: tuple[Level, ...] = ()
        self.ts: int | None = None
        """Time of the last good snapshot (epoch ms), None before the first."""
        self.received_ns = 0
        self.reliable = False
        self.unreliable_reason = "no snapshot yet"
        self.updates = 0
        self.rejected: dict[RejectReason, int] = {}

    def apply(self, depth: Depth) -> bool:
        """Replace the book with a snapshot; False (and the old book kept) when it is bad."""
        reason = _check(depth.bids, depth.asks)
        if reason is not None:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
            self.reliable = False
            self.unreliable_reason = f"last snapshot was {reason.replace('_', ' ')}"
            return False
        self.bids = depth.bids
        self.asks = depth.asks
        self.ts = depth.ts
        self.received_ns = depth.received_ns
        self.reliable = True
        self.unreliable_reason = ""
        self.updates += 1
        return True

    def mark_unreliable(self, reason: str) -> None:
        """Distrust the book (e.g. the stream went stale) until the next good snapshot."""
        self.reliable = False
        self.unreliable_reason = reason

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    @property
    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2.0

    @property
    def spread(self) -> float | None:
        """Best ask minus best bid, in price units."""
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]

    @property
    def spread_bps(self) -> float | None:
        """The spread in basis points of the mid."""
        if not self.bids or not self.asks:
            return None
        bid, ask = self.bids[0][0], self.asks[0][0]
        return (ask - bid) / ((ask + bid) / 2.0) * 10_000.0

    @property
    def microprice(self) -> float | None:
        """The mid weighted by the opposite side's size at the top: it leans toward the side
        that is about to be taken."""
        if not self.bids or not self.asks:
            return None
        (bp, bs), (ap, as_) = self.bids[0], self.asks[0]
        return (bp * as_ + ap * bs) / (bs + as_)

    def imbalance(self, levels: int = 1) -> float | None:
        """(bid size - ask size) / (bid size + ask size) over the top `levels`: +1 all bids,
        -1 all asks."""
        if levels < 1:
            raise ValueError(f"imbalance needs levels >= 1, not {levels}")
        if not self.bids or not self.asks:
            return None
        bid = sum(size for _, size in self.bids[:levels])
        ask = sum(size for _, size in self.asks[:levels])
        return (bid - ask) / (bid + ask)

    def size_within(self, side: BookSide, bps: float) -> float:
        """Total size on `side` priced within `bps` basis points of the mid (0 without a mid)."""
        mid = self.mid
        if mid is None:
            return 0.0
        if side == "bid":
            floor = mid * (1.0 - bps / 10_000.0)
            return sum(size for price, size in self.bids if price >= floor)
        ceiling = mid * (1.0 + bps / 10_000.0)
        return sum(size for price, size in self.asks if price <= ceiling)

    def levels(self, side: BookSide) -> tuple[Level, ...]:
        return self.bids if side == "bid" else self.asks

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol}, bid={self.best_bid}, ask={self.best_ask}, "
            f"reliable={self.reliable})"
        )
