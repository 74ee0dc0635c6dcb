"""Worked examples with exact numbers: what the paper broker does with one order on a known book.

Default settings: taker fee 10 bps, maker fee 8 bps, latency 50 ms, 10 000 USDT and 0.1 BTC.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from itick_bot.broker import read_ledger
from itick_bot.model import Order

from .conftest import Market, fills, statuses

BIDS = [(64999.0, 0.5), (64998.0, 1.0), (64997.0, 2.0)]
ASKS = [(65000.0, 0.010), (65001.0, 0.020), (65002.5, 0.050)]


def test_market_buy_walks_three_levels_at_each_levels_price(market: Market) -> None:
    market.depth(BIDS, ASKS)
    order = market.broker.buy("BTCUSDT", 0.05)
    assert order.status == "submitted"

    updates = market.wait(50)

    assert [(f.price, f.qty, f.liquidity) for f in fills(updates)] == [
        (65000.0, 0.01, "taker"),
        (65001.0, 0.02, "taker"),
        (65002.5, 0.02, "taker"),
    ]
    assert statuses(updates) == ["accepted", "partially_filled", "partially_filled", "filled"]
    final = updates[-1]
    assert isinstance(final, Order)
    # VWAP: (650 + 1300.02 + 1300.05) / 0.05
    assert final.avg_price == 65001.4
    assert final.filled_qty == 0.05


def test_market_buy_pays_the_taker_fee_in_usdt_and_moves_balances_exactly(
    market: Market,
) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.05)
    updates = market.wait(50)

    assert [f.fee for f in fills(updates)] == [0.65, 1.30002, 1.30005]
    assert {f.fee_asset for f in fills(updates)} == {"USDT"}
    summary = read_ledger(market.path)
    balances = {b["asset"]: b for b in summary.balances}
    # 10000 - 3250.07 notional - 3.25007 fees
    assert balances["USDT"]["total"] == Decimal("6746.67993")
    assert balances["USDT"]["reserved"] == 0
    assert balances["BTC"]["total"] == Decimal("0.15")
    assert summary.fees == {"USDT": Decimal("3.25007")}
    position = market.broker.position("BTCUSDT")
    assert (position.qty, position.avg_price, position.realized_pnl) == (0.05, 65001.4, -3.25007)


def test_ioc_fills_what_is_within_its_limit_and_cancels_the_rest(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.05, 65001.0, tif="IOC")
    updates = market.wait(50)

    assert [(f.price, f.qty) for f in fills(updates)] == [(65000.0, 0.01), (65001.0, 0.02)]
    assert statuses(updates) == ["accepted", "partially_filled", "partially_filled", "cancelled"]
    final = updates[-1]
    assert isinstance(final, Order)
    assert final.filled_qty == 0.03
    assert "IOC" in final.reason
    usdt = market.broker.balance("USDT")
    # 10000 - 1950.02 - 1.95002; the reservation for the cancelled 0.02 is released
    assert (usdt.total, usdt.reserved) == (8048.02998, 0.0)


def test_fok_is_rejected_when_the_visible_depth_is_short(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.05, 65001.0, tif="FOK")
    updates = market.wait(50)

    assert fills(updates) == []
    assert statuses(updates) == ["rejected"]
    rejected = updates[-1]
    assert isinstance(rejected, Order)
    assert rejected.reason == "FOK: the visible book has only 0.03 of 0.05 within the limit 65001"
    assert market.broker.balance("USDT").reserved == 0.0


def test_fok_fills_completely_when_the_depth_is_there(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.03, 65001.0, tif="FOK")
    updates = market.wait(50)

    assert sum(f.qty for f in fills(updates)) == pytest.approx(0.03)
    assert statuses(updates)[-1] == "filled"


def test_post_only_is_rejected_when_it_would_cross(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.sell("BTCUSDT", 0.01, 64999.0, post_only=True)
    updates = market.wait(50)

    assert statuses(updates) == ["rejected"]
    rejected = updates[-1]
    assert isinstance(rejected, Order)
    assert rejected.reason.startswith("post-only would take liquidity: best bid 64999.0")
    assert market.broker.balance("BTC").reserved == 0.0


def test_post_only_that_does_not_cross_rests(market: Market) -> None:
    market.depth(BIDS, ASKS)
    order = market.broker.sell("BTCUSDT", 0.01, 65000.0, post_only=True)
    updates = market.wait(50)

    assert statuses(updates) == ["accepted"]
    assert [o.id for o in market.broker.open_orders("BTCUSDT")] == [order.id]


def test_resting_order_fills_through_its_queue_by_ticks(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.1, 64998.0)
    market.wait(50)  # rests behind the 1.0 BTC visible at 64998

    assert market.tick(64998.0, 0.6) == []  # 0.4 still ahead
    first = fills(market.tick(64998.0, 0.45))  # eats the 0.4, leaves 0.05 for us
    second = fills(market.tick(64998.0, 0.2))

    assert [(f.price, f.qty, f.liquidity, f.fee) for f in first + second] == [
        (64998.0, 0.05, "maker", 2.59992),
        (64998.0, 0.05, "maker", 2.59992),
    ]
    assert market.broker.open_orders() == []
    audit = market.broker.fill_audits("P1")
    assert [a["kind"] for a in audit] == ["trade_at_price", "trade_at_price"]
    assert [a["queue_ahead"] for a in audit] == ["0.4", "0"]


def test_ticks_at_other_prices_do_not_touch_the_queue(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.1, 64998.0)
    market.wait(50)

    assert market.tick(64999.0, 5.0) == []
    assert market.tick(65000.0, 5.0) == []
    assert fills(market.tick(64998.0, 1.05))[0].qty == 0.05


def test_a_shrinking_level_caps_the_queue_ahead(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.1, 64998.0)
    market.wait(50)
    market.depth([(64999.0, 0.5), (64998.0, 0.3)], ASKS)  # 0.7 left the level: at most 0.3 ahead

    assert [f.qty for f in fills(market.tick(64998.0, 0.35))] == [0.05]


def test_a_trade_through_its_price_fills_a_resting_order_completely(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.1, 64998.0)
    market.wait(50)

    updates = market.tick(64997.0, 0.001)

    assert [(f.price, f.qty, f.liquidity) for f in fills(updates)] == [(64998.0, 0.1, "maker")]
    assert statuses(updates) == ["filled"]


def test_resting_order_fills_at_its_limit_when_the_book_crosses_it(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.1, 64998.0)
    market.wait(50)

    updates = market.depth([(64997.0, 1.0)], [(64997.5, 0.2)])

    assert [(f.price, f.qty, f.liquidity, f.fee) for f in fills(updates)] == [
        (64998.0, 0.1, "maker", 5.19984)
    ]
    assert market.broker.fill_audits("P1")[0]["kind"] == "book_crossed"
    usdt = market.broker.balance("USDT")
    # 10000 - 6499.8 - 5.19984, and nothing left reserved
    assert (usdt.total, usdt.reserved) == (3495.00016, 0.0)


def test_latency_matches_the_order_against_the_book_when_it_arrives(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.clock.advance(0.030)
    market.depth([(65009.0, 1.0)], [(65010.0, 1.0)])  # the market moves while the order travels

    updates = market.wait(20)

    assert [f.price for f in fills(updates)] == [65010.0]


def test_latency_turns_a_fill_into_a_miss(tmp_path: Path) -> None:
    def run(latency_ms: int, path: Path) -> list[str]:
        m = Market(path, latency_ms=latency_ms)
        m.depth(BIDS, ASKS)
        m.broker.buy("BTCUSDT", 0.01, 65000.0, tif="IOC")
        m.clock.advance(0.010)
        m.depth(BIDS, [(65005.0, 1.0)])  # the 65000 offer is gone 10 ms later
        m.wait(100)
        m.broker.close()
        return statuses(m.updates)

    assert run(0, tmp_path / "fast.sqlite") == ["accepted", "filled"]
    assert run(50, tmp_path / "slow.sqlite") == ["accepted", "cancelled"]


def test_an_arrival_due_at_a_depth_update_sees_the_book_before_it(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.clock.advance(0.050)

    updates = market.depth(BIDS, [(65100.0, 1.0)])

    assert [f.price for f in fills(updates)] == [65000.0]


def test_an_unchanged_book_is_never_filled_twice(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)
    market.broker.buy("BTCUSDT", 0.01)
    market.depth(BIDS, ASKS)  # the same snapshot again: 65000 still shows 0.010

    updates = market.wait(50)

    assert [(f.price, f.qty) for f in fills(updates)] == [(65001.0, 0.01)]


def test_taken_liquidity_returns_when_the_level_changes(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)
    market.broker.buy("BTCUSDT", 0.02)
    market.depth(BIDS, [(65000.0, 0.03), *ASKS[1:]])  # refreshed: 0.03 at 65000

    updates = market.wait(50)

    assert [(f.price, f.qty) for f in fills(updates)] == [(65000.0, 0.02)]
    assert market.broker.fill_audits("P2")[0]["available"] == "0.03"


def test_a_resting_remainder_does_not_take_the_liquidity_it_already_took(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.05, 65001.0)  # takes 0.03, rests 0.02 at 65001
    market.wait(50)

    assert market.depth(BIDS, ASKS) == []
    assert market.broker.open_orders()[0].filled_qty == 0.03


def test_sell_market_walks_the_bids(tmp_path: Path) -> None:
    m = Market(tmp_path / "ledger.sqlite", balances={"USDT": 0, "BTC": 1})
    m.depth(BIDS, ASKS)
    m.broker.sell("BTCUSDT", 0.6)
    updates = m.wait(50)

    assert [(f.price, f.qty) for f in fills(updates)] == [(64999.0, 0.5), (64998.0, 0.1)]
    # (32499.5 + 6499.8) less the 0.1% taker fee
    assert m.broker.balance("USDT").total == 38960.3007
    m.broker.close()


def test_a_sell_reserves_the_base_asset_and_proceeds_arrive_net_of_fee(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.sell("BTCUSDT", 0.05)
    assert market.broker.balance("BTC").reserved == 0.05

    market.wait(50)

    assert market.broker.balance("BTC").total == 0.05
    # 10000 + 3249.95 - 3.24995
    assert market.broker.balance("USDT").total == 13246.70005
    position = market.broker.position("BTCUSDT")
    assert (position.qty, position.avg_price) == (-0.05, 64999.0)


def test_closing_a_position_realizes_pnl_net_of_fees(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)  # 0.01 at 65000, fee 0.65
    market.depth([(65100.0, 1.0)], [(65101.0, 1.0)])
    market.broker.sell("BTCUSDT", 0.01)
    market.wait(50)  # 0.01 at 65100, fee 0.651

    position = market.broker.position("BTCUSDT")
    assert (position.qty, position.avg_price) == (0.0, None)
    assert position.realized_pnl == pytest.approx(1.0 - 0.65 - 0.651)
    assert read_ledger(market.path).positions[0]["realized_pnl"] == Decimal("-0.301")


def test_unrealized_pnl_and_equity_are_marked_at_mid(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)
    market.depth([(65099.0, 1.0)], [(65101.0, 1.0)])  # mid 65100

    assert market.broker.position("BTCUSDT").unrealized_pnl == pytest.approx(1.0)
    # 9349.35 USDT + 0.11 BTC at 65100 + 1 ETH at 3000
    assert market.broker.equity({"ETHUSDT": 3000.0}) == pytest.approx(9349.35 + 0.11 * 65100 + 3000)


def test_strategy_name_travels_on_orders_and_fills(market: Market) -> None:
    market.depth(BIDS, ASKS)
    order = market.broker.buy("BTCUSDT", 0.01, strategy="spread")
    updates = market.wait(50)

    assert order.strategy == "spread"
    assert {u.strategy for u in updates} == {"spread"}
    assert read_ledger(market.path).strategies[0]["strategy"] == "spread"


def test_cancel_releases_the_reservation_of_a_resting_order(market: Market) -> None:
    market.depth(BIDS, ASKS)
    order = market.broker.buy("BTCUSDT", 0.1, 64000.0)
    assert market.broker.balance("USDT").reserved == pytest.approx(0.1 * 64000 * 1.001)
    market.wait(50)

    cancelled = market.broker.cancel(order.id)

    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled on request")
    assert market.broker.balance("USDT").reserved == 0.0
    assert market.broker.cancel(order.id) == cancelled  # finished: comes back unchanged


def test_cancel_before_arrival_means_the_order_never_reaches_the_venue(market: Market) -> None:
    market.depth(BIDS, ASKS)
    order = market.broker.buy("BTCUSDT", 0.01)
    market.broker.cancel(order.id)

    assert market.wait(50) == []
    assert market.broker.next_due_ns() is None


def test_cancel_all_by_symbol_and_by_strategy(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.depth([(2999.0, 1.0)], [(3001.0, 1.0)], symbol="ETHUSDT")
    a = market.broker.buy("BTCUSDT", 0.01, 60000.0, strategy="a")
    b = market.broker.buy("BTCUSDT", 0.01, 60000.0, strategy="b")
    c = market.broker.buy("ETHUSDT", 0.1, 2000.0, strategy="a")

    assert [o.id for o in market.broker.cancel_all(strategy="b")] == [b.id]
    assert [o.id for o in market.broker.cancel_all(symbol="ETHUSDT")] == [c.id]
    assert [o.id for o in market.broker.cancel_all()] == [a.id]
    assert market.broker.open_orders() == []
