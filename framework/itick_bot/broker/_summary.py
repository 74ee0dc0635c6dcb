"""A read-only summary of a ledger file, for `itick-bot ledger` and for reports."""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from typing import Any

import attrs

from ..model import Fill
from ._errors import LedgerError
from ._ledger import SCHEMA_VERSION, connect

__all__ = ["LedgerSummary", "ledger_fills", "read_ledger"]


@attrs.frozen
class LedgerSummary:
    """What a ledger holds, exact. Amounts are `Decimal`s; `as_dict` gives them as strings."""

    path: str
    schema_version: int
    created_ns: int
    seeded: dict[str, Decimal]
    balances: list[dict[str, Any]]
    """asset, total, free, reserved."""
    positions: list[dict[str, Any]]
    """symbol, qty, avg_price (None when flat), realized_pnl (net of fees), fees."""
    fees: dict[str, Decimal]
    orders_by_status: dict[str, int]
    open_orders: list[dict[str, Any]]
    strategies: list[dict[str, Any]]
    """strategy, orders, fills, volume (quote notional), fees."""
    fill_count: int
    recent_fills: list[dict[str, Any]]
    """The newest fills, oldest first."""

    @property
    def order_count(self) -> int:
        return sum(self.orders_by_status.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (every decimal as its exact text)."""
        plain: dict[str, Any] = _plain(
            attrs.asdict(self, recurse=False) | {"order_count": self.order_count}
        )
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def read_ledger(path: str | os.PathLike[str], recent: int = 20) -> LedgerSummary:
    """Summarize the ledger at `path` without changing it (`recent` newest fills listed).

    Raises `LedgerError` naming the file when it is missing, unreadable or not a ledger.
    """
    name = os.fspath(path)
    conn = connect(name, read_only=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            raise LedgerError(
                f"{name} is empty, not an itick-bot ledger; a broker creates its ledger "
                "when it first starts"
            )
        return _read(conn, name, version, recent)
    except sqlite3.Error as exc:
        raise LedgerError(f"{name} cannot be read as a ledger ({exc})") from None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, name: str, version: int, recent: int) -> LedgerSummary:
    if version != SCHEMA_VERSION:  # pragma: no cover - one schema so far
        raise LedgerError(f"{name}: no reader for ledger schema version {version}")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    balances = [
        {
            "asset": asset,
            "total": Decimal(total),
            "free": Decimal(total) - Decimal(reserved),
            "reserved": Decimal(reserved),
        }
        for asset, total, reserved in conn.execute("SELECT * FROM balances ORDER BY asset")
    ]
    positions = []
    for symbol, qty, cost, realized, fees in conn.execute(
        "SELECT * FROM positions ORDER BY symbol"
    ):
        qty_d, cost_d = Decimal(qty), Decimal(cost)
        positions.append(
            {
                "symbol": symbol,
                "qty": qty_d,
                "avg_price": (cost_d / qty_d) if qty_d else None,
                "realized_pnl": Decimal(realized),
                "fees": Decimal(fees),
            }
        )
    open_orders = [
        {
            "id": id_,
            "symbol": symbol,
            "side": side,
            "qty": Decimal(qty),
            "price": None if price is None else Decimal(price),
            "tif": tif,
            "status": status,
            "filled_qty": Decimal(filled),
            "strategy": strategy,
        }
        for id_, symbol, side, qty, price, tif, status, filled, strategy in conn.execute(
            "SELECT id, symbol, side, qty, price, tif, status, filled, strategy FROM orders "
            "WHERE status IN ('submitted', 'accepted', 'partially_filled') ORDER BY seq"
        )
    ]
    strategies: dict[str, dict[str, Any]] = {}
    for strategy, count in conn.execute(
        "SELECT strategy, count(*) FROM orders GROUP BY strategy ORDER BY strategy"
    ):
        strategies[strategy] = {
            "strategy": strategy,
            "orders": count,
            "fills": 0,
            "volume": Decimal(0),
            "fees": Decimal(0),
        }
    # Exact sums: SQLite's sum() would add the decimal texts as floats.
    for strategy, price, qty, fee in conn.execute("SELECT strategy, price, qty, fee FROM fills"):
        row = strategies.setdefault(
            strategy,
            {
                "strategy": strategy,
                "orders": 0,
                "fills": 0,
                "volume": Decimal(0),
                "fees": Decimal(0),
            },
        )
        row["fills"] += 1
        row["volume"] += Decimal(price) * Decimal(qty)
        row["fees"] += Decimal(fee)
    columns = ("order_id", "symbol", "side", "price", "qty", "fee", "fee_asset", "liquidity",
               "ts", "strategy", "audit")  # fmt: skip
    recent_fills = []
    for values in conn.execute(
        f"SELECT {', '.join(columns)} FROM fills ORDER BY id DESC LIMIT ?", (max(recent, 0),)
    ):
        fill = dict(zip(columns, values, strict=True))
        for key in ("price", "qty", "fee"):
            fill[key] = Decimal(fill[key])
        fill["audit"] = json.loads(fill["audit"])
        recent_fills.append(fill)
    recent_fills.reverse()
    return LedgerSummary(
        path=name,
        schema_version=version,
        created_ns=int(meta.get("created_ns", "0")),
        seeded={k: Decimal(v) for k, v in json.loads(meta.get("seeded", "{}")).items()},
        balances=balances,
        positions=positions,
        fees={a: Decimal(p) for a, p in conn.execute("SELECT * FROM fees ORDER BY asset")},
        orders_by_status=dict(
            conn.execute("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")
        ),
        open_orders=open_orders,
        strategies=list(strategies.values()),
        fill_count=int(conn.execute("SELECT count(*) FROM fills").fetchone()[0]),
        recent_fills=recent_fills,
    )


def ledger_fills(path: str | os.PathLike[str]) -> list[Fill]:
    """Every fill of the ledger at `path`, oldest first, as the strategies saw them (floats),
    for the same performance figures a run or a backtest reports."""
    name = os.fspath(path)
    conn = connect(name, read_only=True)
    try:
        rows = conn.execute(
            "SELECT order_id, symbol, side, price, qty, fee, fee_asset, liquidity, ts, strategy,"
            " received_ns FROM fills ORDER BY id"
        ).fetchall()
    except sqlite3.Error as exc:
        raise LedgerError(f"{name} cannot be read as a ledger ({exc})") from None
    finally:
        conn.close()
    return [
        Fill(oid, sym, side, float(price), float(qty), float(fee), asset, liq, ts, strat, rns)
        for oid, sym, side, price, qty, fee, asset, liq, ts, strat, rns in rows
    ]
