"""The order book kept from iTick's full depth snapshots."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings

from itick_bot.book import OrderBook, RejectReason
from itick_bot.model import Depth, Level

from .strategies import bad_depths, depths, snapshot_sequences

BIDS: tuple[Level, ...] = ((100.0, 2.0), (99.0, 3.0), (98.0, 5.0))
ASKS: tuple[Level, ...] = ((101.0, 1.0), (102.0, 4.0), (103.0, 6.0))


def snapshot(
    bids: tuple[Level, ...] = BIDS, asks: tuple[Level, ...] = ASKS, ts: int = 1_000
) -> Depth:
    return Depth("BTCUSDT", bids, asks, ts, received_ns=ts * 1_000_000)


def book_of(depth: Depth | None = None) -> OrderBook:
    book = OrderBook("BTCUSDT")
    assert book.apply(depth or snapshot())
    return book


# -- a fresh book ------------------------------------------------------------------------------


def test_a_new_book_is_empty_and_unreliable() -> None:
    book = OrderBook("BTCUSDT")
    assert (book.bids, book.asks) == ((), ())
    assert book.best_bid is None
    assert book.best_ask is None
    assert book.ts is None
    assert book.reliable is False
    assert book.unreliable_reason == "no snapshot yet"


def test_an_empty_book_has_no_prices() -> None:
    book = OrderBook("BTCUSDT")
    assert book.mid is None
    assert book.spread is None
    assert book.spread_bps is None
    assert book.microprice is None
    assert book.imbalance() is None
    assert book.size_within("bid", 100) == 0.0


def test_a_one_sided_book_has_a_best_level_but_no_mid() -> None:
    book = book_of(snapshot(asks=()))
    assert book.best_bid == (100.0, 2.0)
    assert book.best_ask is None
    assert book.mid is None
    assert book.spread is None


# -- a good snapshot ---------------------------------------------------------------------------


def test_a_good_snapshot_replaces_the_book_and_makes_it_reliable() -> None:
    book = OrderBook("BTCUSDT")
    assert book.apply(snapshot(ts=42)) is True
    assert book.bids == BIDS
    assert book.asks == ASKS
    assert book.reliable is True
    assert book.unreliable_reason == ""
    assert book.ts == 42
    assert book.received_ns == 42_000_000
    assert book.updates == 1


def test_a_snapshot_replaces_every_level_of_the_last() -> None:
    book = book_of()
    book.apply(snapshot(bids=((50.0, 1.0),), asks=((51.0, 1.0),), ts=2_000))
    assert book.bids == ((50.0, 1.0),)
    assert book.asks == ((51.0, 1.0),)
    assert book.ts == 2_000
    assert book.updates == 2


def test_best_bid_and_ask_are_the_first_levels() -> None:
    book = book_of()
    assert book.best_bid == (100.0, 2.0)
    assert book.best_ask == (101.0, 1.0)


def test_mid_is_halfway_between_the_best_prices() -> None:
    assert book_of().mid == 100.5


def test_spread_is_best_ask_minus_best_bid() -> None:
    assert book_of().spread == 1.0


def test_spread_bps_is_the_spread_over_the_mid_in_basis_points() -> None:
    assert book_of().spread_bps == pytest.approx(1.0 / 100.5 * 10_000)


def test_microprice_leans_toward_the_thinner_side() -> None:
    # bid 100 x 2, ask 101 x 1: the ask is thinner, so the microprice sits nearer the ask.
    book = book_of()
    assert book.microprice == pytest.approx((100.0 * 1.0 + 101.0 * 2.0) / 3.0)
    assert book.mid is not None
    assert book.microprice is not None
    assert book.microprice > book.mid


def test_imbalance_of_the_top_level() -> None:
    assert book_of().imbalance() == pytest.approx((2.0 - 1.0) / (2.0 + 1.0))


def test_imbalance_over_several_levels() -> None:
    # bids 2 + 3 = 5, asks 1 + 4 = 5
    assert book_of().imbalance(2) == 0.0
    assert book_of().imbalance(3) == pytest.approx((10.0 - 11.0) / 21.0)


def test_imbalance_over_more_levels_than_the_book_has_uses_them_all() -> None:
    assert book_of().imbalance(50) == book_of().imbalance(3)


@pytest.mark.parametrize("levels", [0, -1])
def test_imbalance_needs_at_least_one_level(levels: int) -> None:
    with pytest.raises(ValueError, match="levels"):
        book_of().imbalance(levels)


def test_size_within_counts_bid_levels_inside_the_band_below_the_mid() -> None:
    # mid 100.5: 100 bps below it is 99.495, which takes in 100 but not 99.
    book = book_of()
    assert book.size_within("bid", 100) == 2.0
    assert book.size_within("bid", 200) == 2.0 + 3.0  # floor 98.49
    assert book.size_within("bid", 1_000) == 10.0


def test_size_within_counts_ask_levels_inside_the_band_above_the_mid() -> None:
    book = book_of()
    assert book.size_within("ask", 100) == 1.0  # ceiling 101.505
    assert book.size_within("ask", 200) == 5.0  # ceiling 102.51
    assert book.size_within("ask", 0) == 0.0


def test_levels_gives_each_side_best_first() -> None:
    book = book_of()
    assert book.levels("bid") == BIDS
    assert book.levels("ask") == ASKS


def test_repr_names_symbol_top_of_book_and_reliability() -> None:
    assert repr(book_of()) == (
        "OrderBook(BTCUSDT, bid=(100.0, 2.0), ask=(101.0, 1.0), reliable=True)"
    )


# -- bad snapshots -----------------------------------------------------------------------------

BAD = {
    "crossed": snapshot(bids=((102.0, 1.0),), asks=((101.0, 1.0),)),
    "locked": snapshot(bids=((101.0, 1.0),), asks=((101.0, 1.0),)),
    "bids rising": snapshot(bids=((99.0, 1.0), (100.0, 1.0))),
    "asks falling": snapshot(asks=((102.0, 1.0), (101.0, 1.0))),
    "repeated bid price": snapshot(bids=((100.0, 1.0), (100.0, 1.0))),
    "zero price": snapshot(bids=((0.0, 1.0),)),
    "negative size": snapshot(asks=((101.0, -1.0),)),
    "zero size": snapshot(asks=((101.0, 0.0),)),
    "nan price": snapshot(bids=((math.nan, 1.0),)),
    "nan size": snapshot(asks=((101.0, math.nan),)),
    "infinite ask": snapshot(asks=((101.0, 1.0), (math.inf, 1.0))),
}
REASON = {
    "crossed": "crossed",
    "locked": "crossed",
    "bids rising": "unordered",
    "asks falling": "unordered",
    "repeated bid price": "unordered",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_snapshot_is_counted_by_reason(case: str) -> None:
    book = OrderBook("BTCUSDT")
    assert book.apply(BAD[case]) is False
    assert book.rejected == {REASON.get(case, "bad_level"): 1}
    assert book.rejected_total == 1


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_snapshot_keeps_the_last_good_book(case: str) -> None:
    book = book_of(snapshot(ts=7))
    book.apply(BAD[case])
    assert book.bids == BIDS
    assert book.asks == ASKS
    assert book.ts == 7
    assert book.updates == 1


def test_a_bad_snapshot_makes_the_book_unreliable_and_says_why() -> None:
    book = book_of()
    book.apply(BAD["crossed"])
    assert book.reliable is False
    assert book.unreliable_reason == "last snapshot was crossed"
    book.apply(BAD["zero size"])
    assert book.unreliable_reason == "last snapshot was bad level"


def test_the_next_good_snapshot_makes_the_book_reliable_again() -> None:
    book = book_of()
    book.apply(BAD["locked"])
    assert book.apply(snapshot(ts=9))
    assert book.reliable is True
    assert book.unreliable_reason == ""
    assert book.rejected_total == 1


def test_rejections_accumulate_per_reason() -> None:
    book = OrderBook("BTCUSDT")
    for case in ("crossed", "locked", "bids rising", "zero price", "nan size"):
        book.apply(BAD[case])
    assert book.rejected == {"crossed": 2, "unordered": 1, "bad_level": 2}
    assert book.rejected_total == 5


def test_mark_unreliable_keeps_the_levels_and_records_the_reason() -> None:
    book = book_of()
    book.mark_unreliable("feed stale")
    assert book.reliable is False
    assert book.unreliable_reason == "feed stale"
    assert book.bids == BIDS
    assert book.rejected_total == 0


def test_a_good_snapshot_after_mark_unreliable_restores_trust() -> None:
    book = book_of()
    book.mark_unreliable("feed stale")
    book.apply(snapshot())
    assert book.reliable is True


# -- invariants --------------------------------------------------------------------------------


@given(depths())
def test_any_good_snapshot_is_taken_as_is(depth: Depth) -> None:
    book = OrderBook("BTCUSDT")
    assert book.apply(depth)
    assert (book.bids, book.asks) == (depth.bids, depth.asks)


@given(bad_depths())
def test_any_bad_snapshot_is_rejected_under_its_reason(case: tuple[Depth, RejectReason]) -> None:
    depth, reason = case
    book = OrderBook("BTCUSDT")
    assert not book.apply(depth)
    assert book.rejected == {reason: 1}


@settings(max_examples=150)
@given(snapshot_sequences)
def test_invariants_hold_after_any_sequence_of_snapshots(
    sequence: list[tuple[Depth, RejectReason | None]],
) -> None:
    book = OrderBook("BTCUSDT")
    for depth, expected_reason in sequence:
        before = book.rejected.copy()
        accepted = book.apply(depth)
        assert accepted is (expected_reason is None)
        if expected_reason is not None:
            assert book.rejected[expected_reason] == before.get(expected_reason, 0) + 1
        # never crossed or locked
        if book.bids and book.asks:
            assert book.bids[0][0] < book.asks[0][0]
        # bids strictly falling, asks strictly rising
        assert all(a[0] > b[0] for a, b in zip(book.bids, book.bids[1:], strict=False))
        assert all(a[0] < b[0] for a, b in zip(book.asks, book.asks[1:], strict=False))
        # every level positive and finite
        assert all(0 < p < math.inf and 0 < s < math.inf for p, s in book.bids + book.asks)
        # reliable exactly when the last snapshot was good
        assert book.reliable is accepted
    assert book.updates + book.rejected_total == len(sequence)
    good = [d for d, reason in sequence if reason is None]
    if good:
        assert (book.bids, book.asks) == (good[-1].bids, good[-1].asks)
    else:
        assert (book.bids, book.asks) == ((), ())
