"""The paper account's ledger: one SQLite file in WAL mode.

The broker changes its state in memory, then writes everything one call changed (orders, fills,
balances, positions, fees, liquidity taken from the book) in ONE transaction and commits it before
it returns, so whatever a caller was told is on disk, and a process killed at any moment leaves the
ledger at the end of the last call that returned. Tables hold the current state (balances,
positions, orders) plus the append-only fills, so reopening reads a few rows instead of replaying a
history.

The file is marked with SQLite's `application_id` and carries its schema version in `user_version`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from ..model import OrderStatus
from ._errors import LedgerError
from ._state import Holding, Lot, WorkingOrder
from ._venue import Taken

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "FillRecord", "Ledger", "LedgerState", "connect"]

APPLICATION_ID: Final = 0x69744B62  # "itKb"
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE balances (asset TEXT PRIMARY KEY, total TEXT NOT NULL, reserved TEXT NOT NULL);
CREATE TABLE fees (asset TEXT PRIMARY KEY, paid TEXT NOT NULL);
CREATE TABLE positions (
    symbol TEXT PRIMARY KEY, qty TEXT NOT NULL, cost TEXT NOT NULL,
    realized TEXT NOT NULL, fees TEXT NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, symbol TEXT NOT NULL,
    base TEXT NOT NULL, quote TEXT NOT NULL, side TEXT NOT NULL, qty TEXT NOT NULL,
    price TEXT, tif TEXT NOT NULL, post_only INTEGER NOT NULL, status TEXT NOT NULL,
    filled TEXT NOT NULL, notional TEXT NOT NULL, reserved TEXT NOT NULL, queue TEXT,
    strategy TEXT NOT NULL, reason TEXT NOT NULL, created_ns INTEGER NOT NULL,
    arrive_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, fills INTEGER NOT NULL
);
CREATE INDEX orders_by_status ON orders (status);
CREATE TABLE fills (
    id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    price TEXT NOT NULL, qty TEXT NOT NULL, fee TEXT NOT NULL, fee_asset TEXT NOT NULL,
    liquidity TEXT NOT NULL, ts INTEGER NOT NULL, strategy TEXT NOT NULL,
    received_ns INTEGER NOT NULL, audit TEXT NOT NULL
);
CREATE INDEX fills_by_order ON fills (order_id);
CREATE TABLE taken (
    symbol TEXT NOT NULL, side TEXT NOT NULL, price REAL NOT NULL, seen REAL NOT NULL,
    qty TEXT NOT NULL, PRIMARY KEY (symbol, side, price)
);
"""
_OPEN: Final = ("submitted", "accepted", "partially_filled")


@attrs.frozen
class FillRecord:
    """A fill as the ledger stores it, exact, with the audit of what produced it."""

    order_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str
    ts: int
    strategy: str
    received_ns: int
    audit: Mapping[str, Any]


@attrs.define
class LedgerState:
    """Everything a broker needs to resume."""

    holdings: dict[str, Holding]
    lots: dict[str, Lot]
    fees: dict[str, Decimal]
    open_orders: list[WorkingOrder]
    next_seq: int
    taken: dict[tuple[str, str], dict[float, Taken]]
    created_ns: int
    seeded: dict[str, Decimal]
    fill_count: int
    order_count: int


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> sqlite3.Connection:
    """Open a ledger file (`":memory:"` for one that lives and dies with the process).

    Raises `LedgerError` naming the file when it cannot be opened or is not an itick-bot ledger.
    """
    name = os.fspath(path)
    if read_only and not Path(name).is_file():
        raise LedgerError(
            f"no ledger at {name}: give the path of a paper ledger "
            "(the [broker] ledger key of the configuration, paper.sqlite by default)"
        )
    try:
        if read_only:
            conn = sqlite3.connect(
                f"{Path(name).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
        else:
            conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.Error as exc:
        raise LedgerError(
            f"{name} cannot be opened as a ledger ({exc}); point [broker] ledger at a new "
            "file, or check the file's permissions"
        ) from None
    if tables and app_id != APPLICATION_ID:
        conn.close()
        raise LedgerError(
            f"{name} is an SQLite file but not an itick-bot ledger; point [broker] ledger at "
            "another file (a new one is created when it does not exist)"
        )
    if version > SCHEMA_VERSION:
        conn.close()
        raise LedgerError(
            f"{name} has ledger schema version {version}, newer than this itick-bot "
            f"understands ({SCHEMA_VERSION}); upgrade itick-bot to read it"
        )
    return conn


class Ledger:
    """Reads and writes one ledger file for one broker."""

    def __init__(self, path: str | os.PathLike[str], sync: str = "full", *, group: int = 1) -> None:
        """`group` > 1 commits every `group` writes (and on `close`) instead of each: for a
        ledger that is rebuilt by running again (a backtest's), never for a live one, since a
        crash loses what was not committed yet."""
        self.path = os.fspath(path)
        self._group = group
        self._uncommitted = 0
        self._conn = connect(self.path)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: cannot switch the ledger to WAL mode ({exc})"
            ) from None
        self.commits = 0

    @property
    def is_new(self) -> bool:
        return bool(self._conn.execute("PRAGMA user_version").fetchone()[0] == 0)

    def close(self) -> None:
        """Commit what a group holds (see `group`), then close the file."""
        try:
            if self._uncommitted:
                self._uncommitted = 0
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: the last changes could not be committed ({exc}); run the backtest "
                "again once the cause (disk full, file removed, permissions) is fixed"
            ) from None
        finally:
            self._conn.close()

    def seed(self, balances: Mapping[str, Decimal], now_ns: int, version: str) -> None:
        """Create the schema of a new ledger and its opening balances, in one transaction."""
        meta = {
            "created_ns": str(now_ns),
            "seeded": json.dumps({asset: str(amount) for asset, amount in balances.items()}),
            "itick_bot_version": version,
        }
        with self._transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.executemany(
                "INSERT INTO balances VALUES (?, ?, '0')",
                [(asset, str(amount)) for asset, amount in balances.items()],
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def load(self) -> LedgerState:
        """Read back the state the last committed transaction left."""
        conn = self._conn
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        holdings = {
            asset: Holding(Decimal(total), Decimal(reserved))
            for asset, total, reserved in conn.execute("SELECT * FROM balances")
        }
        lots = {
            symbol: Lot(Decimal(qty), Decimal(cost), Decimal(realized), Decimal(fees))
            for symbol, qty, cost, realized, fees in conn.execute("SELECT * FROM positions")
        }
        fees = {asset: Decimal(paid) for asset, paid in conn.execute("SELECT * FROM fees")}
        marks = ",".join("?" * len(_OPEN))
        open_orders = [
            _order_of(row)
            for row in conn.execute(
                f"SELECT * FROM orders WHERE status IN ({marks}) ORDER BY seq", _OPEN
            )
        ]
        next_seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM orders").fetchone()[0]
        taken: dict[tuple[str, str], dict[float, Taken]] = {}
        for symbol, side, price, seen, qty in conn.execute("SELECT * FROM taken"):
            taken.setdefault((symbol, side), {})[price] = Taken(seen, Decimal(qty))
        return LedgerState(
            holdings=holdings,
            lots=lots,
            fees=fees,
            open_orders=open_orders,
            next_seq=int(next_seq),
            taken=taken,
            created_ns=int(meta.get("created_ns", "0")),
            seeded={k: Decimal(v) for k, v in json.loads(meta.get("seeded", "{}")).items()},
            fill_count=int(conn.execute("SELECT count(*) FROM fills").fetchone()[0]),
            order_count=int(conn.execute("SELECT count(*) FROM orders").fetchone()[0]),
        )

    def write(
        self,
        *,
        orders: Iterable[WorkingOrder],
        fills: Iterable[FillRecord],
        holdings: Mapping[str, Holding],
        lots: Mapping[str, Lot],
        fees: Mapping[str, Decimal],
        taken: Mapping[tuple[str, str], Mapping[float, Taken]],
    ) -> None:
        """Commit one call's changes in one transaction; raises `LedgerError` when it fails,
        and then nothing of it is on disk."""
        try:
            with self._transaction() if self._group == 1 else self._grouped() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO orders VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_row_of(order) for order in orders],
                )
                conn.executemany(
                    "INSERT INTO fills (order_id, symbol, side, price, qty, fee, fee_asset, "
                    "liquidity, ts, strategy, received_ns, audit) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            f.order_id,
                            f.symbol,
                            f.side,
                            str(f.price),
                            str(f.qty),
                            str(f.fee),
                            f.fee_asset,
                            f.liquidity,
                            f.ts,
                            f.strategy,
                            f.received_ns,
                            json.dumps(f.audit, separators=(",", ":")),
                        )
                        for f in fills
                    ],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO balances VALUES (?, ?, ?)",
                    [(a, str(h.total), str(h.reserved)) for a, h in holdings.items()],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?)",
                    [
                        (s, str(lot.qty), str(lot.cost), str(lot.realized), str(lot.fees))
                        for s, lot in lots.items()
                    ],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO fees VALUES (?, ?)",
                    [(a, str(paid)) for a, paid in fees.items()],
                )
                for (symbol, side), levels in taken.items():
                    conn.execute("DELETE FROM taken WHERE symbol = ? AND side = ?", (symbol, side))
                    conn.executemany(
                        "INSERT INTO taken VALUES (?, ?, ?, ?, ?)",
                        [(symbol, side, p, t.seen, str(t.qty)) for p, t in levels.items()],
                    )
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: the ledger could not commit ({exc}); nothing of the last "
                "change was recorded. Restart on this ledger once the cause (disk full, file "
                "removed, permissions) is fixed"
            ) from None
        self.commits += 1

    def order_row(self, order_id: str) -> WorkingOrder | None:
        row = self._conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else _order_of(row)

    def fills_of(self, order_id: str | None) -> list[FillRecord]:
        if order_id is None:
            rows = self._conn.execute("SELECT * FROM fills ORDER BY id")
        else:
            rows = self._conn.execute(
                "SELECT * FROM fills WHERE order_id = ? ORDER BY id", (order_id,)
            )
        return [_fill_of(row) for row in rows]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    @contextmanager
    def _grouped(self) -> Iterator[sqlite3.Connection]:
        """One write inside the open transaction of its group; the group's last commits it."""
        conn = self._conn
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._uncommitted = 0
            raise
        self._uncommitted += 1
        if self._uncommitted >= self._group:
            conn.execute("COMMIT")
            self._uncommitted = 0


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back when the block raises."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._conn.execute("COMMIT")
        elif self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


def _row_of(o: WorkingOrder) -> tuple[object, ...]:
    return (
        o.id,
        o.seq,
        o.symbol,
        o.base,
        o.quote,
        o.side,
        str(o.qty),
        None if o.price is None else str(o.price),
        o.tif,
        int(o.post_only),
        o.status,
        str(o.filled),
        str(o.notional),
        str(o.reserved),
        None if o.queue is None else str(o.queue),
        o.strategy,
        o.reason,
        o.created_ns,
        o.arrive_ns,
        o.updated_ns,
        o.fills,
    )


def _order_of(row: tuple[Any, ...]) -> WorkingOrder:
    (
        id_,
        seq,
        symbol,
        base,
        quote,
        side,
        qty,
        price,
        tif,
        post_only,
        status,
        filled,
        notional,
        reserved,
        queue,
        strategy,
        reason,
        created_ns,
        arrive_ns,
        updated_ns,
        fills,
    ) = row
    state: OrderStatus = status
    return WorkingOrder(
        id=id_,
        seq=seq,
        symbol=symbol,
        base=base,
        quote=quote,
        side=side,
        qty=Decimal(qty),
        price=None if price is None else Decimal(price),
        tif=tif,
        post_only=bool(post_only),
        strategy=strategy,
        created_ns=created_ns,
        arrive_ns=arrive_ns,
        status=state,
        filled=Decimal(filled),
        notional=Decimal(notional),
        reserved=Decimal(reserved),
        queue=None if queue is None else Decimal(queue),
        reason=reason,
        updated_ns=updated_ns,
        fills=fills,
    )


def _fill_of(row: tuple[Any, ...]) -> FillRecord:
    (
        _,
        order_id,
        symbol,
        side,
        price,
        qty,
        fee,
        fee_asset,
        liquidity,
        ts,
        strategy,
        received_ns,
        audit,
    ) = row
    return FillRecord(
        order_id=order_id,
        symbol=symbol,
        side=side,
        price=Decimal(price),
        qty=Decimal(qty),
        fee=Decimal(fee),
        fee_asset=fee_asset,
        liquidity=liquidity,
        ts=ts,
        strategy=strategy,
        received_ns=received_ns,
        audit=json.loads(audit),
    )
