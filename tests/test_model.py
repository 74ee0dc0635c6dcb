"""The value types of DESIGN.md section 3: immutable, positional in the documented order, and the
order lifecycle in one table."""

from __future__ import annotations

import attrs
import pytest

from itick_bot.model import (
    INTERVAL_MS,
    INTERVALS,
    KLINE_PERIODS,
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    Balance,
    Bar,
    Depth,
    FeedStatus,
    Fill,
    Order,
    OrderStatus,
    Position,
    Quote,
    Tick,
    interval_of_kline,
    kline_of_interval,
)

QUOTE = Quote("BTCUSDT", 67_000.0, 12.5, 837_500.0, 1_731_690_011_321, 0)
TICK = Tick("BTCUSDT", 67_012.5, 0.012, 1_731_689_407_000)
DEPTH = Depth("BTCUSDT", ((1.0, 2.0),), ((3.0, 4.0),), 5)
BAR = Bar("BTCUSDT", "1m", 1_731_660_060_000, 1.0, 2.0, 0.5, 1.5, 28.0, 157_513.0)
STATUS = FeedStatus("connected", "", 1)
ORDER = Order("o-1", "BTCUSDT", "buy", 0.5, 67_000.0)
FILL = Fill("o-1", "BTCUSDT", "buy", 67_000.0, 0.2, 0.0134, "USDT", "taker", 9)


# -- immutability ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field"),
    [(QUOTE, "last"), (TICK, "price"), (DEPTH, "bids"), (BAR, "close"), (STATUS, "state")],
)
def test_market_events_cannot_be_changed(value: object, field: str) -> None:
    with pytest.raises(AttributeError):
        setattr(value, field, 0)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (ORDER, "status"),
        (FILL, "qty"),
        (Position("BTCUSDT"), "qty"),
        (Balance("USDT"), "free"),
    ],
)
def test_trading_values_cannot_be_changed(value: object, field: str) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, 0)


def test_a_changed_order_is_a_new_value() -> None:
    accepted = attrs.evolve(ORDER, status="accepted")
    assert accepted.status == "accepted"
    assert ORDER.status == "submitted"


def test_equal_events_are_equal_and_hash_alike() -> None:
    twin = Quote("BTCUSDT", 67_000.0, 12.5, 837_500.0, 1_731_690_011_321, 0)
    assert twin == QUOTE
    assert hash(twin) == hash(QUOTE)


# -- the documented field order ----------------------------------------------------------------


def test_quote_fields_are_positional_in_the_documented_order() -> None:
    assert (QUOTE.symbol, QUOTE.last, QUOTE.volume, QUOTE.turnover, QUOTE.ts, QUOTE.status) == (
        "BTCUSDT", 67_000.0, 12.5, 837_500.0, 1_731_690_011_321, 0,
    )  # fmt: skip


def test_tick_fields_are_positional_in_the_documented_order() -> None:
    assert (TICK.symbol, TICK.price, TICK.size, TICK.ts) == (
        "BTCUSDT", 67_012.5, 0.012, 1_731_689_407_000,
    )  # fmt: skip


def test_bar_fields_are_positional_in_the_documented_order() -> None:
    assert (BAR.interval, BAR.open_time, BAR.open, BAR.high, BAR.low, BAR.close) == (
        "1m", 1_731_660_060_000, 1.0, 2.0, 0.5, 1.5,
    )  # fmt: skip
    assert (BAR.volume, BAR.turnover) == (28.0, 157_513.0)


def test_fill_fields_are_positional_in_the_documented_order() -> None:
    assert (FILL.order_id, FILL.side, FILL.price, FILL.qty, FILL.fee, FILL.fee_asset) == (
        "o-1", "buy", 67_000.0, 0.2, 0.0134, "USDT",
    )  # fmt: skip
    assert (FILL.liquidity, FILL.ts) == ("taker", 9)


def test_events_default_to_no_region_and_no_receive_time() -> None:
    assert (QUOTE.region, QUOTE.received_ns) == ("", 0)
    assert (TICK.region, TICK.turnover) == ("", None)
    assert (QUOTE.open, QUOTE.high, QUOTE.low) == (None, None, None)


def test_a_new_order_is_a_submitted_gtc_order_with_nothing_filled() -> None:
    assert (ORDER.status, ORDER.tif, ORDER.post_only) == ("submitted", "GTC", False)
    assert (ORDER.filled_qty, ORDER.avg_price, ORDER.reason) == (0.0, None, "")


# -- orders ------------------------------------------------------------------------------------

LIFECYCLE: dict[OrderStatus, set[OrderStatus]] = {
    "submitted": {"accepted", "rejected", "cancelled"},
    "accepted": {"partially_filled", "filled", "cancelled"},
    "partially_filled": {"partially_filled", "filled", "cancelled"},
    "filled": set(),
    "cancelled": set(),
    "rejected": set(),
}
STATUSES: list[OrderStatus] = sorted(LIFECYCLE)


def test_order_transitions_are_the_documented_lifecycle() -> None:
    assert {status: set(targets) for status, targets in ORDER_TRANSITIONS.items()} == LIFECYCLE


def test_terminal_statuses_are_those_with_no_way_out() -> None:
    assert {s for s, targets in LIFECYCLE.items() if not targets} == TERMINAL_STATUSES


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_can_become_follows_the_table(source: OrderStatus, target: OrderStatus) -> None:
    order = attrs.evolve(ORDER, status=source)
    assert order.can_become(target) is (target in LIFECYCLE[source])


@pytest.mark.parametrize("status", STATUSES)
def test_an_order_is_open_until_it_is_terminal(status: OrderStatus) -> None:
    assert attrs.evolve(ORDER, status=status).is_open is (status not in TERMINAL_STATUSES)


def test_remaining_qty_is_what_is_left_to_fill() -> None:
    order = attrs.evolve(ORDER, qty=0.5, filled_qty=0.2, status="partially_filled")
    assert order.remaining_qty == pytest.approx(0.3)


def test_remaining_qty_of_a_new_order_is_its_qty() -> None:
    assert ORDER.remaining_qty == 0.5


def test_remaining_qty_is_never_negative() -> None:
    assert attrs.evolve(ORDER, qty=0.5, filled_qty=0.5000001).remaining_qty == 0.0


# -- kline periods and intervals ---------------------------------------------------------------


def test_kline_periods_map_itick_numbers_to_intervals() -> None:
    assert KLINE_PERIODS == {
        1: "1m", 2: "5m", 3: "15m", 4: "30m", 5: "1h",
        6: "2h", 7: "4h", 8: "1d", 9: "1w", 10: "1M",
    }  # fmt: skip


def test_period_3_is_fifteen_minutes_as_in_the_current_documents() -> None:
    assert interval_of_kline(3) == "15m"


@pytest.mark.parametrize("period", [0, 11, -1])
def test_a_period_itick_does_not_define_has_no_interval(period: int) -> None:
    assert interval_of_kline(period) is None


@pytest.mark.parametrize("interval", INTERVALS)
def test_kline_of_interval_inverts_interval_of_kline(interval: str) -> None:
    assert interval_of_kline(kline_of_interval(interval)) == interval  # type: ignore[arg-type]


def test_every_interval_has_a_length() -> None:
    assert set(INTERVAL_MS) == set(INTERVALS)
    assert INTERVAL_MS["15m"] == 15 * 60_000
    assert INTERVAL_MS["1d"] == 86_400_000


def test_interval_lengths_grow_with_the_period_number() -> None:
    lengths = [INTERVAL_MS[KLINE_PERIODS[n]] for n in sorted(KLINE_PERIODS)]
    assert lengths == sorted(lengths)
    assert len(set(lengths)) == len(lengths)
