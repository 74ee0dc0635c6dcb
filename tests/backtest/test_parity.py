"""Parity: a live paper run recorded with `record=` and a backtest of that recording make the
same orders and fills, row for row (issue 5; DESIGN.md section 4)."""

from __future__ import annotations

import io
from pathlib import Path

from itick_bot.app import run_bot
from itick_bot.backtest import run_backtest

from ._support import ledger_rows, make_config, spread


async def test_a_recorded_paper_run_backtests_to_the_same_orders_and_fills(
    tmp_path: Path,
) -> None:
    live_ledger, replay_ledger = tmp_path / "live.sqlite", tmp_path / "replay.sqlite"
    recording = tmp_path / "live.itrec.gz"
    config = make_config(live_ledger)

    live = await run_bot(
        config, spread(config), duration=4.0, environ={}, out=io.StringIO(), record=recording
    )
    replay = await run_backtest(
        config, spread(config), [recording], ledger=replay_ledger, progress=None
    )

    live_fills = ledger_rows(live_ledger, "fills")
    assert len(live_fills) >= 2, "the run made too few fills to prove anything"
    assert ledger_rows(replay_ledger, "fills") == live_fills
    assert ledger_rows(replay_ledger, "orders") == ledger_rows(live_ledger, "orders")
    [live_spread] = live.report["strategies"]
    [replay_spread] = replay.report["strategies"]
    assert replay_spread["state"] == live_spread["state"] == "stopped"
    assert replay_spread["realized_pnl"] == live_spread["realized_pnl"]
    # The premise of parity: nothing was conflated, in the engine's inbox or the strategy's.
    assert live.report["feed"]["conflated"] == 0
    assert live_spread["conflated"] == 0
