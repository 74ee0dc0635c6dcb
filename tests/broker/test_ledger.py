"""The ledger: what survives a restart, what it refuses, and when it is written."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from itick_bot.broker import BrokerConfig, BrokerError, LedgerError, OrderStateError, PaperBroker
from itick_bot.broker._state import WorkingOrder
from itick_bot.clock import ManualClock

from .conftest import START_NS, Market, fills

BIDS = [(64999.0, 0.5), (64998.0, 1.0)]
ASKS = [(65000.0, 0.01), (65001.0, 0.02)]


def test_a_new_ledger_is_seeded_from_the_configured_balances(market: Market) -> None:
    assert market.broker.started == "seeded"
    assert market.broker.balance("USDT").total == 10000.0
    assert "seeded with BTC 0.1, ETH 1, USDT 10000" in market.broker.start_note


def test_an_existing_ledger_wins_over_the_configured_balances(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)

    broker = market.reopen(balances={"USDT": 1_000_000})

    assert broker.started == "resumed"
    assert broker.balance("USDT").total == 9349.35
    assert "configured balances were ignored" in broker.start_note


def test_reopening_resumes_balances_positions_and_open_orders(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)
    resting = market.broker.buy("BTCUSDT", 0.02, 64000.0, strategy="s")
    market.wait(50)
    travelling = market.broker.sell("BTCUSDT", 0.01, 70000.0)
    before = (
        market.broker.balances(),
        market.broker.positions(),
        market.broker.open_orders(),
        market.broker.fees_paid(),
    )

    broker = market.reopen()
    market.depth(BIDS, ASKS)  # the same book, for the same unrealized P&L

    assert (broker.balances(), broker.positions(), broker.open_orders(), broker.fees_paid()) == (
        before
    )
    assert [o.id for o in broker.open_orders()] == [resting.id, travelling.id]
    assert broker.next_due_ns() == START_NS + 100_000_000 + 50_000_000


def test_a_resumed_broker_goes_on_numbering_orders(market: Market) -> None:
    first = market.broker.buy("BTCUSDT", 0.01, 60000.0)
    broker = market.reopen()

    assert (first.id, broker.buy("BTCUSDT", 0.01, 60000.0).id) == ("P1", "P2")


def test_a_resumed_resting_order_still_fills(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.02, 64998.0)
    market.wait(50)
    market.reopen()

    updates = market.depth([(64990.0, 1.0)], [(64995.0, 1.0)])

    assert [(f.price, f.qty) for f in fills(updates)] == [(64998.0, 0.02)]


def test_a_resumed_broker_remembers_the_liquidity_it_took(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01)
    market.wait(50)
    market.reopen()
    market.broker.buy("BTCUSDT", 0.01)
    market.depth(BIDS, ASKS)  # unchanged: the 65000 level is still taken

    assert [f.price for f in fills(market.wait(50))] == [65001.0]


def test_a_depth_update_that_fills_nothing_does_not_write(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01, 60000.0)
    market.wait(50)
    commits = market.broker.ledger_commits

    for size in (0.5, 0.6, 0.7):
        market.depth([(64999.0, size)], ASKS)
        market.tick(64999.0, 0.1)

    assert market.broker.ledger_commits == commits


def test_each_call_is_one_transaction(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.03)  # one commit
    market.wait(50)  # accepted, two fills, filled: one commit

    assert market.broker.ledger_commits == 2


def test_a_file_that_is_not_a_ledger_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text)")
    conn.close()

    with pytest.raises(LedgerError, match=r"other\.sqlite is an SQLite file but not an itick"):
        PaperBroker(BrokerConfig(), ManualClock(), path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paper.sqlite"
    path.write_text("hello, not a database" * 100)

    with pytest.raises(LedgerError, match=r"paper\.sqlite cannot be opened as a ledger"):
        PaperBroker(BrokerConfig(), ManualClock(), path)


def test_a_ledger_from_a_newer_version_is_refused(market: Market) -> None:
    market.broker.close()
    with sqlite3.connect(market.path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()

    with pytest.raises(LedgerError, match="schema version 99, newer than"):
        PaperBroker(BrokerConfig(), ManualClock(), market.path)
    market.broker = PaperBroker(BrokerConfig(), ManualClock(), ":memory:")


def test_the_ledger_is_in_wal_mode_and_versioned(market: Market) -> None:
    with sqlite3.connect(market.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    conn.close()


def test_a_failed_commit_stops_the_broker_and_reports_nothing(market: Market) -> None:
    market.depth(BIDS, ASKS)
    saboteur = sqlite3.connect(market.path)
    saboteur.execute(
        "CREATE TRIGGER full BEFORE INSERT ON orders BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    saboteur.commit()

    with pytest.raises(LedgerError, match="nothing of the last change was recorded"):
        market.broker.buy("BTCUSDT", 0.01)
    with pytest.raises(BrokerError, match="stopped because its ledger failed"):
        market.broker.advance()

    saboteur.execute("DROP TRIGGER full")
    saboteur.commit()
    saboteur.close()
    broker = market.reopen()
    assert (broker.open_orders(), broker.balance("USDT").reserved) == ([], 0.0)


def test_fills_record_the_book_and_the_model_that_produced_them(market: Market) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.02)
    market.wait(50)

    audit = market.broker.fill_audits("P1")

    assert audit[1] == {
        "kind": "walk",
        "book_ts": START_NS // 1_000_000,
        "book_received_ns": START_NS,
        "level": 1,
        "level_size": "0.02",
        "available": "0.02",
        "queue_ahead": None,
        "model": {
            "latency_ms": 50,
            "taker_fee_bps": "10",
            "maker_fee_bps": "8",
            "overflow": "partial",
            "slippage_bps": "50",
        },
    }


def test_an_illegal_status_change_raises() -> None:
    order = WorkingOrder(
        id="P1",
        seq=1,
        symbol="BTCUSDT",
        base="BTC",
        quote="USDT",
        side="buy",
        qty=Decimal(1),
        price=None,
        tif="GTC",
        post_only=False,
        strategy="",
        created_ns=0,
        arrive_ns=0,
        status="filled",
    )

    with pytest.raises(OrderStateError, match="P1: illegal status change filled -> cancelled"):
        order.transition("cancelled", 1)


def test_cancelling_an_unknown_order_names_it(market: Market) -> None:
    with pytest.raises(BrokerError, match="no order 'P42' in ledger"):
        market.broker.cancel("P42")


def test_an_in_memory_ledger_needs_no_file() -> None:
    with PaperBroker(BrokerConfig(), ManualClock(), ":memory:") as broker:
        assert broker.started == "seeded"


def _orders_on_disk(path: Path) -> int:
    """What another reader of the file sees: committed rows only."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


def test_a_backtest_ledger_commits_its_changes_in_groups_and_the_rest_on_close(
    tmp_path: Path,
) -> None:
    path = tmp_path / "grouped.sqlite"
    broker = PaperBroker(BrokerConfig(), ManualClock(START_NS), path, ledger_group=3)
    on_disk = []
    for price in (60000.0, 60001.0, 60002.0, 60003.0):
        broker.buy("BTCUSDT", 0.001, price)  # one change each
        on_disk.append(_orders_on_disk(path))
    assert len(broker.open_orders()) == 4  # the broker itself sees every change at once
    broker.close()

    assert on_disk == [0, 0, 3, 3]
    assert _orders_on_disk(path) == 4
