"""The values itick-bot passes around: market-data events, orders, fills, positions, balances.

Market-data events are created for every frame, hundreds of thousands of times a second, so they are
frozen `msgspec.Struct`s (about 0.1 µs to create). Orders, fills, positions and balances change
rarely and carry more behaviour, so they are frozen attrs classes. Every event carries
`received_ns`, the local time its frame arrived (or the engine's time when it was made), and `ts`,
the exchange's epoch milliseconds where the frame has one.

Numbers a strategy sees are floats; the broker keeps exact decimals inside.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import attrs
import msgspec

__all__ = [
    "INTERVALS",
    "INTERVAL_MS",
    "KLINE_PERIODS",
    "ORDER_TRANSITIONS",
    "TERMINAL_STATUSES",
    "Balance",
    "Bar",
    "Depth",
    "FeedState",
    "FeedStatus",
    "Fill",
    "Interval",
    "Level",
    "Liquidity",
    "MarketEvent",
    "Order",
    "OrderStatus",
    "Position",
    "Quote",
    "Side",
    "Tick",
    "TimeInForce",
    "interval_of_kline",
    "kline_of_interval",
]

Side: TypeAlias = Literal["buy", "sell"]
TimeInForce: TypeAlias = Literal["GTC", "IOC", "FOK"]
OrderStatus: TypeAlias = Literal[
    "submitted", "accepted", "partially_filled", "filled", "cancelled", "rejected"
]
Liquidity: TypeAlias = Literal["maker", "taker"]
FeedState: TypeAlias = Literal["connected", "stale", "reconnecting", "recovered", "stopped"]
Interval: TypeAlias = Literal["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w", "1M"]
Level: TypeAlias = tuple[float, float]
"""One book level: `(price, size)`."""

INTERVALS: Final[tuple[Interval, ...]] = (
    "1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w", "1M",
)  # fmt: skip
KLINE_PERIODS: Final[dict[int, Interval]] = dict(enumerate(INTERVALS, start=1))
"""iTick's `kline@N` period numbers (PROTOCOL.md section 3). Period 3 is 15 minutes in the
current documents (10 minutes in older ones)."""
_KLINE_OF_INTERVAL: Final = {iv: n for n, iv in KLINE_PERIODS.items()}
_MINUTE: Final = 60_000
INTERVAL_MS: Final[dict[Interval, int]] = {
    "1m": _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "1d": 1440 * _MINUTE,
    "1w": 7 * 1440 * _MINUTE,
    "1M": 30 * 1440 * _MINUTE,  # nominal: month bars are aligned on the calendar, not on this
}


def interval_of_kline(period: int) -> Interval | None:
    """The interval of iTick's kline period number, or None for a number iTick does not define."""
    return KLINE_PERIODS.get(period)


def kline_of_interval(interval: Interval) -> int:
    """iTick's kline period number of an interval (`"5m"` is `kline@2`)."""
    return _KLINE_OF_INTERVAL[interval]


# ---------------------------------------------------------------------------------------------
# Market data: frozen msgspec structs, positional in the order of DESIGN.md section 3.


class Quote(msgspec.Struct, frozen=True, gc=False):
    """The latest trade price and the rolling day's volume of one symbol."""

    symbol: str
    last: float
    volume: float
    turnover: float
    ts: int
    status: int = 0
    """iTick's trading status: 0 normal, 1 suspended, 2 delisted, 3 circuit breaker."""
    region: str = ""
    open: float | None = None
    high: float | None = None
    low: float | None = None
    received_ns: int = 0


class Tick(msgspec.Struct, frozen=True, gc=False):
    """One trade. Crypto ticks carry no aggressor side."""

    symbol: str
    price: float
    size: float
    ts: int
    turnover: float | None = None
    region: str = ""
    received_ns: int = 0


class Depth(msgspec.Struct, frozen=True, gc=False):
    """A full snapshot of the visible book; levels are `(price, size)`, best first."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: int
    region: str = ""
    received_ns: int = 0


class Bar(msgspec.Struct, frozen=True, gc=False):
    """An OHLCV bar. `open_time` is epoch ms aligned to the interval.

    A kline frame from the server decodes to the bar as it stands now (possibly still forming); the
    bar store decides when a bar is closed, and strategies' `on_bar` only ever sees closed bars.
    """

    symbol: str
    interval: Interval
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    turnover: float = 0.0
    region: str = ""
    received_ns: int = 0


class FeedStatus(msgspec.Struct, frozen=True, gc=False):
    """A change in the health of the market-data feed."""

    state: FeedState
    reason: str
    ts: int
    received_ns: int = 0


MarketEvent: TypeAlias = Quote | Tick | Depth | Bar


# ---------------------------------------------------------------------------------------------
# Trading: frozen attrs classes. A changed order is a new value (`attrs.evolve`) made by the
# broker along ORDER_TRANSITIONS, never a field poked from afar.

TERMINAL_STATUSES: Final[frozenset[OrderStatus]] = frozenset({"filled", "cancelled", "rejected"})

ORDER_TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    # sent by the strategy, travelling to the simulated venue for `latency_ms`
    "submitted": frozenset({"accepted", "rejected", "cancelled"}),
    # at the venue: resting, or about to be matched
    "accepted": frozenset({"partially_filled", "filled", "cancelled"}),
    "partially_filled": frozenset({"partially_filled", "filled", "cancelled"}),
    "filled": frozenset(),
    "cancelled": frozenset(),
    "rejected": frozenset(),
}
"""The order lifecycle, the one table every status change is checked against."""


@attrs.frozen(slots=True)
class Order:
    """An order of the paper account, as its strategy sees it."""

    id: str
    symbol: str
    side: Side
    qty: float
    price: float | None
    """The limit price; None for a market order."""
    tif: TimeInForce = "GTC"
    post_only: bool = False
    status: OrderStatus = "submitted"
    filled_qty: float = 0.0
    avg_price: float | None = None
    reason: str = ""
    """Why the order was rejected or cancelled; empty otherwise."""
    strategy: str = ""
    created_ns: int = 0
    updated_ns: int = 0

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def remaining_qty(self) -> float:
        return max(self.qty - self.filled_qty, 0.0)

    def can_become(self, status: OrderStatus) -> bool:
        return status in ORDER_TRANSITIONS[self.status]


@attrs.frozen(slots=True)
class Fill:
    """One execution of an order on the paper broker."""

    order_id: str
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    fee_asset: str
    liquidity: Liquidity
    ts: int
    strategy: str = ""
    received_ns: int = 0


@attrs.frozen(slots=True)
class Position:
    """A spot position in one symbol, marked at the book's mid for unrealized P&L."""

    symbol: str
    qty: float = 0.0
    avg_price: float | None = None
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0


@attrs.frozen(slots=True)
class Balance:
    """One asset of the paper account: `free` + `reserved` == `total`."""

    asset: str
    total: float = 0.0
    free: float = 0.0
    reserved: float = 0.0
