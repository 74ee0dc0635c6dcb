"""`itick_bot.metrics`: round trips, win rate, drawdown and exposure, to the exact number.

Prices, quantities and fees are chosen to be exact in binary floating point, so the expected
figures are exact too."""

from __future__ import annotations

from itick_bot.metrics import EquityPoint, RoundTrip, performance, round_trips
from itick_bot.model import Fill

S = 1_000_000_000


def fill(symbol: str, side: str, qty: float, price: float, fee: float, at_s: int) -> Fill:
    return Fill(
        order_id=f"P{at_s}", symbol=symbol, side=side, price=price, qty=qty, fee=fee,  # type: ignore[arg-type]
        fee_asset="USDT", liquidity="taker", ts=at_s * 1000, strategy="s", received_ns=at_s * S,
    )  # fmt: skip


LONG = [  # two buys averaging 105, one sell of both at 120: 2 * 15 - 2 in fees
    fill("AAA", "buy", 1.0, 100.0, 0.5, 1),
    fill("AAA", "buy", 1.0, 110.0, 0.5, 2),
    fill("AAA", "sell", 2.0, 120.0, 1.0, 3),
]
SHORT = [  # sold at 50, bought back at 40: 2 * 10 - 0.5 in fees
    fill("BBB", "sell", 2.0, 50.0, 0.25, 4),
    fill("BBB", "buy", 2.0, 40.0, 0.25, 5),
]
FLIP = [  # long 1 at 100; selling 3 at 90 closes it (-10 - 0.75) and opens a short of 2 at 90
    fill("CCC", "buy", 1.0, 100.0, 0.0, 6),
    fill("CCC", "sell", 3.0, 90.0, 0.75, 7),
    fill("CCC", "buy", 2.0, 80.0, 0.5, 8),  # the short closes: 2 * 10 - 0.5
]
OPEN = [fill("DDD", "buy", 0.5, 200.0, 0.125, 9)]


def test_a_long_round_trip_averages_its_entries_and_nets_its_fees() -> None:
    assert round_trips(LONG) == [RoundTrip("AAA", "long", 1 * S, 3 * S, 28.0, 3)]


def test_a_short_round_trip_gains_when_bought_back_lower() -> None:
    assert round_trips(SHORT) == [RoundTrip("BBB", "short", 4 * S, 5 * S, 19.5, 2)]


def test_a_flip_through_flat_closes_one_trip_and_opens_the_next_at_the_flip_price() -> None:
    assert round_trips(FLIP) == [
        RoundTrip("CCC", "long", 6 * S, 7 * S, -10.75, 2),
        RoundTrip("CCC", "short", 7 * S, 8 * S, 19.5, 2),
    ]


def test_a_partial_close_keeps_the_trip_open_until_flat() -> None:
    fills = [
        fill("AAA", "buy", 2.0, 100.0, 0.0, 1),
        fill("AAA", "sell", 1.0, 110.0, 0.0, 2),
    ]

    assert round_trips(fills) == [RoundTrip("AAA", "long", 1 * S, None, 10.0, 2)]
    assert round_trips([*fills, fill("AAA", "sell", 1.0, 90.0, 0.0, 3)]) == [
        RoundTrip("AAA", "long", 1 * S, 3 * S, 0.0, 3)
    ]


def test_an_open_trip_is_listed_after_the_closed_ones_with_its_fees_so_far() -> None:
    trips = round_trips([*OPEN, *LONG])

    assert trips == [
        RoundTrip("AAA", "long", 1 * S, 3 * S, 28.0, 3),
        RoundTrip("DDD", "long", 9 * S, None, -0.125, 1),
    ]


def test_quantities_that_sum_inexactly_still_close_the_trip() -> None:
    fills = [
        fill("AAA", "buy", 0.1, 100.0, 0.0, 1),
        fill("AAA", "buy", 0.2, 100.0, 0.0, 2),
        fill("AAA", "sell", 0.3, 100.0, 0.0, 3),  # 0.1 + 0.2 - 0.3 is 5.6e-17, not 0
    ]

    [trip] = round_trips(fills)

    assert trip.closed_ns == 3 * S


CURVE = [
    EquityPoint(0 * S, 100.0, 0.0),
    EquityPoint(10 * S, 120.0, 50.0),  # the peak; a position is open from here ...
    EquityPoint(20 * S, 90.0, 50.0),  # 30 below the peak
    EquityPoint(30 * S, 110.0, 0.0),  # ... to here: exposed 20 s of 40
    EquityPoint(40 * S, 80.0, 0.0),  # 40 below the peak: the max drawdown, 1/3 of it
]


def test_performance_counts_trips_and_wins_over_closed_trips_only() -> None:
    perf = performance([*LONG, *SHORT, *FLIP, *OPEN], CURVE)

    assert perf["fills"] == 9
    assert perf["round_trips"] == 4
    assert perf["open_trips"] == 1
    assert perf["win_rate"] == 0.75  # 28, 19.5, -10.75, 19.5


def test_max_drawdown_is_the_largest_fall_from_a_running_peak() -> None:
    perf = performance([], CURVE)

    assert perf["max_drawdown"] == 40.0
    assert perf["max_drawdown_pct"] == 33.3333
    assert perf["start_equity"] == 100.0
    assert perf["end_equity"] == 80.0


def test_exposure_is_the_share_of_time_with_a_position_open() -> None:
    assert performance([], CURVE)["exposure_time_pct"] == 50.0


def test_per_symbol_figures_sum_that_symbols_fills_and_closed_trips() -> None:
    per_symbol = performance([*LONG, *FLIP, *OPEN], CURVE)["per_symbol"]

    assert per_symbol == {
        "AAA": {"fills": 3, "volume": 450.0, "fees": 2.0, "round_trips": 1, "pnl": 28.0},
        "CCC": {"fills": 3, "volume": 530.0, "fees": 1.25, "round_trips": 2, "pnl": 8.75},
        "DDD": {"fills": 1, "volume": 100.0, "fees": 0.125, "round_trips": 0, "pnl": 0.0},
    }


def test_no_trades_and_a_one_point_curve_give_empty_figures_not_errors() -> None:
    perf = performance([], [EquityPoint(0, 100.0, 5.0)])

    assert perf["win_rate"] is None
    assert perf["max_drawdown"] == 0.0
    assert perf["exposure_time_pct"] == 0.0
    assert perf["not_measured"] is None
    assert perf["per_symbol"] == {}


def test_with_no_equity_curve_drawdown_and_exposure_are_not_measured_and_say_why() -> None:
    perf = performance([], [], no_curve="no price for ETH")

    assert perf["win_rate"] is None
    # None, not 0: a run whose account could not be marked did not show that it risked nothing.
    assert perf["max_drawdown"] is None
    assert perf["max_drawdown_pct"] is None
    assert perf["exposure_time_pct"] is None
    assert perf["not_measured"] == "no price for ETH"
    assert perf["per_symbol"] == {}
