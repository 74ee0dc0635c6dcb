"""Shared Hypothesis strategies: book levels, depth snapshots (good and bad), market values, and
server frames. Tests import from here rather than defining their own generators."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from itick_bot.book import RejectReason
from itick_bot.model import KLINE_PERIODS, Depth, Level, Quote, Tick
from itick_bot.symbols import KNOWN_REGIONS

__all__ = [
    "bad_depths",
    "canonical_symbols",
    "depths",
    "finite_floats",
    "itick_like_frames",
    "json_values",
    "kline_periods",
    "prices",
    "quotes",
    "regions",
    "sizes",
    "snapshot_sequences",
    "ticks",
    "timestamps_ms",
]

# Prices and sizes as iTick sends them: positive, finite, well inside a float's range so that
# sums and mids cannot overflow.
prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
timestamps_ms = st.integers(min_value=0, max_value=2**53)
canonical_symbols = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12
)
regions = st.sampled_from(["", *sorted(KNOWN_REGIONS)])
kline_periods = st.sampled_from(sorted(KLINE_PERIODS))


@st.composite
def depths(draw: st.DrawFn, symbol: str = "BTCUSDT", max_levels: int = 5) -> Depth:
    """A good snapshot: distinct prices split into bids (descending) below asks (ascending).
    Either side may be empty."""
    n_bids = draw(st.integers(0, max_levels))
    n_asks = draw(st.integers(0, max_levels))
    ladder = sorted(draw(st.lists(prices, min_size=n_bids + n_asks, max_size=n_bids + n_asks,
                                  unique=True)))  # fmt: skip
    bid_prices = ladder[:n_bids][::-1]
    ask_prices = ladder[n_bids:]
    bids = tuple((p, draw(sizes)) for p in bid_prices)
    asks = tuple((p, draw(sizes)) for p in ask_prices)
    return Depth(symbol, bids, asks, draw(timestamps_ms))


def _replace(levels: tuple[Level, ...], index: int, level: Level) -> tuple[Level, ...]:
    return (*levels[:index], level, *levels[index + 1 :])


@st.composite
def bad_depths(draw: st.DrawFn, symbol: str = "BTCUSDT") -> tuple[Depth, RejectReason]:
    """A snapshot the book must reject, with the reason it must count it under."""
    good = draw(depths(symbol))
    reason: RejectReason = draw(st.sampled_from(["crossed", "unordered", "bad_level"]))
    bids, asks = list(good.bids), list(good.asks)
    if reason == "crossed":
        # Best bid at or above best ask (locked or crossed); each side stays well ordered.
        ask = draw(prices.filter(lambda p: p < 1e9))
        bid = draw(st.floats(min_value=ask, max_value=2e9))
        bids = [(bid, draw(sizes))]
        asks = [(ask, draw(sizes))]
    elif reason == "unordered":
        side = draw(st.sampled_from(["bid", "ask"]))
        levels = draw(st.lists(prices, min_size=2, max_size=5))
        # Bids must fall strictly and asks rise strictly; a repeated price is unordered too.
        if side == "bid":
            levels = sorted(levels)
            bids, asks = [(p, 1.0) for p in levels], []
        else:
            levels = sorted(levels, reverse=True)
            bids, asks = [], [(p, 1.0) for p in levels]
    else:
        side = draw(st.sampled_from(["bid", "ask"]))
        target = bids if side == "bid" else asks
        if not target:
            target.append((draw(prices), draw(sizes)))
        index = draw(st.integers(0, len(target) - 1))
        price, size = target[index]
        bad = draw(st.sampled_from([0.0, -1.0, float("nan"), float("inf")]))
        target[index] = (bad, size) if draw(st.booleans()) else (price, bad)
    return Depth(symbol, tuple(bids), tuple(asks), good.ts), reason


snapshot_sequences = st.lists(
    st.one_of(depths().map(lambda d: (d, None)), bad_depths()), max_size=30
)
"""Sequences of `(depth, reject reason or None)`, good and bad snapshots mixed."""


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    with_range = draw(st.booleans())
    return Quote(
        draw(canonical_symbols),
        draw(prices),
        draw(sizes),
        draw(sizes),
        draw(timestamps_ms),
        draw(st.integers(0, 3)),
        draw(regions),
        draw(prices) if with_range else None,
        draw(prices) if with_range else None,
        draw(prices) if with_range else None,
    )


@st.composite
def ticks(draw: st.DrawFn) -> Tick:
    return Tick(
        draw(canonical_symbols),
        draw(prices),
        draw(sizes),
        draw(timestamps_ms),
        draw(st.none() | sizes),
        draw(regions),
    )


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | finite_floats | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=4),
    max_leaves=10,
)  # fmt: skip

_DATA_KEYS = ["s", "r", "ld", "t", "v", "tu", "ts", "o", "h", "l", "c", "a", "b", "k", "po", "p"]
_TYPES = ["quote", "depth", "tick", "kline@1", "kline@3", "kline@11", "kline@", "trade", ""]


@st.composite
def itick_like_frames(draw: st.DrawFn) -> str:
    """JSON text shaped like iTick's frames (its keys and kinds) with values of any type: reaches
    deeper into the decoder than random text does."""
    data: dict[str, Any] = draw(st.dictionaries(st.sampled_from(_DATA_KEYS), json_values))
    if draw(st.booleans()):
        data["type"] = draw(st.sampled_from(_TYPES) | st.text(max_size=8))
    frame: dict[str, Any] = {"data": data}
    if draw(st.booleans()):
        frame["code"] = draw(st.sampled_from([0, 1]) | json_values)
    if draw(st.booleans()):
        frame["resAc"] = draw(st.sampled_from(["auth", "pong", "subscribe"]) | json_values)
    if draw(st.booleans()):
        frame["msg"] = draw(json_values)
    return json.dumps(frame)
