"""`PaperBroker`: the paper account, its simulated venue, and the ledger behind them."""

from __future__ import annotations

import heapq
import os
from collections.abc import Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, TypeAlias

from ..book import OrderBook
from ..clock import Clock
from ..model import Balance, Depth, Fill, Order, Position, Tick
from ..symbols import canonical
from ._config import BrokerConfig
from ._errors import BrokerError, LedgerError
from ._ledger import FillRecord, Ledger
from ._matching import TEN_THOUSAND, Matching
from ._state import ZERO, Account, WorkingOrder, to_dec
from ._validation import fmt as _fmt
from ._validation import validate
from ._venue import Venue

__all__ = ["BrokerUpdate", "PaperBroker"]

BrokerUpdate: TypeAlias = Order | Fill
"""What the broker tells: a new value of an order, or a fill, in the order they happened."""


class PaperBroker(Matching):
    """A spot paper account that fills against the live book, with its ledger on disk.

    Plain function calls, no I/O but SQLite: the engine feeds it the market (`on_depth`,
    `on_tick`, `advance`) and strategies' orders (`submit`, `cancel`, `cancel_all`); each call
    returns what happened, and it is committed to the ledger before the call returns. Time comes
    from `clock` (the engine's clock, which runs on event stamps).

    An order travels `latency_ms` to the venue: it arrives during the first call whose time is
    at or past its arrival, and is matched against the book as it was then (an arrival due at a
    depth update's time sees the book before that update). Call `advance` when nothing else
    happens; `next_due_ns` says when the next order arrives.
    """

    def __init__(
        self,
        config: BrokerConfig,
        clock: Clock,
        ledger_path: str | os.PathLike[str] | None = None,
        *,
        ledger_group: int = 1,
    ) -> None:
        self.config = config
        self._clock = clock
        path = config.ledger if ledger_path is None else ledger_path
        # `ledger_group` > 1: commit every that many changes (backtests only; see `Ledger`).
        self._ledger = Ledger(path, config.ledger_sync, group=ledger_group)
        self._account = Account()
        self._venues: dict[str, Venue] = {}
        self._open: dict[str, WorkingOrder] = {}
        self._resting: dict[str, list[WorkingOrder]] = {}
        self._inflight: list[tuple[int, int, WorkingOrder]] = []
        self.travelling = self._inflight
        """Orders on their way to the venue, a heap by arrival time (read-only: the engine
        looks at its head on every event, cheaper than calling `next_due_ns`)."""
        self._failed: LedgerError | None = None
        self._changed: dict[str, WorkingOrder] = {}
        self._fill_rows: list[FillRecord] = []
        self._dirty_taken: set[tuple[str, str]] = set()
        self._updates: list[BrokerUpdate] = []
        self._taker_rate = config.taker_fee_bps / TEN_THOUSAND
        self._maker_rate = config.maker_fee_bps / TEN_THOUSAND
        # A limit buy holds enough quote for its notional and the dearer fee.
        self._reserve_rate = max(self._taker_rate, self._maker_rate, ZERO)
        self._latency_ns = config.latency_ms * 1_000_000
        self._model = config.model_settings

        self.started: Literal["seeded", "resumed"]
        if self._ledger.is_new:
            self._ledger.seed(config.balances, clock.time_ns(), "1")
            self.started = "seeded"
        else:
            self.started = "resumed"
        state = self._ledger.load()
        self._account.holdings = state.holdings
        self._account.lots = state.lots
        self._account.fees = state.fees
        self._next_seq = state.next_seq
        for order in state.open_orders:
            self._open[order.id] = order
            if order.status == "submitted":
                heapq.heappush(self._inflight, (order.arrive_ns, order.seq, order))
            else:
                self._resting.setdefault(order.symbol, []).append(order)
        for (symbol, side), levels in state.taken.items():
            venue = self._venue(symbol)
            (venue.taken_bids if side == "bid" else venue.taken_asks).update(levels)
        balances = ", ".join(f"{a} {h.total}" for a, h in sorted(state.holdings.items()))
        if self.started == "seeded":
            self.start_note = f"new ledger {self._ledger.path} seeded with {balances}"
        else:
            ignored = (
                ""
                if state.seeded == dict(config.balances)
                else ("; the configured balances were ignored (they only seed a new ledger)")
            )
            self.start_note = (
                f"resumed ledger {self._ledger.path}: {state.order_count} orders, "
                f"{state.fill_count} fills, {len(self._open)} open orders, balances {balances}"
                f"{ignored}"
            )

    # -- the strategy's side ---------------------------------------------------------------

    def submit(
        self,
        symbol: str,
        side: str,
        qty: float | Decimal | str,
        price: float | Decimal | str | None = None,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        strategy: str = "",
    ) -> Order:
        """Send an order; a market order when `price` is None.

        Returns the order at once: "submitted" (on its way to the venue, its balance reserved),
        or "rejected" with a reason when it is invalid before it leaves.
        """
        self._check()
        now = self._clock.time_ns()
        sym = canonical(symbol)
        seq = self._next_seq
        self._next_seq += 1
        split = self.config.split(sym)
        base, quote = split if split is not None else ("", "")
        order = WorkingOrder(
            id=f"P{seq}",
            seq=seq,
            symbol=sym,
            base=base,
            quote=quote,
            side=str(side),
            qty=ZERO,
            price=None,
            tif=str(tif),
            post_only=bool(post_only),
            strategy=strategy,
            created_ns=now,
            arrive_ns=now + self._latency_ns,
        )
        reason = validate(self.config, order, split, qty, price)
        if not reason:
            need = self._reservation(order)
            if not self._account.reserve(order, need):
                free = self._account.free(order.reserve_asset)
                reason = (
                    f"insufficient balance: the order needs {_fmt(need)} {order.reserve_asset}, "
                    f"{_fmt(free)} {order.reserve_asset} is free"
                )
        if reason:
            order.transition("rejected", now, reason)
        else:
            self._open[order.id] = order
            heapq.heappush(self._inflight, (order.arrive_ns, seq, order))
        self._changed[order.id] = order
        value = order.to_order()
        self._flush()
        return value

    def buy(
        self,
        symbol: str,
        qty: float | Decimal | str,
        price: float | Decimal | str | None = None,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        strategy: str = "",
    ) -> Order:
        """`submit(symbol, "buy", ...)`."""
        return self.submit(
            symbol, "buy", qty, price, tif=tif, post_only=post_only, strategy=strategy
        )

    def sell(
        self,
        symbol: str,
        qty: float | Decimal | str,
        price: float | Decimal | str | None = None,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        strategy: str = "",
    ) -> Order:
        """`submit(symbol, "sell", ...)`."""
        return self.submit(
            symbol, "sell", qty, price, tif=tif, post_only=post_only, strategy=strategy
        )

    def cancel(self, order_id: str, reason: str = "cancelled on request") -> Order:
        """Cancel an open order at once (one still travelling never reaches the venue) and
        return its new value; an order already finished comes back unchanged.

        Raises `BrokerError` for an id this ledger has never seen.
        """
        self._check()
        order = self._open.get(order_id)
        if order is None:
            done = self._ledger.order_row(order_id)
            if done is None:
                raise BrokerError(f"no order {order_id!r} in ledger {self._ledger.path}")
            return done.to_order()
        self._cancel(order, self._clock.time_ns(), reason)
        value = order.to_order()
        self._flush()
        return value

    def cancel_all(self, symbol: str | None = None, strategy: str | None = None) -> list[Order]:
        """Cancel every open order (of `symbol`, of `strategy`, when given) in one transaction;
        returns their new values."""
        self._check()
        sym = None if symbol is None else canonical(symbol)
        now = self._clock.time_ns()
        out = []
        for order in sorted(self._open.values(), key=lambda o: o.seq):
            if (sym is None or order.symbol == sym) and (
                strategy is None or order.strategy == strategy
            ):
                self._cancel(order, now, "cancelled on request (cancel all)")
                out.append(order.to_order())
        self._flush()
        return out

    # -- the market's side -----------------------------------------------------------------

    def on_depth(self, depth: Depth, book: OrderBook) -> list[BrokerUpdate]:
        """A depth update: `book` is the symbol's book with `depth` already applied.

        Orders due by now arrive first, against the book as it was; then the new book becomes
        the venue's, resting orders it crosses fill, and queue estimates shrink. An update that
        fills nothing writes nothing.
        """
        self._check()
        resting = self._resting.get(book.symbol)
        if not resting and not self._inflight:  # the common case: nothing of ours to move
            venue = self._venues.get(book.symbol) or self._venue(book.symbol)
            venue.install(book)
            return []
        now = self._clock.time_ns()
        self._deliver(now, live=False)
        venue = self._venue(book.symbol)
        venue.install(book)
        resting = self._resting.get(book.symbol)
        if resting and venue.reliable:
            for order in list(resting):
                if venue.crosses(order):
                    self._fill_resting(order, order.remaining, now, venue, "book_crossed")
                else:
                    venue.update_queue(order)
        return self._flush()

    def on_tick(self, tick: Tick) -> list[BrokerUpdate]:
        """A trade: resting orders at its price consume their queue by its size, and fill from
        what is left of it; orders it traded through fill completely."""
        self._check()
        resting = self._resting.get(tick.symbol)
        if not resting and not self._inflight:  # the common case: nothing of ours to move
            return []
        now = self._clock.time_ns()
        self._deliver(now, live=True)
        resting = self._resting.get(tick.symbol)
        if resting:
            price = tick.price
            size: Decimal | None = None
            used = ZERO  # of this trade's size, what our orders at its price already got
            venue = self._venue(tick.symbol)
            for order in list(resting):
                limit = order.price_f
                assert limit is not None  # only limit orders rest
                if (price < limit) if order.is_buy else (price > limit):
                    self._fill_resting(
                        order, order.remaining, now, venue, "traded_through", tick=tick
                    )
                elif price == limit and order.queue is not None:
                    if size is None:
                        size = to_dec(tick.size)
                    ahead = order.queue
                    eaten = min(ahead, size)
                    order.queue = ahead - eaten
                    left = size - eaten - used
                    if left > 0:
                        qty = min(order.remaining, left)
                        used += qty
                        self._fill_resting(
                            order, qty, now, venue, "trade_at_price", tick=tick, queue=ahead
                        )
        return self._flush()

    def advance(self, now_ns: int | None = None) -> list[BrokerUpdate]:
        """Deliver the orders due by `now_ns` (the clock's time when None)."""
        self._check()
        self._deliver(self._clock.time_ns() if now_ns is None else now_ns, live=True)
        return self._flush()

    def next_due_ns(self) -> int | None:
        """When the next travelling order reaches the venue, or None when none travels."""
        while self._inflight and self._inflight[0][2].status != "submitted":
            heapq.heappop(self._inflight)
        return self._inflight[0][0] if self._inflight else None

    # -- the account -----------------------------------------------------------------------

    def balance(self, asset: str) -> Balance:
        """`total`, `free` and `reserved` of one asset (zeros for an asset never held)."""
        return self._account.balance(asset.upper())

    def balances(self) -> dict[str, Balance]:
        return {asset: self._account.balance(asset) for asset in sorted(self._account.holdings)}

    def position(self, symbol: str) -> Position:
        """The position in `symbol` since the ledger began; unrealized P&L at the book's mid."""
        sym = canonical(symbol)
        lot = self._account.lots.get(sym)
        if lot is None:
            return Position(symbol=sym)
        venue = self._venues.get(sym)
        mid = venue.book.mid if venue is not None and venue.book is not None else None
        return lot.to_position(sym, mid)

    def positions(self) -> dict[str, Position]:
        return {sym: self.position(sym) for sym in sorted(self._account.lots)}

    def fees_paid(self) -> dict[str, float]:
        """Fees paid since the ledger began, per asset (negative for net maker rebates)."""
        return {asset: float(paid) for asset, paid in sorted(self._account.fees.items())}

    def open_orders(self, symbol: str | None = None, strategy: str | None = None) -> list[Order]:
        """Orders travelling or resting, oldest first."""
        sym = None if symbol is None else canonical(symbol)
        return [
            o.to_order()
            for o in sorted(self._open.values(), key=lambda o: o.seq)
            if (sym is None or o.symbol == sym) and (strategy is None or o.strategy == strategy)
        ]

    def order(self, order_id: str) -> Order | None:
        """The current value of any order of the ledger, None for an unknown id."""
        found = self._open.get(order_id) or self._ledger.order_row(order_id)
        return None if found is None else found.to_order()

    def fill_records(self, order_id: str | None = None) -> list[FillRecord]:
        """The fills of one order (of the whole ledger when None), exact, oldest first."""
        return self._ledger.fills_of(order_id)

    def fill_audits(self, order_id: str) -> list[Mapping[str, Any]]:
        """What produced each fill of an order, oldest first: the kind of fill, the book
        snapshot's time, the level, the liquidity available, the queue estimate, the model."""
        return [row.audit for row in self._ledger.fills_of(order_id)]

    def equity(self, marks: Mapping[str, float] | None = None, in_asset: str = "USDT") -> float:
        """The account's value in `in_asset`: every balance marked at `marks[SYMBOL]` (a
        symbol's price in `in_asset`, e.g. `{"BTCUSDT": 65000.0}`), else at its book's mid.

        Raises `BrokerError` naming an asset held that has no price either way.
        """
        quote = in_asset.upper()
        total = ZERO
        for asset, holding in self._account.holdings.items():
            if holding.total == 0:
                continue
            if asset == quote:
                total += holding.total
                continue
            symbol = self._symbol_of(asset, quote)
            mark: float | None = None
            if marks is not None and symbol in marks:
                mark = marks[symbol]
            else:
                venue = self._venues.get(symbol)
                if venue is not None and venue.book is not None:
                    mark = venue.book.mid
            if mark is None:
                raise BrokerError(
                    f"no price for {asset} in {quote}: pass marks={{'{symbol}': price}} "
                    f"or wait for a {symbol} book"
                )
            total += holding.total * to_dec(mark)
        return float(total)

    @property
    def ledger_path(self) -> str:
        return self._ledger.path

    @property
    def ledger_commits(self) -> int:
        """Changes written to the ledger since this broker opened it: a transaction each, but
        with `ledger_group` > 1 (backtests) several share one."""
        return self._ledger.commits

    def close(self) -> None:
        """Close the ledger (everything reported is already committed)."""
        self._ledger.close()

    def __enter__(self) -> PaperBroker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inside ------------------------------------------------------------------------------

    def _check(self) -> None:
        if self._failed is not None:
            raise BrokerError(f"the paper broker stopped because its ledger failed: {self._failed}")

    def _venue(self, symbol: str) -> Venue:
        venue = self._venues.get(symbol)
        if venue is None:
            venue = self._venues[symbol] = Venue()
        return venue

    def _symbol_of(self, asset: str, quote: str) -> str:
        for symbol, pair in self.config.assets.items():
            if pair == (asset, quote):
                return symbol
        return asset + quote

    def _flush(self) -> list[BrokerUpdate]:
        """Commit what this call changed, in one transaction, then hand out what happened."""
        updates = self._updates
        self._updates = []
        if not self._changed and not self._account.dirty_assets:
            return updates
        account = self._account
        try:
            self._ledger.write(
                orders=self._changed.values(),
                fills=self._fill_rows,
                holdings={a: account.holdings[a] for a in account.dirty_assets},
                lots={s: account.lots[s] for s in account.dirty_lots},
                fees={a: account.fees[a] for a in account.dirty_assets if a in account.fees},
                taken={
                    (sym, side): (
                        self._venues[sym].taken_asks
                        if side == "ask"
                        else self._venues[sym].taken_bids
                    )
                    for sym, side in self._dirty_taken
                },
            )
        except LedgerError as exc:
            self._failed = exc
            raise
        for order in self._changed.values():
            if not order.is_open and self._open.pop(order.id, None) is not None:
                resting = self._resting.get(order.symbol)
                if resting and order in resting:
                    resting.remove(order)
        self._changed = {}
        self._fill_rows = []
        self._dirty_taken.clear()
        account.dirty_assets.clear()
        account.dirty_lots.clear()
        return updates
