"""`run_backtest`: a recording replayed through decoder, engine, paper broker and strategy on
the recorded receive times; deterministic; tolerant of cut and corrupted recordings."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from itick_bot.backtest import BacktestResult, run_backtest
from itick_bot.errors import ConfigError

from ._support import (
    BALANCES,
    START_NS,
    STEP_MS,
    ledger_rows,
    make_config,
    spread,
    write_recording,
)


async def backtest(
    data: list[Path], ledger: Path, *, from_ns: int | None = None, to_ns: int | None = None
) -> BacktestResult:
    config = make_config(ledger.with_name("unused.sqlite"))
    return await run_backtest(
        config, spread(config), data, ledger=ledger, from_ns=from_ns, to_ns=to_ns, progress=None
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 market updates of BTCUSDT (a minute), written as the live feed writes them."""
    path, _ = write_recording(tmp_path_factory.mktemp("recording") / "btc.itrec.gz")
    return path


# -- a round trip -------------------------------------------------------------------------------


async def test_a_recording_backtests_to_a_report_with_the_fills_in_the_ledger(
    recording: Path, tmp_path: Path
) -> None:
    result = await backtest([recording], tmp_path / "bt.sqlite")

    report = result.report
    [strategy] = report["strategies"]
    fills = ledger_rows(tmp_path / "bt.sqlite", "fills")
    assert strategy["state"] == "stopped"
    assert len(fills) > 5
    assert strategy["fills"] == len(fills) == len(result.fills) == report["performance"]["fills"]
    assert [f.order_id for f in result.fills] == [row[1] for row in fills]
    assert report["feed"]["frames"]["depth"] == 600
    assert report["feed"]["connects"] == 1
    assert report["feed"]["skipped"] == {}
    # Every record replayed counts, server replies and connection events too (all but the header).
    assert report["feed"]["records"] == len(lines_of(recording)) - 1
    assert report["feed"]["frames"]["control"] > 0
    assert report["account"]["ledger"] == str(tmp_path / "bt.sqlite")
    # The replay clock: the run spans the recorded receive times, not the wall clock.
    assert report["duration_s"] == pytest.approx(600 * STEP_MS / 1000, abs=0.1)
    assert all(START_NS <= f.received_ns < START_NS + 61 * 10**9 for f in result.fills)
    assert result.equity
    assert result.equity[0].ts_ns >= START_NS
    assert not result.all_failed


async def test_an_asset_the_recording_never_prices_is_named_instead_of_a_zero_drawdown(
    recording: Path, tmp_path: Path
) -> None:
    config = make_config(tmp_path / "unused.sqlite", balances={**BALANCES, "ETH": 1.0})

    result = await run_backtest(
        config, spread(config), [recording], ledger=tmp_path / "bt.sqlite", progress=None
    )

    perf = result.report["performance"]
    assert not result.equity
    assert perf["max_drawdown"] is None
    assert perf["exposure_time_pct"] is None
    assert perf["not_measured"].startswith("no price for ETH held in the account (no ETHUSDT ")
    assert perf["fills"] > 5  # the trading itself is measured as ever
    assert result.report["stopped"] == "end_of_data"


async def test_two_backtests_of_one_recording_write_the_same_orders_and_fills(
    recording: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.sqlite", tmp_path / "second.sqlite"

    await backtest([recording], first)
    await backtest([recording], second)

    assert len(ledger_rows(first, "fills")) > 5
    assert ledger_rows(second, "orders") == ledger_rows(first, "orders")
    assert ledger_rows(second, "fills") == ledger_rows(first, "fills")


async def test_an_existing_ledger_is_refused_before_anything_runs(
    recording: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "bt.sqlite"
    ledger.write_bytes(b"precious")

    with pytest.raises(ConfigError, match="already exists"):
        await backtest([recording], ledger)

    assert ledger.read_bytes() == b"precious"


# -- --from / --to ------------------------------------------------------------------------------


async def test_from_and_to_replay_only_the_records_inside_the_window(
    recording: Path, tmp_path: Path
) -> None:
    from_ns = START_NS + 20 * 10**9
    to_ns = START_NS + 40 * 10**9

    result = await backtest([recording], tmp_path / "bt.sqlite", from_ns=from_ns, to_ns=to_ns)

    feed = result.report["feed"]
    assert feed["frames"]["depth"] == 200  # updates 200..399, 100 ms apart
    assert feed["connects"] == 0  # the connection event is before the window
    assert result.report["duration_s"] == pytest.approx(20, abs=0.1)
    assert result.fills
    assert all(from_ns <= f.received_ns < to_ns for f in result.fills)
    assert min(p.ts_ns for p in result.equity) >= from_ns


async def test_a_window_that_holds_no_records_is_an_error_saying_so(
    recording: Path, tmp_path: Path
) -> None:
    later = START_NS + 3600 * 10**9

    with pytest.raises(ConfigError, match="no records in the --from/--to window"):
        await backtest([recording], tmp_path / "bt.sqlite", from_ns=later)


# -- damaged recordings -------------------------------------------------------------------------


def lines_of(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as raw:
        return raw.read().splitlines(keepends=True)


def write_gzip(path: Path, data: bytes, *, cut: int = 0) -> Path:
    """`data` gzip-compressed into `path`, less its last `cut` bytes."""
    packed = gzip.compress(data, compresslevel=1)
    path.write_bytes(packed[: len(packed) - cut])
    return path


def first_half(path: Path, into: Path) -> Path:
    data = path.read_bytes()
    into.write_bytes(data[: len(data) // 2])  # anywhere inside a compressed block
    return into


async def test_a_recording_cut_mid_line_replays_every_whole_line_and_reports_the_cut(
    recording: Path, tmp_path: Path
) -> None:
    lines = lines_of(recording)
    kept = 1500
    # Header plus `kept` whole records, then half of the next line (no newline); without the
    # gzip trailer the stream ends early, as a crash leaves it.
    body = b"".join(lines[: kept + 1]) + lines[kept + 1][: len(lines[kept + 1]) // 2]
    cut = write_gzip(tmp_path / "cut.itrec.gz", body, cut=8)

    result = await backtest([cut], tmp_path / "bt.sqlite")

    feed = result.report["feed"]
    whole = lines[1 : kept + 1]
    assert feed["frames_total"] == sum(b" F " in line for line in whole)
    assert feed["frames"]["depth"] == sum(b'"type":"depth"' in line for line in whole)
    assert feed["skipped"] == {"cut_line": 1, "truncated_file": 1}
    assert result.fills


async def test_a_recording_cut_inside_the_gzip_stream_replays_up_to_the_cut(
    recording: Path, tmp_path: Path
) -> None:
    cut = first_half(recording, tmp_path / "cut.itrec.gz")

    result = await backtest([cut], tmp_path / "bt.sqlite")

    feed = result.report["feed"]
    total = len(lines_of(recording)) - 1
    assert 0 < feed["records"] < total
    assert feed["skipped"]["truncated_file"] == 1
    assert set(feed["skipped"]) <= {"truncated_file", "cut_line"}
    # Every record replayed is a whole one of the original, in order: the depth count is the
    # number of updates up to the cut.
    assert 0 < feed["frames"]["depth"] < 600


async def test_garbage_lines_are_skipped_counted_by_reason_and_the_rest_replays(
    recording: Path, tmp_path: Path
) -> None:
    lines = lines_of(recording)
    stamp = str(START_NS + 10**9).encode()
    garbage = {
        "not_a_record": b"not a record at all\n",
        "unknown_kind": stamp + b" X what kind is this\n",
        "bad_escape": stamp + b' F {"a":"\\q"}\n',
        "bad_event": stamp + b" C not json\n",
        "bad_utf8": stamp + b" F \xff\xfe\n",
    }
    dirty_lines = list(lines)
    for k, line in enumerate(garbage.values()):
        dirty_lines.insert(300 * (k + 1), line)
    dirty = write_gzip(tmp_path / "dirty.itrec.gz", b"".join(dirty_lines))
    clean = await backtest([recording], tmp_path / "clean.sqlite")

    result = await backtest([dirty], tmp_path / "dirty.sqlite")

    assert result.report["feed"]["skipped"] == dict.fromkeys(sorted(garbage), 1)
    assert result.report["feed"]["records"] == clean.report["feed"]["records"]
    assert ledger_rows(tmp_path / "dirty.sqlite", "fills") == ledger_rows(
        tmp_path / "clean.sqlite", "fills"
    )
    assert len(ledger_rows(tmp_path / "dirty.sqlite", "fills")) > 5
