"""Every reason an order is rejected, and that the reason says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from itick_bot.model import Order

from .conftest import Market, statuses

BIDS = [(64999.0, 0.5)]
ASKS = [(65000.0, 0.5)]


def rejected_at_once(order: Order) -> str:
    assert order.status == "rejected"
    return order.reason


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 1.0, "price": 65000.0},
            "insufficient balance: the order needs 65065 USDT, 10000 USDT is free",
        ),
        (
            {"symbol": "BTCUSDT", "side": "sell", "qty": 0.2},
            "insufficient balance: the order needs 0.2 BTC, 0.1 BTC is free",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.000001, "price": 65000.0},
            "qty 1e-06 is not a multiple of BTCUSDT's step 0.00001; round it to the step",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.000015, "price": 65000.0},
            "qty 1.5e-05 is not a multiple of BTCUSDT's step 0.00001; round it to the step",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.01, "price": 65000.005},
            "price 65000.005 is not a multiple of BTCUSDT's tick 0.01; round it to the tick",
        ),
        (
            {"symbol": "FOO", "side": "buy", "qty": 1, "price": 1},
            "unknown symbol 'FOO': its base and quote assets are unknown; add it to [broker] "
            'assets, e.g. FOO = ["BASE", "QUOTE"]',
        ),
        (
            {"symbol": "BTCUSDT", "side": "long", "qty": 0.01},
            "side must be 'buy' or 'sell', not 'long'",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.01, "tif": "GTD"},
            "tif must be 'GTC', 'IOC' or 'FOK', not 'GTD'",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.01, "post_only": True},
            "a post-only order needs a limit price",
        ),
        (
            {
                "symbol": "BTCUSDT",
                "side": "buy",
                "qty": 0.01,
                "price": 6e4,
                "post_only": True,
                "tif": "IOC",
            },
            "a post-only order rests on the book: use tif='GTC', not 'IOC'",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": "lots"},
            "qty must be a number, not 'lots'",
        ),
        ({"symbol": "BTCUSDT", "side": "buy", "qty": 0}, "qty must be greater than 0, not 0"),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.01, "price": -5.0},
            "price must be greater than 0, not -5.0",
        ),
        (
            {"symbol": "BTCUSDT", "side": "buy", "qty": 0.01, "price": float("nan")},
            "price must be a finite number, not nan",
        ),
    ],
    ids=[
        "insufficient-quote",
        "insufficient-base",
        "below-step",
        "off-step",
        "off-tick",
        "unknown-symbol",
        "bad-side",
        "bad-tif",
        "post-only-market",
        "post-only-ioc",
        "qty-not-a-number",
        "qty-zero",
        "price-negative",
        "price-nan",
    ],
)
def test_invalid_orders_are_rejected_before_they_leave(
    market: Market, kwargs: dict[str, object], reason: str
) -> None:
    market.depth(BIDS, ASKS)
    symbol, side, qty = kwargs.pop("symbol"), kwargs.pop("side"), kwargs.pop("qty")
    order = market.broker.submit(str(symbol), str(side), qty, **kwargs)  # type: ignore[arg-type]

    assert rejected_at_once(order) == reason
    assert market.broker.balance("USDT").reserved == 0.0
    assert market.broker.open_orders() == []


def test_below_minimum_size_is_rejected(tmp_path: Path) -> None:
    m = Market(tmp_path / "l.sqlite", symbols={"BTCUSDT": {"min_qty": "0.0001"}})
    order = m.broker.buy("BTCUSDT", "0.00005", 65000)

    assert rejected_at_once(order) == "qty 0.00005 is below BTCUSDT's minimum size 0.0001"
    m.broker.close()


def test_float_noise_is_snapped_to_the_step_not_rejected(market: Market) -> None:
    order = market.broker.buy("BTCUSDT", 0.1 + 0.2 - 0.299, 65000.0)  # 0.0010000000000000009

    assert (order.status, order.qty) == ("submitted", 0.001)


def test_decimal_and_str_quantities_are_taken_exactly(market: Market) -> None:
    from decimal import Decimal

    assert market.broker.buy("BTCUSDT", Decimal("0.00123"), "65000.01").qty == 0.00123


def test_an_order_arriving_before_any_book_is_rejected(market: Market) -> None:
    market.broker.buy("BTCUSDT", 0.01, 65000.0)
    updates = market.wait(50)

    assert statuses(updates) == ["rejected"]
    order = updates[-1]
    assert isinstance(order, Order)
    assert order.reason == "no book yet for BTCUSDT when the order reached the venue"


def test_an_order_arriving_on_a_bad_snapshot_is_rejected(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01, 65000.0)
    market.clock.advance(0.010)
    market.depth([(65001.0, 1.0)], [(65000.0, 1.0)])  # crossed: the book becomes unreliable

    updates = market.wait(50)

    order = updates[-1]
    assert isinstance(order, Order)
    assert order.status == "rejected"
    assert order.reason == (
        "book unreliable (last snapshot was crossed) for BTCUSDT when the order reached the venue"
    )
    assert market.broker.balance("USDT").reserved == 0.0


def test_an_order_arriving_on_a_stale_book_is_rejected(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01, 65000.0)
    market.books["BTCUSDT"].mark_unreliable("stream stale for 30 s")

    updates = market.wait(50)

    order = updates[-1]
    assert isinstance(order, Order)
    assert order.reason.startswith("book unreliable (stream stale for 30 s)")


def test_a_market_buy_the_balance_cannot_cover_on_arrival_is_rejected(tmp_path: Path) -> None:
    m = Market(tmp_path / "l.sqlite", balances={"USDT": 700})
    m.depth(BIDS, ASKS)
    m.broker.buy("BTCUSDT", 0.01)  # reserves 650.65 at the current ask
    m.depth(BIDS, [(70000.0, 1.0)])

    updates = m.wait(50)

    order = updates[-1]
    assert isinstance(order, Order)
    assert order.status == "rejected"
    assert order.reason.startswith("insufficient balance when the order reached the venue")
    assert m.broker.balance("USDT").reserved == 0.0
    m.broker.close()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("reject", ["rejected"]),
        ("partial", ["accepted", "partially_filled", "cancelled"]),
        ("slippage", ["accepted", "partially_filled", "filled"]),
    ],
)
def test_a_market_order_beyond_the_visible_depth_follows_the_policy(
    tmp_path: Path, policy: str, expected: list[str]
) -> None:
    m = Market(tmp_path / "l.sqlite", overflow=policy)
    m.depth(BIDS, [(65000.0, 0.05)])
    m.broker.buy("BTCUSDT", 0.1)

    assert statuses(m.wait(50)) == expected
    m.broker.close()


def test_slippage_fills_the_rest_beyond_the_last_level(tmp_path: Path) -> None:
    m = Market(tmp_path / "l.sqlite", overflow="slippage", slippage_bps=50)
    m.depth(BIDS, [(65000.0, 0.01), (65002.5, 0.01)])
    m.broker.buy("BTCUSDT", 0.03)
    m.wait(50)

    prices = [(u.price, u.qty) for u in m.updates if not isinstance(u, Order)]
    # 65002.5 * 1.005 = 65327.5125, rounded up to the tick
    assert prices == [(65000.0, 0.01), (65002.5, 0.01), (65327.52, 0.01)]
    assert m.broker.fill_audits("P1")[-1]["kind"] == "slippage"
    m.broker.close()
