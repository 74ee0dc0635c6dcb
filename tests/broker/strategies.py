"""Hypothesis strategies for the broker's tests: valid books on BTCUSDT's grid, and sequences of
market events and orders."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
from hypothesis import strategies as st

Level: TypeAlias = tuple[float, float]


@attrs.frozen
class BookStep:
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@attrs.frozen
class TickStep:
    price: float
    size: float


@attrs.frozen
class OrderStep:
    side: Literal["buy", "sell"]
    qty: str
    price: str | None
    tif: Literal["GTC", "IOC", "FOK"]
    post_only: bool
    strategy: str


@attrs.frozen
class CancelStep:
    index: int
    """Which of the orders submitted so far (modulo their number)."""


@attrs.frozen
class WaitStep:
    ms: int


Step: TypeAlias = BookStep | TickStep | OrderStep | CancelStep | WaitStep


def _cents(units: int) -> float:
    return float(f"{units / 100:.2f}")


@st.composite
def books(draw: st.DrawFn, max_levels: int = 5) -> BookStep:
    """A valid five-level (or thinner) book around 100.00, prices on a 0.01 tick, sizes on a
    0.001 step: the same small set of prices recurs, so levels repeat and change."""
    best_bid = draw(st.integers(9_995, 10_005))
    spread = draw(st.integers(1, 3))
    n_bids = draw(st.integers(1, max_levels))
    n_asks = draw(st.integers(1, max_levels))
    bid_gaps = draw(st.lists(st.integers(1, 2), min_size=n_bids, max_size=n_bids))
    ask_gaps = draw(st.lists(st.integers(1, 2), min_size=n_asks, max_size=n_asks))
    sizes = st.integers(1, 20).map(lambda n: float(f"{n / 1000:.3f}"))
    bids, price = [], best_bid
    for gap in bid_gaps:
        bids.append((_cents(price), draw(sizes)))
        price -= gap
    asks, price = [], best_bid + spread
    for gap in ask_gaps:
        asks.append((_cents(price), draw(sizes)))
        price += gap
    return BookStep(tuple(bids), tuple(asks))


prices = st.integers(9_993, 10_010).map(_cents)

orders = st.builds(
    OrderStep,
    side=st.sampled_from(["buy", "sell"]),
    qty=st.integers(1, 60).map(lambda n: f"{n / 1000:.3f}"),
    price=st.none() | prices.map(lambda p: f"{p:.2f}"),
    tif=st.sampled_from(["GTC", "GTC", "IOC", "FOK"]),
    post_only=st.sampled_from([False] * 9 + [True]),
    strategy=st.sampled_from(["a", "b"]),
)

steps: st.SearchStrategy[Step] = st.one_of(
    books(),
    st.builds(TickStep, price=prices, size=st.integers(1, 30).map(lambda n: n / 1000)),
    orders,
    orders,
    st.builds(CancelStep, index=st.integers(0, 1_000)),
    st.builds(WaitStep, ms=st.integers(0, 120)),
    st.builds(WaitStep, ms=st.integers(0, 120)),
)

sequences: st.SearchStrategy[list[Step]] = st.tuples(
    books(), st.lists(steps, min_size=10, max_size=40)
).map(lambda t: [t[0], *t[1]])
"""A book first (most orders need one), then a random mix of events, orders and waits."""
