"""Checks an order passes before it leaves: the symbol, the side, the numbers and their grid."""

from __future__ import annotations

from decimal import Decimal

from ._config import BrokerConfig, to_decimal
from ._state import WorkingOrder

__all__ = ["fmt", "snap", "validate"]

_SNAP = Decimal("1e-9")  # float noise tolerated when snapping a number to its grid, in grid units


def validate(
    config: BrokerConfig,
    order: WorkingOrder,
    split: tuple[str, str] | None,
    qty: object,
    price: object,
) -> str:
    """Why `order` (its symbol, side, time in force and post-only already set) cannot be
    sent, or "" when it can; sets its exact quantity and price on the symbol's grid."""
    sym = order.symbol
    if split is None:
        return (
            f"unknown symbol {sym!r}: its base and quote assets are unknown; add it to "
            f'[broker] assets, e.g. {sym} = ["BASE", "QUOTE"]'
        )
    if order.side not in ("buy", "sell"):
        return f"side must be 'buy' or 'sell', not {order.side!r}"
    if order.tif not in ("GTC", "IOC", "FOK"):
        return f"tif must be 'GTC', 'IOC' or 'FOK', not {order.tif!r}"
    if order.post_only and price is None:
        return "a post-only order needs a limit price"
    if order.post_only and order.tif != "GTC":
        return f"a post-only order rests on the book: use tif='GTC', not {order.tif!r}"
    rules = config.rules(sym)
    try:
        qty_d = to_decimal(qty, "qty")
    except ValueError as exc:
        return str(exc)
    if qty_d <= 0:
        return f"qty must be greater than 0, not {qty}"
    snapped = snap(qty_d, rules.step_size)
    if snapped is None:
        return (
            f"qty {qty} is not a multiple of {sym}'s step {rules.step_size}; round it to the step"
        )
    if snapped < rules.min_qty:
        return f"qty {qty} is below {sym}'s minimum size {rules.min_qty}"
    order.qty = snapped
    if price is not None:
        try:
            price_d = to_decimal(price, "price")
        except ValueError as exc:
            return str(exc)
        if price_d <= 0:
            return f"price must be greater than 0, not {price}"
        on_tick = snap(price_d, rules.tick_size)
        if on_tick is None:
            return (
                f"price {price} is not a multiple of {sym}'s tick {rules.tick_size}; "
                "round it to the tick"
            )
        order.price = on_tick
        order.price_f = float(on_tick)
    return ""


def snap(value: Decimal, grid: Decimal) -> Decimal | None:
    """`value` on the grid of `grid`, forgiving float noise; None when it is off the grid."""
    units = value / grid
    whole = units.to_integral_value()
    if abs(units - whole) > _SNAP:
        return None
    return whole * grid


def fmt(value: Decimal | None) -> str:
    return "none" if value is None else format(value.normalize(), "f")
