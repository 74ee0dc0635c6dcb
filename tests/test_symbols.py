"""Every spelling of an instrument reaches one canonical symbol (PROTOCOL.md section 6)."""

from __future__ import annotations

import pytest
from hypothesis import given

from itick_bot.symbols import canonical, split_symbol, wire_symbol

from .strategies import canonical_symbols, regions

SPELLINGS = [
    ("ETH_USDT", ("ETHUSDT", "")),
    ("BTCUSDT", ("BTCUSDT", "")),
    ("btcusdt", ("BTCUSDT", "")),
    ("BTCUSDT$BA", ("BTCUSDT", "BA")),
    ("btcusdt$ba", ("BTCUSDT", "BA")),
    ("BA_BTC_USDT", ("BTCUSDT", "BA")),
    ("EURUSD", ("EURUSD", "")),
    ("EURUSD$GB", ("EURUSD", "GB")),
    (" ethusdt ", ("ETHUSDT", "")),
    ("BTC-USDT", ("BTCUSDT", "")),
    ("BTC/USDT", ("BTCUSDT", "")),
]


@pytest.mark.parametrize(("raw", "expected"), SPELLINGS)
def test_split_symbol_gives_canonical_symbol_and_region(
    raw: str, expected: tuple[str, str]
) -> None:
    assert split_symbol(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), SPELLINGS)
def test_canonical_drops_the_region(raw: str, expected: tuple[str, str]) -> None:
    assert canonical(raw) == expected[0]


def test_an_unknown_prefix_is_part_of_the_symbol() -> None:
    # "ETH" is no region, so "ETH_BTC_USDT" is one (odd) symbol, not BTCUSDT in region ETH.
    assert split_symbol("ETH_BTC_USDT") == ("ETHBTCUSDT", "")


def test_a_region_code_alone_before_one_part_is_not_a_region() -> None:
    # "US_DOLLAR": a region prefix needs a separated symbol after it.
    assert split_symbol("US_DOLLAR") == ("USDOLLAR", "")


def test_split_symbol_answers_the_same_when_asked_twice() -> None:
    assert split_symbol("BA_ETH_USDT") == split_symbol("BA_ETH_USDT") == ("ETHUSDT", "BA")


def test_wire_symbol_appends_the_region() -> None:
    assert wire_symbol("BTCUSDT", "BA") == "BTCUSDT$BA"


def test_wire_symbol_is_bare_without_a_region() -> None:
    assert wire_symbol("BTCUSDT", "") == "BTCUSDT"


def test_wire_symbol_canonicalizes_symbol_and_region() -> None:
    assert wire_symbol("eth_usdt", "ba") == "ETHUSDT$BA"


@given(canonical_symbols, regions)
def test_wire_symbol_splits_back_to_what_it_was_given(symbol: str, region: str) -> None:
    assert split_symbol(wire_symbol(symbol, region)) == (symbol, region)


@given(canonical_symbols)
def test_canonical_symbols_are_fixed_points(symbol: str) -> None:
    assert canonical(symbol) == symbol
    assert canonical(symbol.lower()) == symbol
