"""The broker's mutable inside: working orders and the account (balances, positions, fees).

Only the broker touches these; strategies see frozen `Order`, `Balance` and `Position` values made
from them. All amounts are exact `Decimal`s.
"""

from __future__ import annotations

from decimal import Decimal

from ..model import ORDER_TRANSITIONS, TERMINAL_STATUSES, Balance, Order, OrderStatus, Position
from ._errors import OrderStateError

__all__ = ["Account", "Holding", "Lot", "WorkingOrder"]

ZERO = Decimal(0)


class WorkingOrder:
    """One order as the broker keeps it while it lives, with its exact numbers.

    `reserved` is what the order still holds of `reserve_asset` (the quote asset for a buy, the
    base asset for a sell); `queue` is the estimated size ahead of it at its price while it rests
    (None when its price is outside the visible levels and nothing is known yet).
    """

    __slots__ = (
        "arrive_ns",
        "base",
        "created_ns",
        "filled",
        "fills",
        "id",
        "notional",
        "post_only",
        "price",
        "price_f",
        "qty",
        "queue",
        "quote",
        "reason",
        "reserve_asset",
        "reserved",
        "seq",
        "side",
        "status",
        "strategy",
        "symbol",
        "tif",
        "updated_ns",
    )

    def __init__(
        self,
        *,
        id: str,
        seq: int,
        symbol: str,
        base: str,
        quote: str,
        side: str,
        qty: Decimal,
        price: Decimal | None,
        tif: str,
        post_only: bool,
        strategy: str,
        created_ns: int,
        arrive_ns: int,
        status: OrderStatus = "submitted",
        filled: Decimal = ZERO,
        notional: Decimal = ZERO,
        reserved: Decimal = ZERO,
        queue: Decimal | None = None,
        reason: str = "",
        updated_ns: int | None = None,
        fills: int = 0,
    ) -> None:
        self.id = id
        self.seq = seq
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.side = side
        self.qty = qty
        self.price = price
        self.price_f = None if price is None else float(price)
        self.tif = tif
        self.post_only = post_only
        self.strategy = strategy
        self.created_ns = created_ns
        self.arrive_ns = arrive_ns
        self.status: OrderStatus = status
        self.filled = filled
        self.notional = notional
        self.reserved = reserved
        self.reserve_asset = quote if side == "buy" else base
        self.queue = queue
        self.reason = reason
        self.updated_ns = created_ns if updated_ns is None else updated_ns
        self.fills = fills

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    def transition(self, status: OrderStatus, now_ns: int, reason: str = "") -> None:
        """Move to `status` along `ORDER_TRANSITIONS`; anything else raises `OrderStateError`."""
        if status not in ORDER_TRANSITIONS[self.status]:
            raise OrderStateError(
                f"order {self.id}: illegal status change {self.status} -> {status}"
            )
        self.status = status
        self.updated_ns = now_ns
        if reason:
            self.reason = reason

    def to_order(self) -> Order:
        """The frozen value a strategy sees, in floats."""
        return Order(
            id=self.id,
            symbol=self.symbol,
            side="buy" if self.side == "buy" else "sell",
            qty=float(self.qty),
            price=self.price_f,
            tif="GTC" if self.tif == "GTC" else "IOC" if self.tif == "IOC" else "FOK",
            post_only=self.post_only,
            status=self.status,
            filled_qty=float(self.filled),
            avg_price=float(self.notional / self.filled) if self.filled else None,
            reason=self.reason,
            strategy=self.strategy,
            created_ns=self.created_ns,
            updated_ns=self.updated_ns,
        )


class Holding:
    """One asset of the account: `total` owned, `reserved` of it held by open orders."""

    __slots__ = ("reserved", "total")

    def __init__(self, total: Decimal = ZERO, reserved: Decimal = ZERO) -> None:
        self.total = total
        self.reserved = reserved

    @property
    def free(self) -> Decimal:
        return self.total - self.reserved


class Lot:
    """The position in one symbol: signed quantity traded since the ledger began, its cost basis
    (signed like the quantity), realized P&L net of fees, and fees paid (in the quote asset)."""

    __slots__ = ("cost", "fees", "qty", "realized")

    def __init__(
        self,
        qty: Decimal = ZERO,
        cost: Decimal = ZERO,
        realized: Decimal = ZERO,
        fees: Decimal = ZERO,
    ) -> None:
        self.qty = qty
        self.cost = cost
        self.realized = realized
        self.fees = fees

    def trade(self, signed_qty: Decimal, price: Decimal, fee: Decimal) -> None:
        """Add a trade (positive quantity bought, negative sold) at `price`, paying `fee`."""
        qty, cost = self.qty, self.cost
        if qty == 0 or (qty > 0) == (signed_qty > 0):
            self.qty = qty + signed_qty
            self.cost = cost + price * signed_qty
        else:
            size = abs(qty)
            closed = min(abs(signed_qty), size)
            sign = 1 if qty > 0 else -1
            # Closing the whole position takes the whole basis, exactly.
            basis = cost if closed == size else cost * closed / size
            self.realized += sign * price * closed - basis
            cost -= basis
            qty -= sign * closed
            rest = abs(signed_qty) - closed
            if rest:
                qty = -sign * rest
                cost = price * qty
            self.qty, self.cost = qty, cost
        self.realized -= fee
        self.fees += fee

    def to_position(self, symbol: str, mid: float | None) -> Position:
        qty = float(self.qty)
        avg = float(self.cost / self.qty) if self.qty else None
        unrealized = 0.0
        if mid is not None and self.qty:
            unrealized = float(to_dec(mid) * self.qty - self.cost)
        return Position(
            symbol=symbol,
            qty=qty,
            avg_price=avg,
            realized_pnl=float(self.realized),
            unrealized_pnl=unrealized,
        )


def to_dec(value: float) -> Decimal:
    return Decimal(repr(value))


class Account:
    """Balances per asset, positions per symbol and fees per asset; it remembers which of them
    changed since the ledger last saw them (`dirty_assets`, `dirty_lots`)."""

    __slots__ = ("dirty_assets", "dirty_lots", "fees", "holdings", "lots")

    def __init__(self) -> None:
        self.holdings: dict[str, Holding] = {}
        self.lots: dict[str, Lot] = {}
        self.fees: dict[str, Decimal] = {}
        self.dirty_assets: set[str] = set()
        self.dirty_lots: set[str] = set()

    def holding(self, asset: str) -> Holding:
        found = self.holdings.get(asset)
        if found is None:
            found = self.holdings[asset] = Holding()
        return found

    def free(self, asset: str) -> Decimal:
        found = self.holdings.get(asset)
        return ZERO if found is None else found.free

    def reserve(self, order: WorkingOrder, amount: Decimal) -> bool:
        """Hold `amount` more of the order's reserve asset for it; False when not enough is free."""
        if amount <= 0:
            return True
        holding = self.holding(order.reserve_asset)
        if holding.free < amount:
            return False
        holding.reserved += amount
        order.reserved += amount
        self.dirty_assets.add(order.reserve_asset)
        return True

    def release(self, order: WorkingOrder, amount: Decimal | None = None) -> None:
        """Give back `amount` (all the order still holds when None) of its reservation."""
        amount = order.reserved if amount is None else min(amount, order.reserved)
        if amount <= 0:
            return
        holding = self.holding(order.reserve_asset)
        holding.reserved -= amount
        order.reserved -= amount
        self.dirty_assets.add(order.reserve_asset)

    def settle(
        self, order: WorkingOrder, price: Decimal, qty: Decimal, fee: Decimal, held: Decimal
    ) -> None:
        """Book a fill of `order`: move the assets, pay the fee in the quote asset, and consume
        `held` of the order's reservation (what this part of the order had reserved)."""
        base, quote = self.holding(order.base), self.holding(order.quote)
        held = min(held, order.reserved)
        order.reserved -= held
        if order.is_buy:
            quote.reserved -= held
            quote.total -= price * qty + fee
            base.total += qty
            signed = qty
        else:
            base.reserved -= held
            base.total -= qty
            quote.total += price * qty - fee
            signed = -qty
        self.fees[order.quote] = self.fees.get(order.quote, ZERO) + fee
        lot = self.lots.get(order.symbol)
        if lot is None:
            lot = self.lots[order.symbol] = Lot()
        lot.trade(signed, price, fee)
        self.dirty_assets.add(order.base)
        self.dirty_assets.add(order.quote)
        self.dirty_lots.add(order.symbol)

    def balance(self, asset: str) -> Balance:
        found = self.holdings.get(asset)
        if found is None:
            return Balance(asset=asset)
        return Balance(
            asset=asset,
            total=float(found.total),
            free=float(found.free),
            reserved=float(found.reserved),
        )
