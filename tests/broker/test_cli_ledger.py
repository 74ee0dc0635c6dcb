"""`itick-bot ledger FILE`: a paper account without code."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from itick_bot.cli import main

from .conftest import Market

BIDS = [(64999.0, 0.5)]
ASKS = [(65000.0, 0.01), (65001.0, 0.02)]


@pytest.fixture
def traded(market: Market) -> Path:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.02, strategy="spread")
    market.wait(50)
    market.broker.sell("BTCUSDT", 0.01, 70000.0, strategy="spread")
    market.wait(50)
    return Path(market.path)


def test_the_summary_shows_balances_positions_fees_orders_and_fills(
    traded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", str(traded)]) == 0

    out = capsys.readouterr().out
    assert f"ledger {traded}" in out
    assert "seeded with BTC 0.1, ETH 1, USDT 10000" in out
    assert "USDT   8698.68999  8698.68999         0" in out  # 10000 - 1300.01 - 1.30001
    assert "BTC          0.12        0.11      0.01" in out
    assert "BTCUSDT  0.02    65000.5      -1.30001  1.30001" in out
    assert "fees paid: 1.30001 USDT" in out
    assert "orders: 2 (1 accepted, 1 filled)" in out
    assert "P2  BTCUSDT  sell  0.01  70000  GTC  accepted       0    spread" in out
    assert "spread" in out


def test_the_round_trips_of_the_ledger_are_reported_as_in_a_run(
    market: Market, capsys: pytest.CaptureFixture[str]
) -> None:
    market.depth(BIDS, ASKS)
    market.broker.buy("BTCUSDT", 0.01, strategy="spread")  # 0.01 @ 65000 and its fee
    market.wait(50)
    market.broker.sell("BTCUSDT", 0.01, strategy="spread")  # back to flat at 64999: a loss
    market.wait(50)

    assert main(["ledger", str(market.path)]) == 0
    assert "round trips: 1 closed, 0 open; win rate 0.0%" in capsys.readouterr().out
    assert main(["ledger", str(market.path), "--json"]) == 0
    trades = json.loads(capsys.readouterr().out)["performance"]
    assert trades["round_trips"] == 1
    assert trades["win_rate"] == 0.0
    assert trades["per_symbol"]["BTCUSDT"]["fills"] == 2
    # A ledger keeps no equity curve: no drawdown or exposure, and it says so rather than 0.
    assert trades["max_drawdown"] is None
    assert trades["not_measured"] == "a ledger keeps no equity curve"


def test_json_gives_exact_decimals_as_strings(
    traded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", str(traded), "--json"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert data["fees"] == {"USDT": "1.30001"}
    assert data["order_count"] == 2
    assert data["fill_count"] == 2
    assert [f["price"] for f in data["recent_fills"]] == ["65000", "65001"]
    assert data["recent_fills"][0]["audit"]["kind"] == "walk"


def test_a_missing_file_is_a_configuration_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", str(tmp_path / "nope.sqlite")]) == 2

    err = capsys.readouterr().err
    assert f"itick-bot ledger: error: no ledger at {tmp_path / 'nope.sqlite'}" in err


def test_a_file_that_is_not_a_ledger_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just words " * 50)

    assert main(["ledger", str(path)]) == 2
    assert "cannot be opened as a ledger" in capsys.readouterr().err


def test_an_sqlite_file_of_another_program_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()

    assert main(["ledger", str(path)]) == 2
    assert "not an itick-bot ledger" in capsys.readouterr().err


def test_the_command_reads_a_ledger_a_broker_holds_open(traded: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", "ledger", str(traded), "--fills", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "fills (newest 1 of 2)" in result.stdout


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ledger", "--help"])

    assert "itick-bot ledger paper.sqlite --json" in capsys.readouterr().out
