"""The server role (used by the simulator): client commands in, iTick's frames out."""

from __future__ import annotations

import json

import pytest

from itick_bot.model import Bar, Depth, Quote, Tick
from itick_bot.protocol import (
    Authenticated,
    AuthRequest,
    BadCommand,
    PingRequest,
    Pong,
    ServerNotice,
    SubscribeRefused,
    SubscribeRequest,
    UnsubscribeRequest,
    decode_frame,
    parse_command,
    render_auth_failed,
    render_auth_ok,
    render_connected,
    render_depth,
    render_kline,
    render_notice,
    render_pong,
    render_quote,
    render_subscribe_ok,
    render_subscribe_refused,
    render_tick,
)

RECV = 1_731_690_099_000_000_000
KEY = "a5ca43ba0123456789abcdef1847ac9259ae290c8"


# -- parse_command -----------------------------------------------------------------------------


def test_a_current_subscribe_gives_symbols_with_regions(itick_samples: dict[str, str]) -> None:
    assert parse_command(itick_samples["subscribe_request_current"]) == SubscribeRequest(
        (("BTCUSDT", "BA"), ("ETHUSDT", "BA")), ("quote", "depth", "tick", "kline@1")
    )


def test_a_bare_subscribe_gives_symbols_without_region(itick_samples: dict[str, str]) -> None:
    assert parse_command(itick_samples["subscribe_request"]) == SubscribeRequest(
        (("BTCUSDT", ""), ("ETHUSDT", "")), ("quote",)
    )


def test_a_lowercase_subscribe_is_canonicalized() -> None:
    text = '{"ac":"subscribe","params":"btcusdt$ba, eth_usdt","types":"Quote, DEPTH"}'
    assert parse_command(text) == SubscribeRequest(
        (("BTCUSDT", "BA"), ("ETHUSDT", "")), ("quote", "depth")
    )


def test_a_command_may_arrive_as_bytes() -> None:
    assert parse_command(b'{"ac":"ping","params":"1"}') == PingRequest("1")


def test_a_ping_gives_its_params(itick_samples: dict[str, str]) -> None:
    assert parse_command(itick_samples["ping"]) == PingRequest("1731688569840")


def test_a_ping_with_a_numeric_param_keeps_it_as_text() -> None:
    assert parse_command('{"ac":"ping","params":1731688569840}') == PingRequest("1731688569840")


def test_the_legacy_auth_message_gives_the_key() -> None:
    assert parse_command(json.dumps({"ac": "auth", "params": KEY})) == AuthRequest(KEY)


def test_an_auth_request_repr_hides_the_key() -> None:
    assert KEY not in repr(AuthRequest(KEY))
    assert KEY not in str(parse_command(json.dumps({"ac": "auth", "params": KEY})))


def test_an_unsubscribe_is_recognized() -> None:
    text = '{"ac":"unsubscribe","params":"BTCUSDT$BA","types":"quote"}'
    assert parse_command(text) == UnsubscribeRequest((("BTCUSDT", "BA"),), ("quote",))


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '"subscribe"',
        "{}",
        '{"ac":"dance"}',
        '{"ac":"subscribe","params":"","types":"quote"}',
        '{"ac":"subscribe","params":"BTCUSDT"}',
        '{"ac":"subscribe","params":" , ","types":"quote"}',
        '{"ac":"unsubscribe","types":"quote"}',
        '{"ac":"subscribe","params":["BTCUSDT"],"types":"quote"}',
        '{"ac":"\ud800"}',
        b"\xff\xfe",
    ],
)
def test_a_command_the_server_cannot_act_on_is_a_bad_command(text: str | bytes) -> None:
    command = parse_command(text)
    assert isinstance(command, BadCommand)
    assert command.detail


def test_a_bad_command_names_the_unknown_action() -> None:
    command = parse_command('{"ac":"dance"}')
    assert isinstance(command, BadCommand)
    assert "dance" in command.detail


# -- render_* equal the documented frames ------------------------------------------------------


def test_render_connected_is_the_documented_greeting(itick_samples: dict[str, str]) -> None:
    assert render_connected() == itick_samples["connected"]


def test_render_auth_failed_is_the_documented_refusal(itick_samples: dict[str, str]) -> None:
    assert render_auth_failed() == itick_samples["auth_failed"]


def test_render_subscribe_ok_is_the_documented_reply(itick_samples: dict[str, str]) -> None:
    assert render_subscribe_ok() == itick_samples["subscribe_ok"]


@pytest.mark.parametrize("stem", ["subscribe_limit", "subscribe_bad"])
def test_render_subscribe_refused_is_the_documented_refusal(
    itick_samples: dict[str, str], stem: str
) -> None:
    msg = json.loads(itick_samples[stem])["msg"]
    assert render_subscribe_refused(msg) == itick_samples[stem]


def test_render_pong_is_the_documented_pong(itick_samples: dict[str, str]) -> None:
    assert render_pong("1731688569840") == itick_samples["pong"]


def test_render_auth_ok_is_the_newer_reply_without_the_key_echo(
    itick_samples: dict[str, str],
) -> None:
    documented = json.loads(itick_samples["auth_ok"])
    del documented["data"]  # the older documents' echo of the key; the simulator never echoes
    assert json.loads(render_auth_ok()) == documented


def test_render_auth_ok_decodes_as_authenticated() -> None:
    assert decode_frame(render_auth_ok(), RECV) == Authenticated("authenticated")


def test_render_quote_is_the_documented_quote_byte_for_byte(itick_samples: dict[str, str]) -> None:
    text = render_quote(
        "ETH_USDT", "", last=3034, ts=1731690011321, volume=0.6186, turnover=1876.832564
    )
    assert text == itick_samples["quote_eth"]


def test_render_quote_with_range_and_region_is_the_documented_forex_quote(
    itick_samples: dict[str, str],
) -> None:
    text = render_quote(
        "EURUSD",
        "GB",
        last=225.215,
        ts=1731689407000,
        volume=16742235,
        turnover=3774688301.452,
        open_=226.27,
        high=226.92,
        low=224.44,
    )
    documented = json.loads(itick_samples["quote_forex_with_region"])
    documented["data"]["ts"] = 0  # the forex sample has no status; the renderer always sends it
    assert json.loads(text) == documented


def test_render_tick_is_the_documented_tick(itick_samples: dict[str, str]) -> None:
    text = render_tick("EURUSD", "GB", price=225.215, size=16742235, ts=1731689407000)
    assert json.loads(text) == json.loads(itick_samples["tick_forex"])


def test_render_depth_is_the_documented_depth(itick_samples: dict[str, str]) -> None:
    documented = json.loads(itick_samples["depth_eth"])
    bids = [(lv["p"], lv["v"]) for lv in documented["data"]["b"]]
    asks = [(lv["p"], lv["v"]) for lv in documented["data"]["a"]]
    assert json.loads(render_depth("ETH_USDT", "", bids=bids, asks=asks)) == documented


def test_render_depth_with_region_is_the_documented_depth(itick_samples: dict[str, str]) -> None:
    documented = json.loads(itick_samples["depth_symbol_with_region"])
    text = render_depth("EURUSD$GB", "GB", bids=[(3034, 20.9758)], asks=[(3034.01, 10.6023)])
    assert json.loads(text) == documented


BAR = {
    "open_time": 1731660060000,
    "open_": 3055.36,
    "high": 3061.41,
    "low": 3055.24,
    "close": 3059.39,
    "volume": 28,
    "turnover": 157513,
}


def test_render_kline_is_the_documented_flat_kline(itick_samples: dict[str, str]) -> None:
    text = render_kline("EURUSD", "GB", period=1, **BAR)  # type: ignore[arg-type]
    assert json.loads(text) == json.loads(itick_samples["kline_flat"])


def test_render_kline_legacy_is_the_documented_nested_kline(itick_samples: dict[str, str]) -> None:
    text = render_kline("ETH_USDT", "", period=1, legacy=True, **BAR)  # type: ignore[arg-type]
    assert json.loads(text) == json.loads(itick_samples["kline_nested_code0"])


def test_render_kline_legacy_decodes_like_the_documented_nested_kline(
    itick_samples: dict[str, str],
) -> None:
    text = render_kline("ETH_USDT", "", period=1, legacy=True, **BAR)  # type: ignore[arg-type]
    expected = decode_frame(itick_samples["kline_nested_code0"], RECV)
    assert isinstance(expected, Bar)
    assert decode_frame(text, RECV) == expected


def test_render_notice_decodes_as_a_server_notice() -> None:
    text = render_notice("unsubscribe", "no action")
    assert decode_frame(text, RECV) == ServerNotice(0, "unsubscribe", "no action")


def test_render_subscribe_refused_keeps_any_message() -> None:
    text = render_subscribe_refused('quote "x", limit 5')
    assert decode_frame(text, RECV) == SubscribeRefused('quote "x", limit 5')


def test_rendered_data_frames_decode_to_their_kinds() -> None:
    frames = [
        render_quote("BTCUSDT", "BA", last=1, ts=1, volume=1, turnover=1),
        render_tick("BTCUSDT", "BA", price=1, size=1, ts=1),
        render_depth("BTCUSDT", "BA", bids=[(1.0, 1.0)], asks=[(2.0, 1.0)]),
        render_kline("BTCUSDT", "BA", period=2, **BAR),  # type: ignore[arg-type]
        render_pong("7"),
    ]
    kinds = [type(decode_frame(text, RECV)) for text in frames]
    assert kinds == [Quote, Tick, Depth, Bar, Pong]
