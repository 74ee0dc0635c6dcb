"""The fast path of the decoder gives what the tolerant decoder alone gives, and is taken.

`decode_frame` tries `fast_data_event` first and falls back to the tolerant decoder for anything
the fast path does not take whole. These tests generate frames that are valid, nearly valid and
broken in every field (numbers as strings, "null", "nan", absent fields, levels out of rank) and
require the same event, `Malformed` detail included, from both. (One known exception, not
generated here: a frame repeating a key with values of different types, where the tolerant
decoder checks every occurrence and the fast path keeps the last.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from itick_bot.model import Bar, Depth, Quote, Tick
from itick_bot.protocol import (
    Malformed,
    _fast,
    decode_frame,
    render_depth,
    render_kline,
    render_quote,
    render_tick,
)
from itick_bot.protocol._decode import decode_tolerant

from ..strategies import depths, itick_like_frames, quotes, ticks

RECEIVED = 1_731_660_000_123_456_789

_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_numberish: st.SearchStrategy[Any] = st.one_of(
    _finite,
    st.integers(-(10**6), 10**13),
    _finite.map(repr),
    st.integers(-(10**6), 10**13).map(str),
    st.sampled_from(
        ["null", "nan", "NaN", "inf", "-Infinity", "", " 1.5", "1_0", "+2", "1e999", "0x10", "abc"]
    ),
    st.sampled_from([None, True, 1e308, -0.0, 2**53 + 1, str(2**53 + 1), 17.5, "17.0", "1e3"]),
)
_ABSENT = object()
_fields = st.one_of(st.just(_ABSENT), _numberish)
_symbols = st.sampled_from(["BTCUSDT", "eth_usdt", "BA_BTC_USDT", "EURUSD$GB", "", " x "])
_regions = st.sampled_from([_ABSENT, "", "ba", "GB", None, 5])


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    if value is not _ABSENT:
        data[key] = value


@st.composite
def _levels(draw: st.DrawFn) -> Any:
    n = draw(st.integers(0, 6))
    ranks = draw(
        st.sampled_from(["in order", "shuffled", "missing", "strings", "zero-based", "drawn"])
    )
    levels = []
    for i in range(n):
        level: dict[str, Any] = {"o": 1.0}
        _put(level, "p", draw(st.one_of(_finite, _fields)))
        _put(level, "v", draw(st.one_of(_finite, _fields)))
        if ranks == "in order":
            level["po"] = i + 1
        elif ranks == "strings":
            level["po"] = str(i + 1)
        elif ranks == "zero-based":
            level["po"] = i
        elif ranks == "drawn":
            _put(level, "po", draw(_fields))
        elif ranks == "shuffled":
            level["po"] = (i * 3) % max(n, 1) + 1
        levels.append(level)
    return draw(st.sampled_from([levels, _ABSENT, None, "levels", {"p": 1}]))


@st.composite
def near_frames(draw: st.DrawFn) -> str:
    """A data frame of one kind with every field valid, missing, or of another form."""
    kind = draw(
        st.sampled_from(["quote", "tick", "depth", "kline@1", "kline@10", "kline@11", "legacy"])
    )
    data: dict[str, Any] = {}
    _put(data, "s", draw(st.one_of(_symbols, st.just(_ABSENT), st.none())))
    _put(data, "r", draw(_regions))
    keys = {
        "quote": ("ld", "t", "v", "tu", "ts", "o", "h", "l"),
        "tick": ("ld", "v", "t", "tu"),
        "depth": ("t",),
    }.get(kind, ("t", "o", "h", "l", "c", "v", "tu"))
    for key in keys:
        _put(data, key, draw(st.one_of(_finite, _fields)))
    if kind == "depth":
        _put(data, "a", draw(_levels()))
        _put(data, "b", draw(_levels()))
    if kind == "legacy":  # the period in `t`, the bar nested in `k`, no `type` (mostly)
        bar: dict[str, Any] = {}
        for key in ("t", "o", "h", "l", "c", "v", "tu"):
            _put(bar, key, draw(st.one_of(_finite, _fields)))
        data["t"] = draw(
            st.one_of(st.integers(0, 12), st.sampled_from(["3", 2.0, 2.5]), _numberish)
        )
        data["k"] = draw(st.sampled_from([bar, None, [], "k"]))
        _put(data, "type", draw(st.sampled_from([_ABSENT, _ABSENT, "", "kline@1", None])))
    else:
        data["type"] = kind
    items = list(data.items())
    order = draw(st.permutations(items))  # iTick sends `type` last; any order is JSON
    frame: dict[str, Any] = {"code": draw(st.sampled_from([0, 1, None])), "data": dict(order)}
    return json.dumps(frame)


@settings(max_examples=1500)
@given(near_frames())
@example(json.dumps({"code": 1, "data": {"s": "BTCUSDT", "ld": "null", "type": "quote"}}))
@example(json.dumps({"code": 1, "data": {"s": "BTCUSDT", "ld": 1, "o": "null", "type": "quote"}}))
@example(json.dumps({"code": 1, "data": {"s": "X", "ld": 1, "v": 1, "t": "1e3", "type": "tick"}}))
# Fields a data frame does not use, of a type the tolerant decoder refuses (found in review).
@example('{"code":"1","data":{"type":"quote","s":"BTCUSDT","ld":1}}')
@example('{"code":true,"msg":5,"data":{"type":"quote","s":"BTCUSDT","ld":1}}')
@example('{"code":1,"resAc":1,"data":{"type":"tick","s":"X","ld":1,"v":1,"params":1.5}}')
@example('{"code":1,"data":{"type":"quote","s":"BTCUSDT","ld":1,"a":[{"x":1}]}}')
def test_the_fast_path_agrees_with_the_tolerant_decoder(text: str) -> None:
    assert decode_frame(text, RECEIVED) == decode_tolerant(text, RECEIVED)


@settings(max_examples=300)
@given(itick_like_frames())
def test_any_itick_shaped_frame_agrees(text: str) -> None:
    assert decode_frame(text, RECEIVED) == decode_tolerant(text, RECEIVED)


def _fast_only(text: str) -> Any:
    """`decode_frame`'s event, failing if it needed the tolerant decoder."""

    def slow(*args: Any) -> Any:
        raise AssertionError(f"not taken by the fast path: {text}")

    tolerant, _fast.decode_tolerant = _fast.decode_tolerant, slow  # type: ignore[assignment]
    try:
        return decode_frame(text, RECEIVED)
    finally:
        _fast.decode_tolerant = tolerant


@given(quotes(), ticks(), depths(), st.integers(1, 10))
def test_well_formed_frames_take_the_fast_path(
    quote: Quote, tick: Tick, depth: Depth, period: int
) -> None:
    frames = [
        render_quote(
            quote.symbol, quote.region, last=quote.last, ts=quote.ts, volume=quote.volume,
            turnover=quote.turnover, open_=quote.open, high=quote.high, low=quote.low,
            status=quote.status,
        ),
        render_tick(tick.symbol, tick.region, price=tick.price, size=tick.size, ts=tick.ts,
                    turnover=tick.turnover),
        render_kline(quote.symbol, quote.region, period=period, open_time=quote.ts,
                     open_=quote.last, high=quote.last, low=quote.last, close=quote.last,
                     volume=quote.volume, turnover=quote.turnover),
    ]  # fmt: skip
    if depth.bids and depth.asks:  # a side without levels is left to the tolerant decoder
        frames.append(render_depth(depth.symbol, depth.region, bids=depth.bids, asks=depth.asks))
    for text in frames:
        fast = _fast_only(text)
        assert isinstance(fast, Quote | Tick | Bar | Depth), text
        assert fast == decode_tolerant(text, RECEIVED)


def test_numeric_strings_take_the_fast_path() -> None:
    text = json.dumps(
        {"code": 1, "data": {"s": "BTCUSDT", "ld": "67000.5", "v": "0.25", "t": "1731660000000",
                             "type": "tick"}}
    )  # fmt: skip
    assert _fast_only(text) == Tick("BTCUSDT", 67000.5, 0.25, 1_731_660_000_000, None, "", RECEIVED)


def test_legacy_klines_take_the_fast_path() -> None:
    legacy = render_kline(
        "ETH_USDT", "", period=2, open_time=1_731_660_000_000, open_=1.0, high=2.0, low=0.5,
        close=1.5, volume=3.0, turnover=4.0, legacy=True,
    )  # fmt: skip
    assert _fast_only(legacy) == Bar(
        "ETHUSDT", "5m", 1_731_660_000_000, 1.0, 2.0, 0.5, 1.5, 3.0, 4.0, "", RECEIVED
    )
    period_as_text = legacy.replace('"t": 2,', '"t": "2",').replace('"t":2,', '"t":"2",')
    assert period_as_text != legacy
    assert decode_frame(period_as_text, RECEIVED) == _fast_only(legacy)
    # `type` present, even empty, makes it no legacy kline: as the tolerant decoder says.
    typed = json.loads(legacy)
    typed["data"]["type"] = ""
    event = decode_frame(json.dumps(typed), RECEIVED)
    assert isinstance(event, Malformed)
    assert event.reason == "unknown_type"


def test_replies_are_left_to_the_tolerant_decoder() -> None:
    for text in ('{"code":1,"msg":"ok","resAc":"auth"}', '{"resAc":"pong","data":{}}'):
        with pytest.raises(AssertionError, match="not taken by the fast path"):
            _fast_only(text)
        assert decode_frame(text, RECEIVED) == decode_tolerant(text, RECEIVED)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_malformed_not_an_exception(depth: int) -> None:
    text = '{"data":{"type":"quote","s":"X","ld":1,"x":' + "[" * depth + "]" * depth + "}}"
    event = decode_frame(text, RECEIVED)
    assert event == decode_tolerant(text, RECEIVED)
    assert isinstance(event, Malformed)


def test_levels_out_of_rank_order_are_sorted_by_rank() -> None:
    bids = [{"po": 2, "p": 99.0, "v": 2.0}, {"po": 1, "p": 100.0, "v": 1.0}]
    asks = [{"po": "1", "p": 101.0, "v": 3.0}, {"po": 2.0, "p": 102.0, "v": 4.0}]
    text = json.dumps({"code": 1, "data": {"s": "BTCUSDT", "a": asks, "b": bids, "type": "depth"}})
    event = decode_frame(text, RECEIVED)
    assert event == Depth(
        "BTCUSDT", ((100.0, 1.0), (99.0, 2.0)), ((101.0, 3.0), (102.0, 4.0)), 1_731_660_000_123,
        "", RECEIVED,
    )  # fmt: skip
    assert event == decode_tolerant(text, RECEIVED)
