"""The bar store: UTC bar boundaries, bars built from trades and from server klines, closing by
later data and by the clock (exactly once), late data, the ring buffer and its numpy columns."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itick_bot.bars import BarSeries, BarStore, align_open_time, next_open_time
from itick_bot.model import INTERVAL_MS, INTERVALS, Bar, Interval, Tick
from itick_bot.protocol import decode_frame

T0 = 1_731_660_060_000  # 2024-11-15 08:41:00 UTC, the open of the documents' sample kline
MIN = 60_000
FIXED: list[Interval] = [iv for iv in INTERVALS if iv not in ("1w", "1M")]


def ms(*when: int) -> int:
    return calendar.timegm((*when, 0, 0, 0)[:6]) * 1000


def tick(ts: int, price: float = 100.0, size: float = 1.0, **kw: object) -> Tick:
    return Tick("BTCUSDT", price, size, ts, **kw)  # type: ignore[arg-type]


def kline(open_time: int, close: float, *, interval: Interval = "1m", received_ns: int = 0) -> Bar:
    return Bar("BTCUSDT", interval, open_time, 100.0, max(close, 100.0), min(close, 100.0), close,
               10.0, 1000.0, "BA", received_ns)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Hypothesis strategies of the bar store's own

epoch_ms = st.integers(0, 4_102_444_800_000)  # 1970 .. 2100
bar_prices = st.floats(1.0, 1e6, allow_nan=False, allow_infinity=False)
bar_sizes = st.floats(1e-6, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def trade_streams(draw: st.DrawFn, max_ticks: int = 60) -> list[Tick]:
    """Trades over a few minutes, mostly in time order with some arriving late (earlier `ts`)."""
    ts = T0 + draw(st.integers(0, MIN))
    out: list[Tick] = []
    for _ in range(draw(st.integers(1, max_ticks))):
        step = draw(st.one_of(st.integers(0, 20_000), st.integers(-3 * MIN, 0)))
        ts = max(T0, ts + step)
        out.append(tick(ts, draw(bar_prices), draw(bar_sizes), received_ns=len(out) + 1))
    return out


def feed(store: BarStore, ticks: list[Tick]) -> list[Bar]:
    closed: list[Bar] = []
    for t in ticks:
        closed.extend(store.on_tick(t))
    return closed


# ---------------------------------------------------------------------------------------------
# Bar boundaries


@given(epoch_ms, st.sampled_from(FIXED))
def test_fixed_intervals_align_on_multiples_of_their_length(t_ms: int, interval: Interval) -> None:
    open_time = align_open_time(t_ms, interval)
    assert open_time % INTERVAL_MS[interval] == 0
    assert open_time <= t_ms < next_open_time(open_time, interval)
    assert next_open_time(open_time, interval) - open_time == INTERVAL_MS[interval]


@given(epoch_ms)
def test_weeks_open_on_monday_midnight_utc(t_ms: int) -> None:
    week = align_open_time(t_ms, "1w")
    assert week <= t_ms < week + 7 * 86_400_000 == next_open_time(week, "1w")
    opened = datetime.fromtimestamp(week / 1000, tz=UTC)
    assert (opened.weekday(), opened.hour, opened.minute, opened.second) == (0, 0, 0, 0)


@given(epoch_ms)
def test_months_open_on_the_first_midnight_utc(t_ms: int) -> None:
    moment = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    month = align_open_time(t_ms, "1M")
    assert month == ms(moment.year, moment.month, 1)
    year, nxt = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    assert next_open_time(month, "1M") == ms(year, nxt, 1)
    assert next_open_time(t_ms, "1M") == ms(year, nxt, 1)


def test_month_boundaries_worked_examples() -> None:
    assert align_open_time(ms(2024, 2, 29, 23, 59) + 59_999, "1M") == ms(2024, 2, 1)
    assert next_open_time(ms(2024, 2, 1), "1M") == ms(2024, 3, 1)
    assert next_open_time(ms(2024, 12, 1), "1M") == ms(2025, 1, 1)
    assert align_open_time(ms(2025, 1, 1), "1M") == ms(2025, 1, 1)


def test_week_boundaries_worked_example() -> None:
    # Wednesday 2024-01-03 belongs to the week of Monday 2024-01-01; Sunday 01-07 too.
    assert align_open_time(ms(2024, 1, 3, 15), "1w") == ms(2024, 1, 1)
    assert align_open_time(ms(2024, 1, 7, 23, 59), "1w") == ms(2024, 1, 1)
    assert align_open_time(ms(2024, 1, 8), "1w") == ms(2024, 1, 8)


def test_an_unknown_interval_is_a_value_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'7m'.*1m, 5m"):
        align_open_time(T0, "7m")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Bars built from trades


def test_the_first_trade_opens_a_forming_bar_and_closes_nothing() -> None:
    store = BarStore(["1m"])
    assert store.on_tick(tick(T0 + 5_000, 101.0, 2.0)) == ()
    series = store.series("BTCUSDT", "1m")
    assert len(series) == 0
    assert series.forming == Bar("BTCUSDT", "1m", T0, 101.0, 101.0, 101.0, 101.0, 2.0, 202.0)


def test_trades_in_one_period_build_open_high_low_close_volume_turnover() -> None:
    store = BarStore(["1m"])
    for ts, price, size in [(1, 100.0, 1.0), (2, 103.0, 2.0), (3, 98.0, 1.0), (4, 101.0, 0.5)]:
        store.on_tick(tick(T0 + ts, price, size, received_ns=ts))
    assert store.series("BTCUSDT", "1m").forming == Bar(
        "BTCUSDT", "1m", T0, 100.0, 103.0, 98.0, 101.0, 4.5, 454.5, "", 4
    )


def test_a_trade_with_its_own_turnover_adds_that_turnover() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0, 100.0, 1.0, turnover=99.5))
    forming = store.series("BTCUSDT", "1m").forming
    assert forming is not None
    assert forming.turnover == 99.5


def test_a_trade_in_a_later_period_closes_the_forming_bar() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0 + 1, 100.0, region="BA", received_ns=1))
    store.on_tick(tick(T0 + 2, 105.0, region="BA", received_ns=2))
    closed = store.on_tick(tick(T0 + MIN, 104.0, region="BA", received_ns=3))
    assert closed == (Bar("BTCUSDT", "1m", T0, 100.0, 105.0, 100.0, 105.0, 2.0, 205.0, "BA", 3),)
    series = store.series("BTCUSDT", "1m")
    assert series.forming is not None
    assert series.forming.open_time == T0 + MIN
    assert store.bars_closed == 1


def test_periods_without_trades_get_no_bar() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0))
    closed = store.on_tick(tick(T0 + 5 * MIN + 1))
    assert [b.open_time for b in closed] == [T0]
    forming = store.series("BTCUSDT", "1m").forming
    assert forming is not None
    assert forming.open_time == T0 + 5 * MIN


def test_one_trade_feeds_every_tick_built_interval() -> None:
    store = BarStore(["1m", "5m", "1h"])
    store.on_tick(tick(T0 + 1, 100.0, 2.0))
    for interval in ("1m", "5m", "1h"):
        forming = store.series("BTCUSDT", interval).forming
        assert forming is not None
        assert (forming.open_time, forming.volume) == (align_open_time(T0 + 1, interval), 2.0)


def test_a_late_trade_is_counted_and_never_changes_a_closed_bar() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0, 100.0))
    (closed,) = store.on_tick(tick(T0 + MIN, 100.0))
    assert store.on_tick(tick(T0 + 30_000, 1.0, 50.0)) == ()
    series = store.series("BTCUSDT", "1m")
    assert store.late_ticks == 1
    assert series[-1] == msgspec.structs.replace(closed, received_ns=0)
    assert (series.low[-1], series.volume[-1]) == (100.0, 1.0)


def test_a_trade_older_than_the_forming_bar_is_late_even_in_a_gap() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0 + 3 * MIN))
    store.on_tick(tick(T0 + MIN, 1.0))  # its period never had a bar, and cannot now
    series = store.series("BTCUSDT", "1m")
    assert store.late_ticks == 1
    assert series.forming is not None
    assert (series.forming.open_time, series.forming.low) == (T0 + 3 * MIN, 100.0)


def test_trades_leave_kline_fed_intervals_alone() -> None:
    store = BarStore(["1m", "5m"], kline_intervals={"1m"})
    store.on_tick(tick(T0))
    assert store.series("BTCUSDT", "1m").forming is None
    assert store.series("BTCUSDT", "5m").forming is not None


# ---------------------------------------------------------------------------------------------
# Bars from server klines

FLAT = (
    '{"code":1,"data":{"s":"BTCUSDT","r":"BA","type":"kline@1","t":1731660060000,'
    '"o":3055.36,"h":3061.41,"l":3055.24,"c":3059.39,"v":28,"tu":157513}}'
)
NESTED = (
    '{"code":0,"msg":null,"data":{"s":"BTCUSDT$BA","t":1,"k":{"tu":157600,"c":3060.0,'
    '"t":1731660060000,"v":29,"h":3061.41,"l":3055.24,"o":3055.36}}}'
)


def decoded(frame: str, received_ns: int) -> Bar:
    event = decode_frame(frame, received_ns)
    assert isinstance(event, Bar), event
    return event


def test_kline_pushes_in_both_formats_update_the_forming_bar_newest_wins() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"})
    assert store.on_kline(decoded(FLAT, 1)) == ()
    assert store.on_kline(decoded(NESTED, 2)) == ()
    series = store.series("BTCUSDT", "1m")
    assert series.forming == Bar(
        "BTCUSDT", "1m", T0, 3055.36, 3061.41, 3055.24, 3060.0, 29.0, 157600.0, "BA", 2
    )
    assert len(series) == 0


def test_a_kline_with_a_later_open_time_closes_the_previous_bar() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"})
    store.on_kline(kline(T0, 101.0, received_ns=1))
    store.on_kline(kline(T0, 102.0, received_ns=2))
    closed = store.on_kline(kline(T0 + MIN, 103.0, received_ns=3))
    assert closed == (kline(T0, 102.0, received_ns=3),)
    assert store.series("BTCUSDT", "1m").forming == kline(T0 + MIN, 103.0, received_ns=3)


def test_a_kline_push_for_a_closed_bar_is_late_and_ignored() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"})
    store.on_kline(kline(T0, 101.0))
    store.on_kline(kline(T0 + MIN, 103.0))
    assert store.on_kline(kline(T0, 999.0)) == ()
    assert store.late_klines == 1
    assert store.series("BTCUSDT", "1m").close.tolist() == [101.0]


def test_klines_of_intervals_not_fed_by_klines_are_counted_as_unused() -> None:
    store = BarStore(["1m", "5m"], kline_intervals={"1m"})
    assert store.on_kline(kline(T0, 101.0, interval="5m")) == ()
    assert store.on_kline(kline(T0, 101.0, interval="1h")) == ()
    assert store.unused_klines == 2
    assert store.series("BTCUSDT", "5m").forming is None


def test_kline_intervals_outside_the_configured_ones_are_ignored() -> None:
    store = BarStore(["1m"], kline_intervals={"1m", "1h"})
    assert store.kline_intervals == ("1m",)
    assert store.tick_intervals == ()


# ---------------------------------------------------------------------------------------------
# Closing by the clock


def test_advance_closes_a_quiet_bar_after_its_period_and_grace_exactly_once() -> None:
    store = BarStore(["1m"], tick_close_grace_ms=500)
    store.on_tick(tick(T0 + 10, 100.0))
    assert store.advance(T0 + MIN + 499) == ()
    (closed,) = store.advance(T0 + MIN + 500)
    assert closed.open_time == T0
    assert store.advance(T0 + 10 * MIN) == ()
    assert store.series("BTCUSDT", "1m").forming is None
    assert store.bars_closed == 1


def test_kline_fed_bars_wait_for_the_kline_grace() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"}, kline_close_grace_ms=2000)
    store.on_kline(kline(T0, 101.0))
    assert store.advance(T0 + MIN + 1999) == ()
    assert len(store.advance(T0 + MIN + 2000)) == 1


def test_the_last_push_of_a_bar_closed_by_the_clock_is_late() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"}, kline_close_grace_ms=0)
    store.on_kline(kline(T0, 101.0))
    store.advance(T0 + MIN)
    assert store.on_kline(kline(T0, 102.0)) == ()
    assert store.late_klines == 1
    assert store.on_kline(kline(T0 + MIN, 103.0)) == ()  # the next bar opens; nothing to close
    assert store.series("BTCUSDT", "1m").close.tolist() == [101.0]


def test_a_trade_after_its_bar_closed_by_the_clock_is_late() -> None:
    store = BarStore(["1m"], tick_close_grace_ms=0)
    store.on_tick(tick(T0))
    store.advance(T0 + MIN)
    store.on_tick(tick(T0 + MIN - 1, 1.0))
    assert store.late_ticks == 1
    assert store.series("BTCUSDT", "1m").low.tolist() == [100.0]


def test_bars_closed_by_the_clock_carry_the_given_receive_time() -> None:
    store = BarStore(["1m"], tick_close_grace_ms=0)
    store.on_tick(tick(T0))
    (by_default,) = store.advance(T0 + MIN)
    store.on_tick(tick(T0 + MIN))
    (stamped,) = store.advance(T0 + 2 * MIN, received_ns=42)
    assert (by_default.received_ns, stamped.received_ns) == ((T0 + MIN) * 1_000_000, 42)


def test_a_month_bar_closes_at_the_end_of_its_calendar_month() -> None:
    store = BarStore(["1M"], tick_close_grace_ms=0)
    store.on_tick(tick(ms(2024, 2, 10)))
    assert store.advance(ms(2024, 3, 1) - 1) == ()
    (closed,) = store.advance(ms(2024, 3, 1))
    assert closed.open_time == ms(2024, 2, 1)


# ---------------------------------------------------------------------------------------------
# The series


def filled(n: int, history: int = 1000) -> BarSeries:
    store = BarStore(["1m"], history, kline_intervals={"1m"})
    for i in range(n + 1):  # the last push stays forming
        store.on_kline(kline(T0 + i * MIN, 100.0 + i))
    return store.series("BTCUSDT", "1m")


def test_columns_are_numpy_arrays_oldest_first() -> None:
    series = filled(3)
    assert series.open_time.dtype == np.int64
    assert series.open_time.tolist() == [T0, T0 + MIN, T0 + 2 * MIN]
    assert series.close.dtype == np.float64
    assert series.close.tolist() == [100.0, 101.0, 102.0]
    assert series.open.tolist() == [100.0] * 3
    assert series.high.tolist() == [100.0, 101.0, 102.0]
    assert series.low.tolist() == [100.0] * 3
    assert series.volume.tolist() == [10.0] * 3
    assert series.turnover.tolist() == [1000.0] * 3


def test_columns_are_copies_that_stay_put_when_bars_arrive() -> None:
    store = BarStore(["1m"], 2, kline_intervals={"1m"})
    for i in range(3):
        store.on_kline(kline(T0 + i * MIN, 100.0 + i))
    series = store.series("BTCUSDT", "1m")
    close = series.close
    store.on_kline(kline(T0 + 3 * MIN, 103.0))
    assert close.tolist() == [100.0, 101.0]
    assert series.close.tolist() == [101.0, 102.0]


def test_the_ring_keeps_the_newest_history_bars_in_order_after_wrapping() -> None:
    series = filled(25, history=10)
    assert len(series) == 10
    assert series.open_time.tolist() == [T0 + i * MIN for i in range(15, 25)]
    assert [bar.close for bar in series] == [100.0 + i for i in range(15, 25)]


def test_indexing_counts_from_the_oldest_and_from_the_newest() -> None:
    series = filled(40, history=30)
    assert series[0].open_time == T0 + 10 * MIN
    assert series[-1] == Bar("BTCUSDT", "1m", T0 + 39 * MIN, 100.0, 139.0, 100.0, 139.0,
                             10.0, 1000.0, "BA")  # fmt: skip
    assert series[np.int64(-2)].close == 138.0
    assert series.last == series[-1]


def test_slices_are_lists_of_bars() -> None:
    series = filled(20, history=8)
    assert [b.close for b in series[-3:]] == [117.0, 118.0, 119.0]
    assert series[::-4] == [series[-1], series[-5]]
    assert series[100:] == []


@pytest.mark.parametrize("index", [3, -4, 100])
def test_an_index_past_the_closed_bars_raises_index_error(index: int) -> None:
    with pytest.raises(IndexError, match="3 closed bars"):
        filled(3)[index]


def test_an_empty_series_has_no_last_no_forming_and_empty_columns() -> None:
    series = BarStore(["5m"]).series("ETHUSDT", "5m")
    assert (len(series), series.last, series.forming) == (0, None, None)
    assert series.close.shape == (0,)
    assert list(series) == []


def test_a_series_asked_for_before_its_symbol_trades_fills_when_it_does() -> None:
    store = BarStore(["1m"], tick_close_grace_ms=0)
    early = store.series("ETHUSDT", "1m")
    store.on_tick(Tick("ETHUSDT", 3000.0, 1.0, T0, region="BA"))
    store.advance(T0 + MIN)
    assert store.series("ETHUSDT", "1m") is early
    assert (len(early), early.region, early[0].region) == (1, "BA", "BA")


def test_an_interval_not_configured_is_a_key_error_naming_the_configured_ones() -> None:
    store = BarStore(["1m", "5m"])
    store.on_tick(tick(T0))
    for symbol in ("BTCUSDT", "NEVERSEEN"):
        with pytest.raises(KeyError, match=r"'1h' is not configured \(configured: '1m', '5m'\)"):
            store.series(symbol, "1h")


def test_the_series_knows_its_symbol_interval_and_history() -> None:
    series = BarStore(["15m"], 50).series("SOLUSDT", "15m")
    assert (series.symbol, series.interval, series.history) == ("SOLUSDT", "15m", 50)
    assert "SOLUSDT 15m: 0 closed of 50" in repr(series)


# ---------------------------------------------------------------------------------------------
# Configuration and backfill


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"intervals": ["7m"]}, "unknown bar interval '7m'"),
        ({"intervals": ["1m"], "history": 0}, "history must be at least 1"),
        ({"intervals": ["1m"], "kline_close_grace_ms": -1}, "kline_close_grace_ms"),
        ({"intervals": ["1m"], "tick_close_grace_ms": -5}, "tick_close_grace_ms"),
    ],
)
def test_a_bad_configuration_is_a_value_error_naming_the_value(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BarStore(**kwargs)  # type: ignore[arg-type]


def test_backfill_loads_closed_bars_and_live_data_continues_after_them() -> None:
    store = BarStore(["1m"], kline_intervals={"1m"})
    history = [kline(T0 + i * MIN, 100.0 + i) for i in range(3)]
    assert store.backfill(history) == 3
    assert store.on_kline(kline(T0 + 2 * MIN, 555.0)) == ()  # already a closed bar
    assert store.late_klines == 1
    store.on_kline(kline(T0 + 3 * MIN, 103.0))
    assert store.series("BTCUSDT", "1m").close.tolist() == [100.0, 101.0, 102.0]


def test_backfill_skips_duplicates_and_bars_overlapping_the_forming_one() -> None:
    store = BarStore(["1m"])
    store.on_tick(tick(T0 + 2 * MIN))
    bars = [kline(T0, 1.0), kline(T0, 2.0), kline(T0 + MIN, 3.0), kline(T0 + 2 * MIN, 4.0)]
    assert store.backfill(bars) == 2
    assert store.series("BTCUSDT", "1m").close.tolist() == [1.0, 3.0]


def test_counters_report_what_the_store_saw() -> None:
    store = BarStore(["1m"])
    feed(store, [tick(T0), tick(T0 + MIN), tick(T0)])
    store.on_kline(kline(T0, 1.0))
    assert store.counters() == {
        "bars_closed": 1, "late_ticks": 1, "late_klines": 0, "unused_klines": 1
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Properties over random trade streams


def reference(ticks: list[Tick], interval: Interval) -> dict[int, list[Tick]]:
    """The trades each bar should hold: a trade counts when its period is not before the newest
    period seen so far (otherwise it is late)."""
    bars: dict[int, list[Tick]] = {}
    newest = None
    for t in ticks:
        period = align_open_time(t.ts, interval)
        if newest is None or period >= newest:
            newest = period
            bars.setdefault(period, []).append(t)
    return bars


@settings(max_examples=150, deadline=None)
@given(trade_streams(), st.sampled_from(["1m", "5m"]))
def test_every_bar_closes_exactly_once_with_its_trades(
    ticks: list[Tick], interval: Interval
) -> None:
    store = BarStore([interval], history=10_000, tick_close_grace_ms=0)
    closed = [*feed(store, ticks), *store.advance(2**62)]
    expected = reference(ticks, interval)
    assert [b.open_time for b in closed] == sorted(expected)
    for bar in closed:
        trades = expected[bar.open_time]
        assert bar.open == trades[0].price
        assert bar.close == trades[-1].price
        assert bar.high == max(t.price for t in trades)
        assert bar.low == min(t.price for t in trades)
        assert bar.volume == pytest.approx(sum(t.size for t in trades), rel=1e-12)
    assert store.late_ticks == len(ticks) - sum(len(v) for v in expected.values())


@settings(max_examples=150, deadline=None)
@given(trade_streams(), st.integers(1, 8))
def test_closed_bars_are_ordered_consistent_and_the_ring_keeps_the_newest(
    ticks: list[Tick], history: int
) -> None:
    store = BarStore(["1m"], history=history, tick_close_grace_ms=0)
    closed = [*feed(store, ticks), *store.advance(2**62)]
    times = [b.open_time for b in closed]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in closed)
    newest = [msgspec.structs.replace(b, received_ns=0) for b in closed[-history:]]
    assert list(store.series("BTCUSDT", "1m")) == newest


@settings(max_examples=100, deadline=None)
@given(trade_streams(), st.lists(st.integers(0, 10 * MIN), max_size=10))
def test_late_trades_and_clock_closes_never_change_a_closed_bar(
    ticks: list[Tick], advances: list[int]
) -> None:
    store = BarStore(["1m"], tick_close_grace_ms=0)
    seen: dict[int, Bar] = {}
    stops = sorted(T0 + a for a in advances)
    for i, t in enumerate(ticks):
        closed = list(store.on_tick(t))
        if stops and i % 3 == 0:
            closed.extend(store.advance(max(stops.pop(0), t.ts)))
        for bar in closed:
            assert bar.open_time not in seen
            seen[bar.open_time] = bar
    series = store.series("BTCUSDT", "1m")
    for bar in series:
        assert bar.close == seen[bar.open_time].close
        assert bar.volume == seen[bar.open_time].volume
