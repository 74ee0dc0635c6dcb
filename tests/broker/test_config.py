"""`[broker]`: defaults, exact numbers, and errors that name the key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from itick_bot.broker import BrokerConfig, SymbolRules, to_decimal
from itick_bot.errors import ConfigError


def test_floats_become_the_decimals_they_print_as() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(1e-05) == Decimal("0.00001")
    assert to_decimal("65000.01") == Decimal("65000.01")


@pytest.mark.parametrize("bad", ["abc", float("inf"), True, None])
def test_to_decimal_refuses_what_is_not_a_finite_number(bad: object) -> None:
    with pytest.raises(ValueError, match="qty must be"):
        to_decimal(bad, "qty")


def test_defaults_match_the_design() -> None:
    config = BrokerConfig()

    assert config.balances == {"USDT": 10_000, "BTC": Decimal("0.1"), "ETH": 1}
    assert (config.taker_fee_bps, config.maker_fee_bps, config.latency_ms) == (10, 8, 50)
    assert (config.ledger, config.overflow) == ("paper.sqlite", "partial")
    assert config.rules("BTCUSDT") == SymbolRules(
        tick_size="0.01", step_size="0.00001", min_qty="0.00001"
    )
    assert config.rules("SOLUSDT").step_size == Decimal("0.00000001")


@pytest.mark.parametrize(
    ("symbol", "split"),
    [
        ("BTCUSDT", ("BTC", "USDT")),
        ("ETHBTC", ("ETH", "BTC")),
        ("EURUSD", ("EUR", "USD")),
        ("BTCFDUSD", ("BTC", "FDUSD")),
        ("AAPL", None),
        ("USDT", None),
    ],
)
def test_symbols_split_on_the_longest_known_quote_asset(
    symbol: str, split: tuple[str, str] | None
) -> None:
    assert BrokerConfig().split(symbol) == split


def test_the_asset_table_splits_what_suffixes_cannot() -> None:
    config = BrokerConfig.from_mapping({"assets": {"AAPL": ["AAPL", "USD"]}})

    assert config.split("AAPL") == ("AAPL", "USD")


def test_from_mapping_reads_a_toml_table() -> None:
    config = BrokerConfig.from_mapping(
        {
            "balances": {"usdt": 500.5},
            "taker_fee_bps": 7.5,
            "latency_ms": 20,
            "overflow": "slippage",
            "slippage_bps": 25,
            "symbols": {"BTCUSDT": {"step_size": 0.001}, "SOLUSDT": {"tick_size": "0.001"}},
        }
    )

    assert config.balances == {"USDT": Decimal("500.5")}
    assert config.taker_fee_bps == Decimal("7.5")
    assert config.rules("BTCUSDT").step_size == Decimal("0.001")
    assert config.rules("BTCUSDT").tick_size == Decimal("0.01")  # the rest keeps its default
    assert config.rules("SOLUSDT").tick_size == Decimal("0.001")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"fees": 1}, "unknown key 'broker.fees'"),
        ({"overflow": "fill"}, "overflow must be one of 'reject', 'partial', 'slippage'"),
        ({"latency_ms": "fast"}, "latency_ms must be a number of milliseconds"),
        ({"latency_ms": -1}, "latency_ms must not be negative"),
        ({"balances": {"USDT": -5}}, "balances.USDT must not be negative"),
        ({"balances": 5}, "'broker.balances' must be a table"),
        ({"taker_fee_bps": 20000}, "taker_fee_bps must be between -10000 and 10000"),
        ({"symbols": {"BTCUSDT": {"tick": 1}}}, "symbols.BTCUSDT has unknown key 'tick'"),
        ({"symbols": {"BTCUSDT": {"tick_size": 0}}}, "tick_size must be greater than 0"),
        ({"assets": {"AAPL": "AAPL/USD"}}, "assets.AAPL must be a pair of asset names"),
        ({"ledger": 5}, "'broker.ledger' must be a string"),
        ({"ledger_sync": "off"}, "ledger_sync must be one of 'full', 'normal'"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key_and_file(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^bot\.toml: ") as info:
        BrokerConfig.from_mapping(table, source="bot.toml")

    assert message in str(info.value)
