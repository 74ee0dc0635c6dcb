"""Reading recordings: in order, across rotated files, and whatever a crash or garbage left."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from itick_bot.clock import ManualClock
from itick_bot.errors import ConfigError
from itick_bot.model import Depth, Quote, Tick
from itick_bot.protocol import Malformed, decode_frame
from itick_bot.record import FORMAT_VERSION, SUFFIX, Recorder
from itick_bot.replay import Record, parse_time, parse_window, read_recording

T0 = 1_731_690_011_000_000_000
HEADER = f'{{"itick_bot_recording":1,"created_ns":{T0},"url":"wss://x/crypto","part":0}}\n'
QUOTE = (
    '{"code":1,"data":{"s":"BTCUSDT","r":"BA","ld":%d,"t":1731690011321,"v":1,"tu":2,'
    '"type":"quote"}}'
)
KEY = "replay-key-0123456789abcdefghijklmnopqrstu"


def recording(path: Path, count: int, start: int = T0, **options: object) -> list[Record]:
    clock = ManualClock(start)
    written = []
    with Recorder(path, clock=clock, **options) as recorder:  # type: ignore[arg-type]
        for i in range(count):
            recorder.frame(start + i, QUOTE % i)
            written.append(Record(start + i, "F", QUOTE % i))
    return written


def test_the_reader_and_the_writer_agree_on_the_format() -> None:
    import itick_bot.replay as replay

    assert replay._FORMAT_VERSION == FORMAT_VERSION
    assert replay._SUFFIX == SUFFIX


# -- cut and corrupt files -----------------------------------------------------------------------


def test_a_file_cut_anywhere_yields_a_prefix_holding_everything_flushed_before_the_cut(
    tmp_path: Path,
) -> None:
    rng = random.Random(2024)
    source = tmp_path / "whole.itrec.gz"
    written: list[Record] = []
    flushed: list[tuple[int, int]] = []  # (compressed bytes on disk, records they hold)
    recorder = Recorder(source, threaded=False, buffer_bytes=1 << 30, clock=ManualClock(T0))
    with recorder:
        flushed.append((recorder.file_bytes, 0))
        for i in range(400):
            text = QUOTE % rng.getrandbits(48) if i % 7 else f"odd\\frame\n{i}"
            recorder.frame(T0 + i, text)
            written.append(Record(T0 + i, "F", text))
            if rng.random() < 0.1:
                recorder.flush()
                flushed.append((recorder.file_bytes, len(written)))
    data = source.read_bytes()
    cuts = {rng.randrange(len(data)) for _ in range(150)} | {n for n, _ in flushed}
    cuts |= {n + d for n, _ in flushed for d in (-1, 1) if 0 < n + d < len(data)}
    cut_file = tmp_path / "cut.itrec.gz"
    for cut in sorted(cuts):
        cut_file.write_bytes(data[:cut])
        reader = read_recording(cut_file)
        got = list(reader)
        assert got == written[: len(got)], cut
        safe = max((held for size, held in flushed if size <= cut), default=0)
        assert len(got) >= safe, (cut, len(got), safe)
        if cut < len(data):
            assert str(cut_file) in reader.stats.truncated, cut


def test_a_cut_file_says_it_ends_early_and_the_dropped_partial_line(tmp_path: Path) -> None:
    whole = gzip.compress((HEADER + f"{T0} F {QUOTE % 1}\n{T0 + 1} F {QUOTE % 2}\n").encode())
    path = tmp_path / "c.itrec.gz"
    # Cut the deflate stream: no trailer, and the last line half there.
    for cut in range(len(whole) - 9, 0, -1):
        text = zlib.decompressobj(wbits=31).decompress(whole[:cut])
        if text.endswith(b'"ld":2'):
            break
    path.write_bytes(whole[:cut])
    reader = read_recording(path)
    assert [r.payload for r in reader] == [QUOTE % 1]
    assert reader.stats.skipped == {"cut_line": 1}
    assert "ends early" in reader.stats.truncated[str(path)]
    assert reader.stats.skipped_summary() == {"cut_line": 1, "truncated_file": 1}


def test_corrupt_compressed_bytes_end_the_file_and_keep_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "x.itrec.gz"
    written = []
    flushed = []
    with Recorder(path, threaded=False, clock=ManualClock(T0)) as recorder:
        for i in range(2000):
            recorder.frame(T0 + i, QUOTE % i)
            written.append(Record(T0 + i, "F", QUOTE % i))
            if i % 100 == 99:
                recorder.flush()
                flushed.append((recorder.file_bytes, len(written)))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    reader = read_recording(path)
    got = list(reader)
    # Deflate has no checksum per block: bytes after the damage may inflate to lines that
    # look like records until zlib notices. Everything flushed before the damage is intact.
    intact = max(held for size, held in flushed if size <= middle)
    assert got[:intact] == written[:intact]
    assert "corrupt" in reader.stats.truncated[str(path)]


def test_an_empty_file_is_a_recording_cut_before_its_header(tmp_path: Path) -> None:
    (tmp_path / "empty.itrec.gz").write_bytes(b"")
    reader = read_recording(tmp_path / "empty.itrec.gz")
    assert list(reader) == []
    assert "before its header" in reader.stats.truncated[str(tmp_path / "empty.itrec.gz")]


# -- garbage lines -------------------------------------------------------------------------------


def test_garbage_lines_are_skipped_and_counted_by_reason(tmp_path: Path) -> None:
    lines = [
        f"{T0} F {QUOTE % 1}".encode(),
        b"hello world",
        b"",
        f"{T0 + 1} X something".encode(),
        f"{T0 + 2} B !!!not base64!!!".encode(),
        f"{T0 + 3} C not json".encode(),
        f"{T0 + 4} C [1, 2]".encode(),
        f'{T0 + 5} C {{"no_event": 1}}'.encode(),
        f"{T0 + 6} F bad \\x escape".encode(),
        f"{T0 + 7} F trailing backslash \\".encode(),
        f"{T0 + 12} F ".encode() + b"\xff\xfe not UTF-8",
        f"{T0 + 8} T ".encode(),
        f'{T0 + 9} C {{"event":"stale","reason":"quiet"}}'.encode(),
        f"{T0 + 10} B AAEC".encode(),
        f"{T0 + 11} T".encode(),
    ]
    path = tmp_path / "g.itrec.gz"
    path.write_bytes(gzip.compress(HEADER.encode() + b"\n".join(lines) + b"\n"))
    reader = read_recording(path)
    got = list(reader)
    assert [(r.received_ns - T0, r.kind) for r in got] == [
        (0, "F"),
        (8, "T"),
        (9, "C"),
        (10, "B"),
        (11, "T"),
    ]
    assert got[3].frame == b"\x00\x01\x02"
    assert reader.stats.skipped == {
        "not_a_record": 2,
        "unknown_kind": 1,
        "bad_base64": 1,
        "bad_event": 3,
        "bad_escape": 2,
        "bad_utf8": 1,
    }
    assert reader.stats.records == {"F": 1, "T": 2, "C": 1, "B": 1}
    assert reader.stats.describe().startswith("skipped 10 lines")


def test_a_header_of_a_joined_file_is_not_garbage(tmp_path: Path) -> None:
    first = recording(tmp_path / "a", 3)
    second = recording(tmp_path / "b", 2, start=T0 + 100)
    joined = tmp_path / "joined.itrec.gz"
    joined.write_bytes(
        (tmp_path / "a.itrec.gz").read_bytes() + (tmp_path / "b.itrec.gz").read_bytes()
    )
    reader = read_recording(joined)
    assert list(reader) == first + second
    assert reader.stats.skipped == {}


# -- which files, in which order -----------------------------------------------------------------


def test_a_rotated_set_reads_in_order_from_its_first_file_a_folder_or_a_glob(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    written = []
    with Recorder(tmp_path / "set", rotate_minutes=1, clock=clock, threaded=False) as recorder:
        for i in range(12):
            recorder.frame(T0 + i, QUOTE % i)
            written.append(Record(T0 + i, "F", QUOTE % i))
            recorder.flush()
            clock.advance(30)
    assert len(recorder.files) == 6
    for given in (
        tmp_path / "set.itrec.gz",
        tmp_path,
        str(tmp_path / "set*.itrec.gz"),
        [tmp_path / "set.0003.itrec.gz", tmp_path / "set.itrec.gz"],
    ):
        reader = read_recording(given)
        assert list(reader) == written, given
        assert reader.stats.files == 6
        assert [h["part"] for h in reader.headers] == list(range(6))


def test_separate_recordings_are_read_in_the_order_they_were_made(tmp_path: Path) -> None:
    later = recording(tmp_path / "a-later", 2, start=T0 + 10**12)
    earlier = recording(tmp_path / "b-earlier", 2, start=T0)
    reader = read_recording([tmp_path / "a-later.itrec.gz", tmp_path / "b-earlier.itrec.gz"])
    assert list(reader) == earlier + later


def test_from_and_to_keep_records_in_the_half_open_window(tmp_path: Path) -> None:
    written = recording(tmp_path / "w", 10)
    reader = read_recording(tmp_path / "w.itrec.gz", from_ns=T0 + 3, to_ns=T0 + 7)
    assert list(reader) == written[3:7]
    assert reader.stats.outside_window == 6
    with pytest.raises(ConfigError, match="earlier"):
        read_recording(tmp_path / "w.itrec.gz", from_ns=T0 + 7, to_ns=T0 + 7)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"plain text, not gzip", "not gzip-compressed"),
        (gzip.compress(b'{"some":"json"}\n1 F x\n'), "first line is no header"),
        (gzip.compress(b"no newline at all, and not a header"), "first line is no header"),
        (gzip.compress(b'{"itick_bot_recording":2}\n'), "format 2"),
    ],
)
def test_a_file_that_is_not_a_recording_is_a_config_error_naming_it(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.itrec.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        read_recording(path)
    assert str(path) in str(caught.value)


def test_an_empty_folder_or_a_glob_matching_nothing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no recordings"):
        read_recording(tmp_path)
    with pytest.raises(ConfigError, match="no recording matches"):
        read_recording(str(tmp_path / "nothing*.itrec.gz"))


# -- --from / --to -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1731690011321", 1_731_690_011_321_000_000),
        ("1731690011321.5", 1_731_690_011_321_500_000),
        ("2024-11-15T17:00:11Z", 1_731_690_011_000_000_000),
        ("2024-11-15T17:00:11.321+00:00", 1_731_690_011_321_000_000),
        ("2024-11-15 17:00:11", 1_731_690_011_000_000_000),
        ("2024-11-15T18:00:11+01:00", 1_731_690_011_000_000_000),
        ("2024-11-15", 1_731_628_800_000_000_000),
    ],
)
def test_times_are_iso_8601_utc_or_epoch_milliseconds(text: str, ns: int) -> None:
    assert parse_time(text) == ns


def test_a_bad_time_or_an_empty_window_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ISO-8601"):
        parse_time("yesterday")
    with pytest.raises(ConfigError, match="not earlier"):
        parse_window("2024-11-15T18:00:00Z", "2024-11-15T17:00:00Z")
    assert parse_window(None, "1000") == (None, 1_000_000_000)


# -- the command, end to end ---------------------------------------------------------------------


def test_record_against_the_simulator_writes_frames_that_decode_and_connection_events(
    tmp_path: Path,
) -> None:
    out = tmp_path / "session"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "itick_bot.cli", "record", "--url", "sim"),
            *("--duration", "1.5", "--out", str(out), "--types", "quote,depth,tick,kline@1"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ITICK_TOKEN": KEY},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "recorded" in result.stdout
    assert "recording to" in result.stderr
    path = tmp_path / "session.itrec.gz"
    assert KEY not in gzip.decompress(path.read_bytes()).decode()
    reader = read_recording(path)
    records = list(reader)
    assert reader.stats.skipped_summary() == {}
    header = reader.headers[0]
    assert header["url"].startswith("ws://127.0.0.1:")
    assert header["types"] == ["quote", "depth", "tick", "kline@1"]
    kinds = set()
    for record in records:
        if record.kind == "F":
            event = decode_frame(record.payload, record.received_ns)
            assert not isinstance(event, Malformed), record
            kinds.add(type(event))
    assert {Quote, Tick, Depth} <= kinds
    events = [json.loads(r.payload)["event"] for r in records if r.kind == "C"]
    assert events[:2] == ["connected", "subscribed"]
    assert events[-1] == "stopped"
    stamps = [r.received_ns for r in records]
    assert stamps == sorted(stamps)


def test_record_refuses_to_overwrite_a_recording(tmp_path: Path) -> None:
    (tmp_path / "x.itrec.gz").write_bytes(b"precious")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "itick_bot.cli", "record", "--url", "sim"),
            *("--duration", "1", "--out", str(tmp_path / "x.itrec.gz")),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert (tmp_path / "x.itrec.gz").read_bytes() == b"precious"


def test_record_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from itick_bot.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["record", "--help"])
    assert caught.value.code == 0
    assert "itick-bot record --url sim" in capsys.readouterr().out
