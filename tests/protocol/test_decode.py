"""Frames to events: every documented sample, every tolerated variation, every malformed reason.

Whole events are compared, so every field of every sample is asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itick_bot.model import KLINE_PERIODS, Bar, Depth, Quote, Tick
from itick_bot.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    Authenticated,
    AuthFailed,
    Connected,
    Event,
    Malformed,
    Pong,
    ServerNotice,
    Subscribed,
    SubscribeRefused,
    decode_frame,
    render_depth,
    render_kline,
    render_quote,
    render_tick,
)
from itick_bot.protocol._events import MalformedReason

from ..strategies import (
    canonical_symbols,
    depths,
    itick_like_frames,
    kline_periods,
    prices,
    quotes,
    regions,
    sizes,
    ticks,
    timestamps_ms,
)

RECV = 1_731_690_099_000_123_456  # a receive time in ns, distinct from every frame's `t`
RECV_MS = RECV // 1_000_000


def decode(text: str | bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Event:
    return decode_frame(text, RECV, max_frame_bytes)


def frame(**data: Any) -> str:
    return json.dumps({"code": 1, "data": data})


# -- the documented samples --------------------------------------------------------------------

SAMPLES: dict[str, Event] = {
    "quote_eth": Quote("ETHUSDT", 3034.0, 0.6186, 1876.832564, 1731690011321, 0, received_ns=RECV),
    "quote_forex_with_region": Quote(
        "EURUSD",
        225.215,
        16742235.0,
        3774688301.452,
        1731689407000,
        0,
        "GB",
        226.27,
        226.92,
        224.44,
        RECV,
    ),
    "tick_forex": Tick("EURUSD", 225.215, 16742235.0, 1731689407000, None, "GB", RECV),
    "depth_eth": Depth(
        "ETHUSDT",
        (
            (3034.0, 20.9758),
            (3033.99, 1.8408),
            (3033.98, 0.003),
            (3033.97, 0.0065),
            (3033.94, 0.003),
        ),
        (
            (3034.01, 10.6023),
            (3034.03, 0.0017),
            (3034.18, 0.0017),
            (3034.26, 0.0018),
            (3034.27, 0.21),
        ),
        RECV_MS,  # depth frames carry no time: the receive time stands in
        "",
        RECV,
    ),
    "depth_symbol_with_region": Depth(
        "EURUSD", ((3034.0, 20.9758),), ((3034.01, 10.6023),), RECV_MS, "GB", RECV
    ),
    "kline_flat": Bar(
        "EURUSD",
        "1m",
        1731660060000,
        3055.36,
        3061.41,
        3055.24,
        3059.39,
        28.0,
        157513.0,
        "GB",
        RECV,
    ),
    "kline_nested_code0": Bar(
        "ETHUSDT",
        "1m",
        1731660060000,
        3055.36,
        3061.41,
        3055.24,
        3059.39,
        28.0,
        157513.0,
        "",
        RECV,
    ),
    "connected": Connected("Connected Successfully"),
    "auth_ok": Authenticated("authenticated"),
    "auth_failed": AuthFailed("auth failed"),
    "subscribe_ok": Subscribed("subscribe Successfully"),
    "subscribe_limit": SubscribeRefused("exceeding the maximum subscription limit"),
    "subscribe_bad": SubscribeRefused("cannot be resolved action"),
    "pong": Pong("1731688569840", None, RECV),
}


@pytest.mark.parametrize("stem", sorted(SAMPLES))
def test_each_sample_frame_decodes_to_its_event(itick_samples: dict[str, str], stem: str) -> None:
    assert decode(itick_samples[stem]) == SAMPLES[stem]


def test_every_server_sample_is_covered(itick_samples: dict[str, str]) -> None:
    client_requests = {"ping", "subscribe_request", "subscribe_request_current"}
    assert set(itick_samples) - client_requests == set(SAMPLES)


def test_the_auth_reply_does_not_keep_the_echoed_key(itick_samples: dict[str, str]) -> None:
    assert "a5ca43ba" not in repr(decode(itick_samples["auth_ok"]))


def test_decoded_numbers_are_floats(itick_samples: dict[str, str]) -> None:
    quote = decode(itick_samples["quote_eth"])  # "ld":3034 is a JSON integer
    assert isinstance(quote, Quote)
    assert type(quote.last) is float


# -- tolerance ---------------------------------------------------------------------------------


def test_numeric_strings_are_numbers() -> None:
    text = frame(
        s="BTCUSDT",
        ld="67000.5",
        v="1.5",
        tu="100",
        t="1731690011321",
        ts="1",
        o="1",
        h="2",
        l="0.5",
        type="quote",
    )
    assert decode(text) == Quote(
        "BTCUSDT", 67000.5, 1.5, 100.0, 1731690011321, 1, "", 1.0, 2.0, 0.5, RECV
    )


def test_numeric_strings_in_depth_levels_are_numbers() -> None:
    text = frame(s="BTCUSDT", a=[{"po": 1, "p": "2.5", "v": "3"}], b=[], type="depth")
    event = decode(text)
    assert isinstance(event, Depth)
    assert event.asks == ((2.5, 3.0),)


def test_numeric_strings_in_a_legacy_kline_are_numbers() -> None:
    text = json.dumps(
        {
            "code": 0,
            "msg": None,
            "data": {
                "s": "ETH_USDT",
                "t": 2,
                "k": {"t": "1731660000000", "o": "1", "h": "2", "l": "0.5", "c": "1.5"},
            },
        }
    )
    assert decode(text) == Bar(
        "ETHUSDT", "5m", 1731660000000, 1.0, 2.0, 0.5, 1.5, 0.0, 0.0, "", RECV
    )


def test_unknown_fields_are_ignored() -> None:
    text = json.dumps(
        {
            "code": 1,
            "extra": [1, {"x": None}],
            "data": {
                "s": "BTCUSDT",
                "ld": 1,
                "v": 2,
                "tu": 2,
                "t": 5,
                "type": "tick",
                "side": "buy",
            },
        }
    )
    assert decode(text) == Tick("BTCUSDT", 1.0, 2.0, 5, 2.0, "", RECV)


def test_code_zero_with_kline_data_is_data(itick_samples: dict[str, str]) -> None:
    assert isinstance(decode(itick_samples["kline_nested_code0"]), Bar)


def test_code_zero_with_flat_data_is_data() -> None:
    text = json.dumps(
        {"code": 0, "data": {"s": "BTCUSDT", "ld": 1, "v": 1, "t": 5, "type": "tick"}}
    )
    assert isinstance(decode(text), Tick)


def test_a_quote_without_volume_or_status_gets_zeros() -> None:
    assert decode(frame(s="BTCUSDT", ld=1, t=5, type="quote")) == Quote(
        "BTCUSDT", 1.0, 0.0, 0.0, 5, 0, received_ns=RECV
    )


def test_a_quote_without_time_is_stamped_with_the_receive_time() -> None:
    event = decode(frame(s="BTCUSDT", ld=1, type="quote"))
    assert isinstance(event, Quote)
    assert event.ts == RECV_MS


def test_a_depth_with_its_own_time_keeps_it() -> None:
    event = decode(frame(s="BTCUSDT", a=[], b=[], t=1731690011321, type="depth"))
    assert isinstance(event, Depth)
    assert event.ts == 1731690011321


def test_the_region_field_wins_over_the_symbol_suffix() -> None:
    event = decode(frame(s="BTCUSDT$BA", r="bt", ld=1, v=1, t=5, type="tick"))
    assert isinstance(event, Tick)
    assert (event.symbol, event.region) == ("BTCUSDT", "BT")


@pytest.mark.parametrize(
    ("spelling", "symbol", "region"),
    [
        ("ETH_USDT", "ETHUSDT", ""),
        ("BTCUSDT", "BTCUSDT", ""),
        ("btcusdt", "BTCUSDT", ""),
        ("BTCUSDT$BA", "BTCUSDT", "BA"),
        ("BA_BTC_USDT", "BTCUSDT", "BA"),
        ("EURUSD", "EURUSD", ""),
    ],
)
def test_every_symbol_spelling_reaches_the_canonical_symbol(
    spelling: str, symbol: str, region: str
) -> None:
    event = decode(frame(s=spelling, ld=1, t=5, type="quote"))
    assert isinstance(event, Quote)
    assert (event.symbol, event.region) == (symbol, region)


def test_depth_levels_out_of_po_order_come_out_best_first() -> None:
    text = frame(
        s="BTCUSDT",
        a=[{"po": 3, "p": 103, "v": 3}, {"po": 1, "p": 101, "v": 1}, {"po": 2, "p": 102, "v": 2}],
        b=[{"po": 2, "p": 99, "v": 2}, {"po": 1, "p": 100, "v": 1}],
        type="depth",
    )
    event = decode(text)
    assert isinstance(event, Depth)
    assert event.asks == ((101.0, 1.0), (102.0, 2.0), (103.0, 3.0))
    assert event.bids == ((100.0, 1.0), (99.0, 2.0))


def test_depth_levels_without_po_keep_the_order_they_came_in() -> None:
    text = frame(s="BTCUSDT", a=[{"p": 101, "v": 1}, {"p": 102, "v": 2}], b=[], type="depth")
    event = decode(text)
    assert isinstance(event, Depth)
    assert event.asks == ((101.0, 1.0), (102.0, 2.0))


@pytest.mark.parametrize("period", range(1, 11))
def test_every_kline_period_decodes_to_its_interval(period: int) -> None:
    text = frame(s="BTCUSDT", t=0, o=1, h=1, l=1, c=1, type=f"kline@{period}")
    event = decode(text)
    assert isinstance(event, Bar)
    assert event.interval == KLINE_PERIODS[period]


def test_a_pong_with_a_numeric_param_keeps_it_as_text() -> None:
    assert decode('{"resAc":"pong","data":{"params":1731688569840}}') == Pong(
        "1731688569840", None, RECV
    )


def test_an_auth_reply_without_a_message_still_fails() -> None:
    assert decode('{"code":0,"resAc":"auth"}') == AuthFailed("auth failed")


def test_an_unasked_reply_is_a_server_notice() -> None:
    assert decode('{"code":0,"resAc":"unsubscribe","msg":"no action"}') == ServerNotice(
        0, "unsubscribe", "no action"
    )


# -- malformed, by reason ----------------------------------------------------------------------

MALFORMED: dict[str, tuple[str | bytes, MalformedReason]] = {
    "not json": ("{not json", "invalid_json"),
    "empty text": ("", "invalid_json"),
    "lone surrogate": ('{"code":1,"msg":"\ud800"}', "invalid_json"),
    "binary frame": (b'{"code":1,"msg":"Connected Successfully"}', "binary_frame"),
    "json array": ("[1, 2]", "wrong_shape"),
    "json number": ("42", "wrong_shape"),
    "data is a list": ('{"code":1,"data":[]}', "wrong_shape"),
    "code is text": ('{"code":"1","msg":"x"}', "wrong_shape"),
    "levels not a list": (frame(s="X", a="x", b=[], type="depth"), "wrong_shape"),
    "level without price": (frame(s="X", a=[{"v": 1}], b=[], type="depth"), "wrong_shape"),
    "bool price": (frame(s="X", ld=True, t=1, type="quote"), "wrong_shape"),
    "legacy period not an integer": (
        json.dumps(
            {"code": 0, "data": {"s": "X", "t": 1.5, "k": {"t": 1, "o": 1, "h": 1, "l": 1, "c": 1}}}
        ),
        "wrong_shape",
    ),
    "quote without symbol": (frame(ld=1, t=1, type="quote"), "missing_field"),
    "quote with empty symbol": (frame(s="", ld=1, t=1, type="quote"), "missing_field"),
    "quote without price": (frame(s="X", t=1, type="quote"), "missing_field"),
    "tick without size": (frame(s="X", ld=1, t=1, type="tick"), "missing_field"),
    "depth without asks": (frame(s="X", b=[], type="depth"), "missing_field"),
    "kline without close": (frame(s="X", t=1, o=1, h=1, l=1, type="kline@1"), "missing_field"),
    "kline without time": (frame(s="X", o=1, h=1, l=1, c=1, type="kline@1"), "missing_field"),
    "nan string": (frame(s="X", ld="nan", t=1, type="quote"), "bad_number"),
    "inf string": (frame(s="X", ld="inf", t=1, type="quote"), "bad_number"),
    "-Infinity string": (frame(s="X", ld=1, v="-Infinity", t=1, type="tick"), "bad_number"),
    "1e400 literal": ('{"code":1,"data":{"s":"X","ld":1e400,"t":1,"type":"quote"}}', "bad_number"),
    "1e400 string": (frame(s="X", ld="1e400", t=1, type="quote"), "bad_number"),
    "word for a price": (frame(s="X", ld="abc", t=1, type="quote"), "bad_number"),
    "word for a time": (frame(s="X", ld=1, t="soon", type="quote"), "bad_number"),
    "nan level price": (frame(s="X", a=[{"p": "NaN", "v": 1}], b=[], type="depth"), "bad_number"),
    "unknown data type": (frame(s="X", type="trade"), "unknown_type"),
    "kline@11": (frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@11"), "unknown_type"),
    "kline@0": (frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@0"), "unknown_type"),
    "kline@ without period": (frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@"), "unknown_type"),
    "kline@ with underscores": (
        frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@1_0"),
        "unknown_type",
    ),
    "kline@ with a space": (frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@ 1"), "unknown_type"),
    "kline@ with arabic digit": (
        frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@\u0661"),
        "unknown_type",
    ),
    "legacy kline period 11": (
        json.dumps(
            {"code": 0, "data": {"s": "X", "t": 11, "k": {"t": 1, "o": 1, "h": 1, "l": 1, "c": 1}}}
        ),
        "unknown_type",
    ),
    "empty object": ("{}", "unknown_reply"),
    "code alone": ('{"code":1}', "unknown_reply"),
    "code 0 with null msg": ('{"code":0,"msg":null}', "unknown_reply"),
    "a client command": ('{"ac":"ping","params":"1"}', "unknown_reply"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_an_unusable_frame_is_malformed_with_its_reason(case: str) -> None:
    text, reason = MALFORMED[case]
    event = decode(text)
    assert isinstance(event, Malformed)
    assert event.reason == reason
    assert event.detail
    assert event.received_ns == RECV


def test_an_oversize_frame_is_malformed_before_it_is_parsed() -> None:
    text = frame(s="BTCUSDT", ld=1, t=1, type="quote")
    event = decode(text, max_frame_bytes=len(text) - 1)
    assert isinstance(event, Malformed)
    assert event.reason == "oversize"


def test_a_frame_at_the_size_limit_is_decoded() -> None:
    text = frame(s="BTCUSDT", ld=1, t=1, type="quote")
    assert isinstance(decode(text, max_frame_bytes=len(text)), Quote)


def test_a_malformed_data_frame_names_its_kind() -> None:
    event = decode(frame(s="X", t=1, o=1, h=1, l=1, c=1, type="kline@11"))
    assert isinstance(event, Malformed)
    assert event.kind == "kline@11"


def test_a_malformed_legacy_kline_is_named_kline() -> None:
    event = decode(json.dumps({"code": 0, "data": {"s": "X", "t": 1, "k": {"o": 1}}}))
    assert isinstance(event, Malformed)
    assert event.kind == "kline"


def test_a_malformed_detail_names_the_field() -> None:
    event = decode(frame(s="X", ld="abc", t=1, type="quote"))
    assert isinstance(event, Malformed)
    assert "'ld'" in event.detail


def test_a_malformed_detail_is_bounded() -> None:
    event = decode(frame(s="X", ld="9" * 5000 + "x", t=1, type="quote"))
    assert isinstance(event, Malformed)
    assert len(event.detail) < 200


# -- never an exception ------------------------------------------------------------------------

EVENT_TYPES = (
    Quote,
    Tick,
    Depth,
    Bar,
    Connected,
    Authenticated,
    AuthFailed,
    Subscribed,
    SubscribeRefused,
    Pong,
    ServerNotice,
    Malformed,
)


@settings(max_examples=300)
@given(st.text())
def test_any_text_yields_an_event(text: str) -> None:
    assert isinstance(decode(text), EVENT_TYPES)


@settings(max_examples=100)
@given(st.binary())
def test_any_bytes_yield_a_binary_frame_malformed(data: bytes) -> None:
    event = decode(data)
    assert isinstance(event, Malformed)
    assert event.reason == "binary_frame"


@settings(max_examples=300)
@given(itick_like_frames())
def test_any_itick_shaped_json_yields_an_event(text: str) -> None:
    assert isinstance(decode(text), EVENT_TYPES)


# -- round trip through the server role --------------------------------------------------------


@given(quotes())
def test_a_rendered_quote_decodes_to_the_same_quote(quote: Quote) -> None:
    text = render_quote(
        quote.symbol,
        quote.region,
        last=quote.last,
        ts=quote.ts,
        volume=quote.volume,
        turnover=quote.turnover,
        open_=quote.open,
        high=quote.high,
        low=quote.low,
        status=quote.status,
    )
    assert decode(text) == Quote(
        quote.symbol,
        quote.last,
        quote.volume,
        quote.turnover,
        quote.ts,
        quote.status,
        quote.region,
        quote.open,
        quote.high,
        quote.low,
        RECV,
    )


@given(ticks())
def test_a_rendered_tick_decodes_to_the_same_tick(tick: Tick) -> None:
    text = render_tick(
        tick.symbol,
        tick.region,
        price=tick.price,
        size=tick.size,
        ts=tick.ts,
        turnover=tick.turnover,
    )
    assert decode(text) == Tick(
        tick.symbol, tick.price, tick.size, tick.ts, tick.turnover, tick.region, RECV
    )


@given(depths(), canonical_symbols, regions)
def test_a_rendered_depth_decodes_to_the_same_levels(
    depth: Depth, symbol: str, region: str
) -> None:
    text = render_depth(symbol, region, bids=depth.bids, asks=depth.asks)
    assert decode(text) == Depth(symbol, depth.bids, depth.asks, RECV_MS, region, RECV)


@given(
    canonical_symbols,
    regions,
    kline_periods,
    timestamps_ms,
    st.lists(prices, min_size=4, max_size=4),
    sizes,
    sizes,
    st.booleans(),
)
def test_a_rendered_kline_decodes_to_the_same_bar(
    symbol: str,
    region: str,
    period: int,
    open_time: int,
    ohlc: list[float],
    volume: float,
    turnover: float,
    legacy: bool,
) -> None:
    o, h, low, c = ohlc
    text = render_kline(
        symbol,
        region,
        period=period,
        open_time=open_time,
        open_=o,
        high=h,
        low=low,
        close=c,
        volume=volume,
        turnover=turnover,
        legacy=legacy,
    )
    # The legacy form has no region field.
    expected_region = "" if legacy else region
    assert decode(text) == Bar(
        symbol,
        KLINE_PERIODS[period],
        open_time,
        o,
        h,
        low,
        c,
        volume,
        turnover,
        expected_region,
        RECV,
    )
