"""What one strategy did during this run: orders, fills, fees, positions and P&L.

The ledger holds the whole account over every run; the run report splits this run by strategy,
so the engine keeps this tally from the updates it routes. Floats are fine here: the report is
for reading, and the exact figures stay in the ledger.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model import Fill, Order

__all__ = ["StrategyTally"]


class _Holding:
    __slots__ = ("avg", "qty", "realized")

    def __init__(self) -> None:
        self.qty = 0.0
        self.avg = 0.0
        self.realized = 0.0

    def add(self, signed_qty: float, price: float) -> None:
        qty = self.qty
        if qty == 0.0 or (qty > 0) == (signed_qty > 0):
            total = abs(qty) + abs(signed_qty)
            self.avg = (self.avg * abs(qty) + price * abs(signed_qty)) / total
            self.qty = qty + signed_qty
            return
        closed = min(abs(signed_qty), abs(qty))
        self.realized += closed * (price - self.avg) * (1.0 if qty > 0 else -1.0)
        self.qty = qty + signed_qty
        if abs(self.qty) < 1e-12:
            self.qty, self.avg = 0.0, 0.0
        elif (self.qty > 0) != (qty > 0):  # flipped: what is left was opened at this price
            self.avg = price


class StrategyTally:
    """Counts and P&L of one strategy's orders and fills in this run."""

    def __init__(self) -> None:
        self.orders_sent = 0
        self._sent: set[str] = set()
        self.final_statuses: Counter[str] = Counter()
        self.fills = 0
        self.volume = 0.0
        self.fees: dict[str, float] = {}
        self._holdings: dict[str, _Holding] = {}
        self._fee_by_symbol: dict[str, float] = {}

    def on_submit(self, order: Order) -> None:
        self.orders_sent += 1
        if order.status == "rejected":
            self.final_statuses["rejected"] += 1
        else:
            self._sent.add(order.id)

    def on_order(self, order: Order) -> None:
        # Only this run's orders: a resumed ledger's old orders may end here too.
        if not order.is_open and order.id in self._sent:
            self._sent.discard(order.id)
            self.final_statuses[order.status] += 1

    def on_fill(self, fill: Fill) -> None:
        self.fills += 1
        self.volume += fill.price * fill.qty
        self.fees[fill.fee_asset] = self.fees.get(fill.fee_asset, 0.0) + fill.fee
        self._fee_by_symbol[fill.symbol] = self._fee_by_symbol.get(fill.symbol, 0.0) + fill.fee
        holding = self._holdings.setdefault(fill.symbol, _Holding())
        holding.add(fill.qty if fill.side == "buy" else -fill.qty, fill.price)

    def summary(self, marks: dict[str, float]) -> dict[str, Any]:
        positions = []
        realized_total = unrealized_total = 0.0
        for symbol, h in sorted(self._holdings.items()):
            mark = marks.get(symbol)
            unrealized = (mark - h.avg) * h.qty if mark is not None and h.qty else 0.0
            realized = h.realized - self._fee_by_symbol.get(symbol, 0.0)
            realized_total += realized
            unrealized_total += unrealized
            positions.append(
                {
                    "symbol": symbol,
                    "qty": round(h.qty, 12),
                    "avg_price": round(h.avg, 10) if h.qty else None,
                    "realized_pnl": round(realized, 8),
                    "unrealized_pnl": round(unrealized, 8),
                }
            )
        return {
            "orders": self.orders_sent,
            "orders_by_final_status": dict(sorted(self.final_statuses.items())),
            "fills": self.fills,
            "volume": round(self.volume, 8),
            "fees": {asset: round(fee, 10) for asset, fee in sorted(self.fees.items())},
            "positions": positions,
            "realized_pnl": round(realized_total, 8),
            "unrealized_pnl": round(unrealized_total, 8),
        }
