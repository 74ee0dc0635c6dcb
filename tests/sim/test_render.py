"""Frames rendered from the market decode with the project's decoder; malformed frames decode
to exactly the malformation they stand for; spellings canonicalize."""

from __future__ import annotations

import pytest

from itick_bot.model import Bar, Depth, Quote, Tick
from itick_bot.protocol import Malformed, decode_frame
from itick_bot.sim import MALFORMED_KINDS, SymbolMarket
from itick_bot.sim._render import FrameRenderer, malformed_frame, parse_types, spell
from itick_bot.symbols import split_symbol

START = 1_731_660_000_000


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_malformed_frame_decodes_to_its_reason(kind: str) -> None:
    event = decode_frame(malformed_frame(kind, "BTCUSDT", START), 0)  # type: ignore[arg-type]
    assert isinstance(event, Malformed)
    assert event.reason == kind


@pytest.mark.parametrize("style", ["canonical", "underscore", "lower", "prefix"])
@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "EURUSD", "DOGEUSDT"])
def test_every_spelling_canonicalizes_back(style: str, symbol: str) -> None:
    assert split_symbol(spell(symbol, "BA", style))[0] == symbol


def test_underscore_spelling_looks_like_itick() -> None:
    assert spell("ETHUSDT", "", "underscore") == "ETH_USDT"
    assert spell("BTCUSDT", "BA", "prefix") == "BA_BTC_USDT"


@pytest.mark.parametrize("legacy", [False, True])
def test_rendered_frames_decode_to_the_right_kinds(legacy: bool) -> None:
    market = SymbolMarket("BTCUSDT", 1, START)
    renderer = FrameRenderer(
        "BTCUSDT", "BA", echo_region=True,
        kline_format="legacy" if legacy else "flat", symbol_style="canonical",
    )  # fmt: skip
    types = frozenset({"quote", "depth", "tick", "kline@1", "kline@8"})
    kinds: dict[str, set[type]] = {}
    for i in range(50):
        for kind, frame in renderer.render(market.step(START + i * 500), types):
            kinds.setdefault(kind, set()).add(type(decode_frame(frame, 0)))
    assert kinds == {
        "tick": {Tick}, "depth": {Depth}, "quote": {Quote}, "kline@1": {Bar}, "kline@8": {Bar}
    }  # fmt: skip


def test_parse_types_accepts_itick_types_and_refuses_others() -> None:
    assert parse_types(["quote", "Depth", "kline@10"]) == frozenset({"quote", "depth", "kline@10"})
    assert parse_types(["kline@11"]) is None
    assert parse_types(["orderbook"]) is None
    assert parse_types([]) is None
