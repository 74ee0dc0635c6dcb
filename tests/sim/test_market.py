"""The market model as plain function calls: seeded, sane books, trades at and through the best
levels, rolling quotes, and bars aligned to their periods."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from itick_bot.model import INTERVAL_MS, KLINE_PERIODS
from itick_bot.sim import DEPTH_LEVELS, MarketUpdate, SymbolMarket, bar_open_time

START = 1_731_660_000_000  # 2024-11-15 08:40 UTC


def run(
    symbol: str = "BTCUSDT", seed: int = 1, steps: int = 500, step_ms: int = 100
) -> list[MarketUpdate]:
    market = SymbolMarket(symbol, seed, START)
    return [market.step(START + i * step_ms) for i in range(steps)]


def test_the_same_seed_gives_the_same_market() -> None:
    assert run(seed=7) == run(seed=7)


def test_another_seed_or_symbol_gives_another_market() -> None:
    assert run(seed=7) != run(seed=8)
    assert [u.bids for u in run("ETHUSDT")] != [u.bids for u in run("SOLUSDT")]


def test_every_book_has_five_levels_per_side_uncrossed_and_ordered() -> None:
    for update in run(steps=2000):
        assert len(update.bids) == len(update.asks) == DEPTH_LEVELS
        assert update.bids[0][0] < update.asks[0][0]
        bid_prices = [p for p, _ in update.bids]
        ask_prices = [p for p, _ in update.asks]
        assert bid_prices == sorted(set(bid_prices), reverse=True)
        assert ask_prices == sorted(set(ask_prices))
        assert all(size > 0 for _, size in update.bids + update.asks)


def test_prices_sit_on_the_tick_grid() -> None:
    market = SymbolMarket("ETHUSDT", 3, START)
    for i in range(200):
        update = market.step(START + i * 100)
        for price, _ in update.bids + update.asks:
            assert abs(price / market.tick_size - round(price / market.tick_size)) < 1e-6


def test_trades_hit_the_best_level_and_sometimes_go_through_it() -> None:
    updates = run(steps=3000)
    at_best = through = 0
    for before, after in itertools.pairwise(updates):
        best_bid, best_ask = before.bids[0][0], before.asks[0][0]
        for price, size in after.trades:
            assert size > 0
            # Every trade is at a price of the book the clients last saw.
            assert price in {p for p, _ in before.bids + before.asks}
            if price in (best_bid, best_ask):
                at_best += 1
            else:
                through += 1
    assert at_best > 100
    assert through > 20


def test_a_trade_through_the_best_level_follows_one_that_emptied_the_level_before() -> None:
    updates = run(steps=3000)
    for before, after in itertools.pairwise(updates):
        for side in (before.bids, before.asks):
            prices = [p for p, _ in side]
            for i, (price, _) in enumerate(after.trades):
                if price in prices[1:]:
                    level = prices.index(price)
                    assert i > 0
                    assert after.trades[i - 1] == side[level - 1]


def test_the_quote_rolls_volume_and_the_day_range() -> None:
    updates = run(steps=1000)
    total = sum(size for u in updates for _, size in u.trades)
    last = updates[-1]
    assert abs(last.volume24 - total) < 1e-6 * max(total, 1)
    assert last.low24 <= last.last <= last.high24
    assert last.open24 == updates[0].last


def test_bars_open_on_their_period_and_roll_over() -> None:
    updates = run(steps=1500, step_ms=1000)  # 25 minutes of market time
    opens = sorted({u.bars[1][0] for u in updates})
    assert all(t % 60_000 == 0 for t in opens)
    assert len(opens) >= 25
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens))
    for update in updates:
        for period, (open_time, o, h, low, c, v, tu) in update.bars.items():
            assert open_time == bar_open_time(period, update.ts)
            assert low <= min(o, c) <= max(o, c) <= h
            assert v >= 0
            assert tu >= 0


def test_a_bar_sums_the_trades_inside_it() -> None:
    updates = run(steps=600, step_ms=1000)
    current = updates[-1].bars[1][0]
    inside = [u for u in updates if u.bars[1][0] == current]
    volume = sum(size for u in inside for _, size in u.trades)
    assert abs(updates[-1].bars[1][5] - volume) < 1e-6 * max(volume, 1)


@given(st.integers(0, 4_102_444_800_000), st.sampled_from(range(1, 9)))
def test_bar_open_time_contains_the_time_and_is_aligned(t_ms: int, period: int) -> None:
    length = INTERVAL_MS[KLINE_PERIODS[period]]
    open_time = bar_open_time(period, t_ms)
    assert open_time % length == 0
    assert open_time <= t_ms < open_time + length


@given(st.integers(0, 4_102_444_800_000))
def test_weekly_bars_open_on_monday_and_monthly_bars_on_the_first(t_ms: int) -> None:
    week = bar_open_time(9, t_ms)
    assert week <= t_ms < week + 7 * 86_400_000
    assert datetime.fromtimestamp(week / 1000, tz=UTC).weekday() == 0
    assert week % 86_400_000 == 0
    month = bar_open_time(10, t_ms)
    when = datetime.fromtimestamp(month / 1000, tz=UTC)
    assert (when.day, when.hour, when.minute) == (1, 0, 0)
    moment = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    assert (when.year, when.month) == (moment.year, moment.month)
    assert month == calendar.timegm((moment.year, moment.month, 1, 0, 0, 0)) * 1000


def test_unknown_symbols_get_a_plausible_seeded_price() -> None:
    a = SymbolMarket("FOOBARUSDT", 1, START).step(START)
    b = SymbolMarket("FOOBARUSDT", 1, START).step(START)
    assert a == b
    assert 0.01 < a.bids[0][0] < 10_000
