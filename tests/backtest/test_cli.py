"""`itick-bot backtest` as a user runs it: a real process, a recording, a fresh ledger."""

from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from ._support import BALANCES, SPREAD, SPREAD_PARAMS, ledger_rows, write_recording

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def itick_bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=cwd,
        env=dict(os.environ),
        check=False,
    )


@attrs.frozen
class Folder:
    path: Path
    config: Path
    recording: Path

    def backtest(self, *args: str, target: str = str(SPREAD)) -> subprocess.CompletedProcess[str]:
        return itick_bot(
            "backtest", target, "--config", str(self.config), "--data", str(self.recording),
            *args, cwd=self.path,
        )  # fmt: skip


def toml_value(value: Any) -> str:
    return json.dumps(value)  # strings, numbers: TOML and JSON agree


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    path = tmp_path_factory.mktemp("cli")
    recording, _ = write_recording(path / "btc.itrec.gz", steps=300)
    params = "\n".join(f"{k} = {toml_value(v)}" for k, v in SPREAD_PARAMS.items())
    balances = ", ".join(f"{k} = {v}" for k, v in BALANCES.items())
    config = path / "bot.toml"
    config.write_text(
        '[feed]\nurl = "sim"\nsymbols = ["BTCUSDT"]\ntypes = ["quote", "depth", "tick"]\n'
        '[log]\nlevel = "warning"\n'
        f"[strategy.params]\n{params}\n"
        f"[broker]\nbalances = {{ {balances} }}\n",
        encoding="utf-8",
    )
    return Folder(path, config, recording)


@attrs.frozen
class FullRun:
    result: subprocess.CompletedProcess[str]
    ledger: Path
    csv: Path
    png: Path


@pytest.fixture(scope="module")
def full_run(folder: Folder) -> FullRun:
    """One backtest with every output: --json, --fills-csv and --plot."""
    ledger, fills, png = (folder.path / n for n in ("full.sqlite", "fills.csv", "equity.png"))
    result = folder.backtest(
        "--ledger", str(ledger), "--json", "--fills-csv", str(fills), "--plot", str(png)
    )
    return FullRun(result, ledger, fills, png)


def test_the_text_report_names_the_recording_the_strategy_and_the_ledger(folder: Folder) -> None:
    ledger = folder.path / "text.sqlite"

    result = folder.backtest("--ledger", str(ledger))

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"run report (30.1 s, recording {folder.recording})" in out
    assert f"strategy Spread ({SPREAD}): stopped" in out
    fills = len(ledger_rows(ledger, "fills"))
    assert fills > 0
    assert f"  fills             {fills}, volume " in out
    assert out.rstrip().endswith(f"ledger: {ledger}")


def test_json_prints_the_report_agreeing_with_the_ledger(full_run: FullRun) -> None:
    assert full_run.result.returncode == 0, full_run.result.stderr

    report = json.loads(full_run.result.stdout)

    [strategy] = report["strategies"]
    assert strategy["fills"] == len(ledger_rows(full_run.ledger, "fills")) > 0
    assert strategy["orders"] == len(ledger_rows(full_run.ledger, "orders"))
    assert report["feed"]["frames"]["depth"] == 300
    assert report["feed"]["skipped"] == {}
    assert report["account"]["ledger"] == str(full_run.ledger)


def test_fills_csv_has_one_row_per_ledger_fill_with_the_same_values(full_run: FullRun) -> None:
    assert full_run.result.returncode == 0, full_run.result.stderr

    with full_run.csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    fills = ledger_rows(full_run.ledger, "fills")
    assert len(rows) == len(fills) > 0
    for row, fill in zip(rows, fills, strict=True):
        _, order_id, symbol, side, price, qty, fee, fee_asset, liquidity, ts, strategy = fill[:11]
        assert (row["order_id"], row["symbol"], row["side"]) == (order_id, symbol, side)
        assert (row["fee_asset"], row["liquidity"], row["strategy"]) == (
            fee_asset, liquidity, strategy,
        )  # fmt: skip
        assert int(row["ts_ms"]) == ts
        assert float(row["price"]) == float(price)
        assert float(row["qty"]) == float(qty)
        assert float(row["fee"]) == pytest.approx(float(fee), abs=1e-12)
        assert row["time_utc"].endswith(f".{ts % 1000:03d}Z")


def test_plot_writes_an_equity_png_drawn_by_matplotlib(full_run: FullRun) -> None:
    assert full_run.result.returncode == 0, full_run.result.stderr

    data = full_run.png.read_bytes()

    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1000, 600)  # figsize 10 x 6 inches at 100 dpi
    assert len(data) > 20_000  # two panels with axes, lines and labels, not a blank image
    assert b"Software\x00Matplotlib" in data  # matplotlib's tEXt chunk


def test_an_existing_ledger_is_refused_with_exit_2(folder: Folder) -> None:
    ledger = folder.path / "exists.sqlite"
    ledger.write_bytes(b"keep me")

    result = folder.backtest("--ledger", str(ledger))

    assert result.returncode == 2
    assert f"ledger {ledger} already exists" in result.stderr
    assert ledger.read_bytes() == b"keep me"


def test_a_missing_data_file_exits_2_naming_it(folder: Folder) -> None:
    missing = folder.path / "nowhere.itrec.gz"

    result = itick_bot(
        "backtest", str(SPREAD), "--config", str(folder.config), "--data", str(missing),
        "--ledger", str(folder.path / "never.sqlite"), cwd=folder.path,
    )  # fmt: skip

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("itick-bot backtest: error:")
    assert f"the recording {missing} does not exist" in line
    assert not (folder.path / "never.sqlite").exists()


def test_a_strategy_that_fails_to_load_exits_4_naming_it(folder: Folder) -> None:
    broken = folder.path / "broken.py"
    broken.write_text("import no_such_module_here\n", encoding="utf-8")

    result = folder.backtest("--ledger", str(folder.path / "never.sqlite"), target="broken.py")

    assert result.returncode == 4
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("itick-bot backtest: error: broken.py")
    assert "no_such_module_here" in line
