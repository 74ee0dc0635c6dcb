"""How orders meet the simulated venue: arrival after the latency, matching against the book,
fills, fees and the account's bookkeeping. The inside of `PaperBroker`, apart from its public
calls and its ledger; `PaperBroker` inherits it."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ..model import Fill, Liquidity, Order, Tick
from ._config import BrokerConfig
from ._ledger import FillRecord
from ._state import ZERO, Account, WorkingOrder, to_dec
from ._validation import fmt as _fmt
from ._venue import Take, Venue

__all__ = ["Matching"]

TEN_THOUSAND = Decimal(10_000)


class Matching:
    """Arrival, matching and fills; the state is `PaperBroker`'s (declared here for the types)."""

    config: BrokerConfig
    _account: Account
    _venues: dict[str, Venue]
    _resting: dict[str, list[WorkingOrder]]
    _inflight: list[tuple[int, int, WorkingOrder]]
    _changed: dict[str, WorkingOrder]
    _fill_rows: list[FillRecord]
    _dirty_taken: set[tuple[str, str]]
    _updates: list[Order | Fill]
    _taker_rate: Decimal
    _maker_rate: Decimal
    _reserve_rate: Decimal
    _model: dict[str, str | int]

    def _reservation(self, order: WorkingOrder) -> Decimal:
        """What an order must hold when it leaves: the base it sells, or the quote a buy may
        spend (at its limit, or for a market buy what the visible book would cost now)."""
        if not order.is_buy:
            return order.qty
        if order.price is not None:
            return order.qty * order.price * (1 + self._reserve_rate)
        venue = self._venues.get(order.symbol)
        if venue is None or not venue.has_book:
            return ZERO  # priced when it arrives, where the lack of a book rejects it anyway
        return self._cost(self._market_plan(order, venue)[0])

    def _cost(self, plan: Iterable[Take]) -> Decimal:
        return sum((t.price * t.qty for t in plan), ZERO) * (1 + self._taker_rate)

    def _market_plan(self, order: WorkingOrder, venue: Venue) -> tuple[list[Take], Decimal]:
        """The taker fills of a market order under the overflow policy, and the quantity the
        visible book could not fill."""
        plan = venue.plan(order.is_buy, order.remaining, None)
        short = order.remaining - sum((t.qty for t in plan), ZERO)
        if short > 0 and self.config.overflow == "slippage" and order.tif != "FOK":
            worst = venue.worst_price(order.is_buy)
            if worst is not None:
                tick = self.config.rules(order.symbol).tick_size
                slip = self.config.slippage_bps / TEN_THOUSAND
                if order.is_buy:
                    price = (to_dec(worst) * (1 + slip) / tick).to_integral_value(ROUND_CEILING)
                else:
                    price = (to_dec(worst) * (1 - slip) / tick).to_integral_value(ROUND_FLOOR)
                plan.append(Take(price * tick, short, None, None, None))
        return plan, short

    def _deliver(self, now: int, live: bool) -> None:
        inflight = self._inflight
        while inflight and inflight[0][0] <= now:
            order = heapq.heappop(inflight)[2]
            if order.status == "submitted":
                self._arrive(order, live)

    def _arrive(self, order: WorkingOrder, live: bool) -> None:
        at = order.arrive_ns
        venue = self._venues.get(order.symbol)
        why = "no book yet" if venue is None else venue.usable(live)
        if why:
            self._reject(order, at, f"{why} for {order.symbol} when the order reached the venue")
            return
        assert venue is not None
        buy = order.is_buy
        if order.price is None:
            plan, short = self._market_plan(order, venue)
            filled_by_plan = sum((t.qty for t in plan), ZERO)
            if order.tif == "FOK" and short > 0:
                self._reject(
                    order,
                    at,
                    f"FOK: the visible book has only "
                    f"{_fmt(order.qty - short)} of {_fmt(order.qty)}",
                )
                return
            if short > 0 and self.config.overflow == "reject":
                visible = _fmt(order.qty - short)
                self._reject(
                    order,
                    at,
                    f"larger than the visible depth ({visible} of "
                    f'{_fmt(order.qty)}) and [broker] overflow = "reject"',
                )
                return
            if buy:
                need = self._cost(plan) - order.reserved
                if not self._account.reserve(order, need):
                    free = self._account.free(order.quote)
                    self._reject(
                        order,
                        at,
                        f"insufficient balance when the order reached the "
                        f"venue: it needs {_fmt(need)} {order.quote} more, "
                        f"{_fmt(free)} is free",
                    )
                    return
            self._set(order, "accepted", at)
            for take in plan:
                self._fill_taker(order, take, venue, at)
            if order.remaining > 0:
                why = (
                    "no liquidity left in the visible book"
                    if not filled_by_plan
                    else f"the rest ({_fmt(order.remaining)}) was beyond the visible depth and "
                    '[broker] overflow = "partial"'
                )
                self._cancel(order, at, why)
            return
        if order.post_only and venue.crosses(order):
            best = venue.best_available(buy)
            self._reject(
                order,
                at,
                f"post-only would take liquidity: best "
                f"{'ask' if buy else 'bid'} {best} crosses the limit "
                f"{_fmt(order.price)}",
            )
            return
        plan = venue.plan(buy, order.remaining, order.price_f)
        if order.tif == "FOK":
            fillable = sum((t.qty for t in plan), ZERO)
            if fillable < order.remaining:
                self._reject(
                    order,
                    at,
                    f"FOK: the visible book has only {_fmt(fillable)} of "
                    f"{_fmt(order.qty)} within the limit {_fmt(order.price)}",
                )
                return
        self._set(order, "accepted", at)
        for take in plan:
            self._fill_taker(order, take, venue, at)
        if order.remaining > 0:
            if order.tif == "IOC":
                self._cancel(order, at, "IOC: the rest could not fill at once")
            else:
                assert order.price_f is not None
                order.queue = venue.queue_at(buy, order.price_f)
                self._resting.setdefault(order.symbol, []).append(order)

    def _fill_taker(self, order: WorkingOrder, take: Take, venue: Venue, at: int) -> None:
        audit: dict[str, Any] = {
            "kind": "walk" if take.level is not None else "slippage",
            "book_ts": venue.ts,
            "book_received_ns": venue.received_ns,
            "level": take.level,
            "level_size": None if take.level_size is None else _fmt(take.level_size),
            "available": None if take.available is None else _fmt(take.available),
            "queue_ahead": None,
            "model": self._model,
        }
        if take.level is not None:
            venue.take(order.is_buy, take)
            self._dirty_taken.add((order.symbol, "ask" if order.is_buy else "bid"))
        self._fill(order, take.price, take.qty, "taker", at, audit)

    def _fill_resting(
        self,
        order: WorkingOrder,
        qty: Decimal,
        now: int,
        venue: Venue,
        kind: str,
        *,
        tick: Tick | None = None,
        queue: Decimal | None = None,
    ) -> None:
        assert order.price is not None
        ahead = order.queue if queue is None else queue
        audit: dict[str, Any] = {
            "kind": kind,
            "book_ts": venue.ts,
            "book_received_ns": venue.received_ns,
            "level": None,
            "queue_ahead": None if ahead is None else _fmt(ahead),
            "model": self._model,
        }
        if tick is not None:
            audit["tick"] = {"price": tick.price, "size": tick.size, "ts": tick.ts}
        self._fill(order, order.price, qty, "maker", now, audit)

    def _fill(
        self,
        order: WorkingOrder,
        price: Decimal,
        qty: Decimal,
        liquidity: Liquidity,
        at: int,
        audit: dict[str, Any],
    ) -> None:
        notional = price * qty
        fee = notional * (self._taker_rate if liquidity == "taker" else self._maker_rate)
        if not order.is_buy:
            held = qty
        elif order.price is not None:
            held = qty * order.price * (1 + self._reserve_rate)
        else:
            held = notional + fee
        self._account.settle(order, price, qty, fee, held)
        order.filled += qty
        order.notional += notional
        order.fills += 1
        self._set(
            order, "filled" if order.filled >= order.qty else "partially_filled", at, emit=False
        )
        if order.status == "filled":
            self._account.release(order)
        row = FillRecord(
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_asset=order.quote,
            liquidity=liquidity,
            ts=at // 1_000_000,
            strategy=order.strategy,
            received_ns=at,
            audit=audit,
        )
        self._fill_rows.append(row)
        self._updates.append(
            Fill(
                order_id=order.id,
                symbol=order.symbol,
                side="buy" if order.is_buy else "sell",
                price=float(price),
                qty=float(qty),
                fee=float(fee),
                fee_asset=order.quote,
                liquidity=liquidity,
                ts=row.ts,
                strategy=order.strategy,
                received_ns=at,
            )
        )
        self._updates.append(order.to_order())

    def _set(self, order: WorkingOrder, status: Any, at: int, *, emit: bool = True) -> None:
        order.transition(status, at)
        self._changed[order.id] = order
        if emit:
            self._updates.append(order.to_order())

    def _reject(self, order: WorkingOrder, at: int, reason: str) -> None:
        self._account.release(order)
        order.reason = reason
        self._set(order, "rejected", at)

    def _cancel(self, order: WorkingOrder, at: int, reason: str) -> None:
        self._account.release(order)
        order.reason = reason
        self._set(order, "cancelled", at)
