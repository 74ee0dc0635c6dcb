"""Invariants over random books and random order sequences."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from itick_bot.book import OrderBook
from itick_bot.broker import BrokerConfig, BrokerUpdate, PaperBroker
from itick_bot.clock import ManualClock
from itick_bot.model import ORDER_TRANSITIONS, Depth, Fill, Order, OrderStatus, Tick

from .strategies import BookStep, CancelStep, OrderStep, Step, TickStep, WaitStep, sequences

START = {"USDT": Decimal(15), "BTC": Decimal("0.1")}


def d(x: float) -> Decimal:
    return Decimal(repr(x))


class Run:
    """Plays steps against a broker, checking the invariants that hold after every step."""

    def __init__(self, overflow: str, latency_ms: int) -> None:
        self.overflow = overflow
        self.clock = ManualClock(10**18)
        self.broker = PaperBroker(
            BrokerConfig(balances=START, overflow=overflow, latency_ms=latency_ms),
            self.clock,
            ":memory:",
        )
        self.book = OrderBook("BTCUSDT")
        self.submitted: list[Order] = []
        self.status: dict[str, OrderStatus] = {}
        self.qty: dict[str, float] = {}
        self.filled: dict[str, Decimal] = defaultdict(Decimal)
        # taker quantity taken from each visible level since that level last changed
        self.taken: dict[tuple[str, float], Decimal] = defaultdict(Decimal)
        self.visible: dict[str, dict[float, float]] = {"bid": {}, "ask": {}}

    def play(self, step: Step) -> None:
        broker, clock = self.broker, self.clock
        clock.advance(0.010)  # events are 10 ms apart: orders arrive a few steps later
        if isinstance(step, BookStep):
            depth = Depth(
                "BTCUSDT", step.bids, step.asks, ts=clock.time_ms(), received_ns=clock.time_ns()
            )
            self.book.apply(depth)
            # fills of orders arriving now were matched against the previous book
            self.check(broker.on_depth(depth, self.book), before_install=True)
            self.install(step)
        elif isinstance(step, TickStep):
            self.check(broker.on_tick(Tick("BTCUSDT", step.price, step.size, clock.time_ms())))
        elif isinstance(step, OrderStep):
            order = broker.submit(
                "BTCUSDT",
                step.side,
                step.qty,
                step.price,
                tif=step.tif,
                post_only=step.post_only,
                strategy=step.strategy,
            )
            self.submitted.append(order)
            self.qty[order.id] = order.qty
            self.check([order])
        elif isinstance(step, CancelStep) and self.submitted:
            target = self.submitted[step.index % len(self.submitted)]
            self.check([broker.cancel(target.id)])
        elif isinstance(step, WaitStep):
            clock.set_ns(clock.time_ns() + step.ms * 1_000_000)
            self.check(broker.advance())

    def install(self, step: BookStep) -> None:
        for side, levels in (("bid", step.bids), ("ask", step.asks)):
            new = dict(levels)
            for price, size in self.visible[side].items():
                if new.get(price) != size:
                    self.taken.pop((side, price), None)
            self.visible[side] = new

    def check(self, updates: list[BrokerUpdate], before_install: bool = False) -> None:
        for update in updates:
            if isinstance(update, Order):
                previous = self.status.get(update.id)
                if previous is not None and previous != update.status:
                    assert update.status in ORDER_TRANSITIONS[previous], (previous, update)
                self.status[update.id] = update.status
                # filled quantity never exceeds the order's quantity
                assert update.filled_qty <= update.qty
            else:
                self.check_fill(update)
        for balance in self.broker.balances().values():
            assert balance.reserved >= 0.0
            assert balance.free >= -1e-12, balance

    def check_fill(self, fill: Fill) -> None:
        self.filled[fill.order_id] += d(fill.qty)
        assert self.filled[fill.order_id] <= d(self.qty[fill.order_id])
        if fill.liquidity == "taker":
            # nothing fills beyond the visible liquidity of a level
            side = "ask" if fill.side == "buy" else "bid"
            visible = self.visible[side].get(fill.price)
            if visible is None:
                # only the slippage policy fills beyond the visible book, and only beyond it
                assert self.overflow == "slippage", f"taker fill at {fill.price}, not visible"
                worst = list(self.visible[side])[-1]
                assert fill.price > worst if fill.side == "buy" else fill.price < worst
                return
            self.taken[(side, fill.price)] += d(fill.qty)
            assert self.taken[(side, fill.price)] <= d(visible)


@settings(max_examples=150, deadline=None)
@given(
    sequences,
    st.sampled_from(["reject", "partial"]),
    st.sampled_from([0, 50]),
)
def test_invariants_hold_after_every_step(
    sequence: list[Step], overflow: str, latency_ms: int
) -> None:
    run = Run(overflow, latency_ms)
    for step in [*sequence, WaitStep(1_000)]:
        run.play(step)
    run.broker.close()


@settings(max_examples=150, deadline=None)
@given(sequences, st.sampled_from(["reject", "partial", "slippage"]))
def test_assets_are_conserved(sequence: list[Step], overflow: str) -> None:
    run = Run(overflow, 50)
    for step in [*sequence, WaitStep(1_000)]:
        run.play(step)
    broker = run.broker

    expected = dict(START)
    fees = Decimal(0)
    for fill in broker.fill_records():
        sign = 1 if fill.side == "buy" else -1
        expected["BTC"] += sign * fill.qty
        expected["USDT"] -= sign * fill.price * fill.qty + fill.fee
        fees += fill.fee
    # balances + fees paid = start ± trades
    for asset, amount in expected.items():
        assert broker.balance(asset).total == float(amount), asset
    assert sum(broker.fees_paid().values(), 0.0) == float(fees)
    broker.close()


@settings(max_examples=150, deadline=None)
@given(sequences)
def test_reserved_balance_is_released_exactly(sequence: list[Step]) -> None:
    run = Run("partial", 50)
    for step in [*sequence, WaitStep(1_000)]:
        run.play(step)

    run.broker.cancel_all()

    for balance in run.broker.balances().values():
        assert (balance.reserved, balance.free) == (0.0, balance.total)
    run.broker.close()


@settings(max_examples=100, deadline=None)
@given(sequences)
def test_the_position_is_the_sum_of_the_fills(sequence: list[Step]) -> None:
    run = Run("partial", 0)
    for step in [*sequence, WaitStep(1_000)]:
        run.play(step)

    net = sum(
        ((1 if f.side == "buy" else -1) * f.qty for f in run.broker.fill_records()), Decimal(0)
    )
    assert run.broker.position("BTCUSDT").qty == float(net)
    run.broker.close()
