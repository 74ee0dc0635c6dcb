"""The run report: why the run stopped, and drawdown and exposure said to be unmeasured (with the
reason) rather than read as 0 when the account holds an asset the feed never priced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from itick_bot.errors import ConfigError
from itick_bot.report import build_run_report, render_report, write_equity_png

from .engine._support import Bench, at, depth

FEED: dict[str, Any] = {
    "frames_total": 0, "frames": {}, "malformed": {}, "connects": 1, "reconnects": 0,
    "drops": {}, "conflated": 0, "subscribe_refused": [],
}  # fmt: skip


@pytest.fixture
def make_bench() -> Iterator[Callable[[dict[str, float]], Bench]]:
    """Benches whose account is seeded with the given balances (their ledgers closed after)."""
    made: list[Bench] = []

    def make(balances: dict[str, float]) -> Bench:
        bench = Bench(broker={"balances": balances})
        made.append(bench)
        return bench

    yield make
    for bench in made:
        bench.close()


async def report_after_btc_depths(bench: Bench, **stop: str) -> dict[str, Any]:
    """The report of a few seconds of BTCUSDT books (and nothing else priced)."""
    for ms in range(0, 5000, 500):
        await bench.feed(depth(ms, bids=((100.0 - ms / 1000, 1.0),), asks=((101.0, 1.0),)))
    return build_run_report(
        engine=bench.engine, broker=bench.broker, feed=FEED, started_ns=at(0),
        ended_ns=at(5000), target="test", sources={}, **stop,
    )  # fmt: skip


async def test_an_asset_the_feed_never_prices_leaves_drawdown_and_exposure_unmeasured(
    make_bench: Callable[[dict[str, float]], Bench],
) -> None:
    bench = make_bench({"USDT": 1000.0, "BTC": 0.1, "ETH": 1.0})  # ETH: no ETHUSDT in the feed

    report = await report_after_btc_depths(bench)

    perf = report["performance"]
    assert perf["max_drawdown"] is None
    assert perf["max_drawdown_pct"] is None
    assert perf["exposure_time_pct"] is None
    assert perf["not_measured"] == (
        "no price for ETH held in the account (no ETHUSDT book or quote was seen): subscribe "
        "(or record) ETHUSDT, or start a ledger without ETH ([broker] balances)"
    )
    assert report["account"]["equity_usdt"] is None
    text = render_report(report)
    assert f"  max drawdown      not measured, nor exposure: {perf['not_measured']}" in text
    assert "  equity            not measured (see max drawdown)" in text


async def test_with_every_asset_priced_drawdown_and_exposure_are_measured(
    make_bench: Callable[[dict[str, float]], Bench],
) -> None:
    bench = make_bench({"USDT": 1000.0, "BTC": 0.1})

    report = await report_after_btc_depths(bench)

    perf = report["performance"]
    assert perf["not_measured"] is None
    # Sampled every second from the first book on: the mid fell from 100.25 to 98.25.
    assert perf["max_drawdown"] == pytest.approx(0.1 * 2.0)
    assert perf["exposure_time_pct"] == 0.0  # holding BTC is not a position
    assert report["account"]["equity_usdt"] is not None
    assert "  max drawdown      0.2000 (" in render_report(report)


async def test_the_report_says_why_the_run_stopped(
    make_bench: Callable[[dict[str, float]], Bench],
) -> None:
    bench = make_bench({"USDT": 1000.0})

    report = await report_after_btc_depths(
        bench, stopped="duration", stop_reason="--duration 5 s elapsed"
    )

    assert (report["stopped"], report["stop_reason"]) == ("duration", "--duration 5 s elapsed")
    assert render_report(report).splitlines()[2] == "stopped: --duration 5 s elapsed"


async def test_a_report_not_told_why_ended_with_its_data_as_a_backtest_does(
    make_bench: Callable[[dict[str, float]], Bench],
) -> None:
    report = await report_after_btc_depths(make_bench({"USDT": 1000.0}))

    assert (report["stopped"], report["stop_reason"]) == ("end_of_data", "the end of the data")


def test_an_empty_equity_curve_cannot_be_plotted_and_the_error_says_why(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ConfigError, match=r"^no equity curve to plot: no price for ETH$"):
        write_equity_png([], tmp_path / "equity.png", "test", why_empty="no price for ETH")
