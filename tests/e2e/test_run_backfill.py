"""`[bars] backfill` in `itick-bot run`: bars are warm before the strategy's first hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STRATEGY = """
from pathlib import Path
from itick_bot import Strategy

class Warm(Strategy):
    out: str = ""

    def on_start(self) -> None:
        Path(self.out).write_text(str(len(self.bars("BTCUSDT", "5m"))))
"""


def test_backfilled_bars_are_there_when_the_strategy_starts(tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    (tmp_path / "warm.py").write_text(STRATEGY)
    (tmp_path / "bot.toml").write_text(
        '[feed]\nurl = "sim"\nsymbols = ["BTCUSDT"]\n'
        '[bars]\nintervals = ["1m", "5m"]\nbackfill = 40\n'
        f'[broker]\nledger = "{tmp_path / "ledger.sqlite"}"\n'
        f'[strategy]\npath = "{tmp_path / "warm.py"}"\n[strategy.params]\nout = "{seen}"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", "run", "--config", str(tmp_path / "bot.toml"),
         "--duration", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "BTCUSDT 5m: loaded 40 bars" in result.stdout
    assert "BTCUSDT 1m: loaded 40 bars" in result.stdout
    assert seen.read_text() == "40"
