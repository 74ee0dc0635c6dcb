"""Recording: what goes in comes back out, rotated, flushed in time, and never with the key."""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itick_bot.clock import ManualClock
from itick_bot.config import FeedConfig
from itick_bot.errors import AuthError, ConfigError
from itick_bot.feed import (
    EventInbox,
    FeedClient,
    FrameRecorder,
    ScriptedTransport,
    TransportError,
)
from itick_bot.model import FeedStatus, Quote
from itick_bot.record import Recorder, RecordingError, part_path, recording_path
from itick_bot.replay import Record, read_recording

KEY = "rec0rd-key-abcdefghijklmnopqrstuvwxyz-0123456789"
GREETING = '{"code":1,"msg":"Connected Successfully"}'
AUTH_OK = '{"code":1,"resAc":"auth","msg":"authenticated"}'
SUB_OK = '{"code":1,"resAc":"subscribe","msg":"subscribe Successfully"}'
QUOTE = (
    '{"code":1,"data":{"s":"BTCUSDT","r":"BA","ld":%s,"t":1731690011321,"v":1,"tu":2,'
    '"type":"quote"}}'
)
HEADER = {"url": "wss://api.itick.org/crypto", "symbols": ["BTCUSDT"], "types": ["quote"]}
T0 = 1_731_690_011_000_000_000


def lines_of(path: Path) -> list[str]:
    """The decompressed lines of a whole (closed or flushed) file."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as handle:
        return handle.read().split("\n")


def flushed_text(path: Path) -> str:
    """What a file holds up to its last flush, read while it is still being written."""
    import zlib

    data = path.read_bytes()
    return zlib.decompressobj(wbits=31).decompress(data).decode()


def write_all(recorder: Recorder, records: list[Record]) -> None:
    for record in records:
        if record.kind in ("F", "B"):
            recorder.frame(record.received_ns, record.frame)
        elif record.kind == "C":
            detail = json.loads(record.payload)
            recorder.event(record.received_ns, detail.pop("event"), **detail)
        else:
            recorder.tick(record.received_ns)


EVERY_KIND = [
    Record(T0 + 1, "C", '{"event":"connected","reason":"authenticated at wss://x/crypto"}'),
    Record(T0 + 2, "F", QUOTE % 100.5),
    Record(T0 + 3, "F", "line one\nline two\r\nback\\slash \\n literal"),
    Record(T0 + 4, "B", "AAEC/w=="),
    Record(T0 + 5, "T", ""),
    Record(T0 + 6, "F", ""),
    Record(T0 + 7, "F", "unicode: é 中文 \u2028 \x85 \x0b"),
    Record(T0 + 8, "C", '{"event":"subscribed","symbols":["BTCUSDT$BA"],"types":["quote"]}'),
    Record(T0 + 9, "C", '{"event":"dropped","reason":"server closed the connection"}'),
]


@pytest.mark.parametrize("threaded", [True, False])
def test_every_kind_of_record_reads_back_identical_in_order(tmp_path: Path, threaded: bool) -> None:
    with Recorder(tmp_path / "s", header_fields=HEADER, threaded=threaded) as recorder:
        write_all(recorder, EVERY_KIND)
    reader = read_recording(tmp_path / "s.itrec.gz")
    assert list(reader) == EVERY_KIND
    assert reader.stats.skipped_summary() == {}
    assert EVERY_KIND[3].frame == b"\x00\x01\x02\xff"


@settings(max_examples=40, deadline=None)
@given(
    frames=st.lists(st.one_of(st.text(), st.binary()), max_size=40),
    buffer_bytes=st.integers(min_value=1, max_value=512),
)
def test_any_frames_round_trip_whatever_the_buffer_size(
    frames: list[str | bytes], buffer_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.itrec.gz"
        with Recorder(path, buffer_bytes=buffer_bytes, threaded=False) as recorder:
            for i, frame in enumerate(frames):
                recorder.frame(T0 + i, frame)
        got = [(r.received_ns, r.frame) for r in read_recording(path)]
    assert got == [(T0 + i, frame) for i, frame in enumerate(frames)]


def test_each_file_starts_with_the_header_and_ends_lines_with_newlines(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    with Recorder(tmp_path / "h.itrec.gz", header_fields=HEADER, clock=clock) as recorder:
        recorder.frame(T0 + 5, QUOTE % 1)
        recorder.tick(T0 + 6)
    lines = lines_of(tmp_path / "h.itrec.gz")
    assert json.loads(lines[0]) == {
        "itick_bot_recording": 1,
        "created_ns": T0,
        **HEADER,
        "part": 0,
    }
    assert lines[1:] == [f"{T0 + 5} F {QUOTE % 1}", f"{T0 + 6} T ", ""]


def test_the_suffix_is_added_when_missing() -> None:
    assert recording_path("out/btc") == Path("out/btc.itrec.gz")
    assert recording_path("btc.itrec.gz") == Path("btc.itrec.gz")
    assert part_path(Path("d/btc.itrec.gz"), 12) == Path("d/btc.0012.itrec.gz")


def test_the_key_is_never_written_even_in_the_urls_query_string(tmp_path: Path) -> None:
    header = {**HEADER, "url": f"wss://user:{KEY}@api.itick.org/crypto?token={KEY}", "token": KEY}
    with Recorder(tmp_path / "k.itrec.gz", header_fields=header) as recorder:
        recorder.frame(T0, QUOTE % 1)
    text = "\n".join(lines_of(tmp_path / "k.itrec.gz"))
    assert KEY not in text
    assert json.loads(text.split("\n")[0])["url"] == "wss://api.itick.org/crypto"


def test_rotation_by_size_starts_numbered_parts_each_with_its_header(tmp_path: Path) -> None:
    rng = random.Random(5)
    # Random digits compress badly, so a few kB make several 2 kB files.
    frames = [f'{{"n":"{rng.getrandbits(400)}"}}' for _ in range(300)]
    with Recorder(
        tmp_path / "big", rotate_mb=2048 / (1 << 20), buffer_bytes=1024, threaded=False
    ) as recorder:
        for i, frame in enumerate(frames):
            recorder.frame(T0 + i, frame)
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 4
    assert recorder.files == [part_path(tmp_path / "big.itrec.gz", i) for i in range(len(files))]
    for part, path in enumerate(recorder.files):
        assert json.loads(lines_of(path)[0])["part"] == part
        assert path.stat().st_size < 2048 + 1024  # at most one chunk over the limit
    assert [r.payload for r in read_recording(tmp_path / "big.itrec.gz")] == frames


def test_rotation_by_time_follows_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    recorder = Recorder(tmp_path / "t", rotate_minutes=1, clock=clock)
    recorder.frame(T0 + 1, "a")
    recorder.flush()
    clock.advance(59)
    recorder.frame(T0 + 2, "b")
    recorder.flush()
    assert len(recorder.files) == 1
    clock.advance(2)
    recorder.frame(T0 + 3, "c")
    recorder.close()
    assert recorder.files == [tmp_path / "t.itrec.gz", tmp_path / "t.0001.itrec.gz"]
    assert json.loads(lines_of(recorder.files[1])[0])["created_ns"] == T0 + 61 * 10**9
    assert [r.payload for r in read_recording(tmp_path / "t.itrec.gz")] == ["a", "b", "c"]


def test_a_second_after_the_last_flush_poll_puts_the_buffer_on_disk(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    recorder = Recorder(tmp_path / "f", clock=clock)
    recorder.frame(T0 + 1, "first")
    recorder.poll()
    assert "first" not in flushed_text(recorder.path)  # still in memory: cheap
    clock.advance(1.0)
    recorder.poll()
    recorder.flush()  # waits for the writer thread; the poll above already handed it over
    assert flushed_text(recorder.path).endswith(f"{T0 + 1} F first\n")
    recorder.close()


async def test_the_flusher_task_polls_so_the_buffer_is_written_within_the_interval(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    recorder = Recorder(tmp_path / "a", clock=clock, flush_interval=0.01, threaded=False)
    recorder.frame(T0, "soon")
    clock.advance(0.01)
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run_flusher)
        await anyio.sleep(0.2)  # real time: the task wakes every 5 ms
        tg.cancel_scope.cancel()
    assert "soon" in flushed_text(recorder.path)
    recorder.close()


def test_a_full_buffer_goes_to_the_writer_without_waiting_for_the_second(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "b", buffer_bytes=100, clock=ManualClock(T0), threaded=False)
    recorder.frame(T0, "x" * 120)
    assert "x" * 120 in flushed_text(recorder.path)
    assert recorder.bytes_in > 120
    assert recorder.bytes_out == recorder.path.stat().st_size
    recorder.close()


def test_counts_say_what_was_recorded(tmp_path: Path) -> None:
    with Recorder(tmp_path / "c") as recorder:
        write_all(recorder, EVERY_KIND)
    assert (recorder.frames, recorder.events, recorder.ticks) == (5, 3, 1)
    assert recorder.records == len(EVERY_KIND)
    assert recorder.bytes_out == (tmp_path / "c.itrec.gz").stat().st_size


def test_an_existing_recording_or_part_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "old.itrec.gz").write_bytes(b"precious")
    with pytest.raises(ConfigError, match=r"old\.itrec\.gz already exists"):
        Recorder(tmp_path / "old")
    (tmp_path / "rot.0003.itrec.gz").write_bytes(b"precious")
    with pytest.raises(ConfigError, match=r"rot\.0003\.itrec\.gz already exists"):
        Recorder(tmp_path / "rot.itrec.gz")
    assert (tmp_path / "old.itrec.gz").read_bytes() == b"precious"


def test_an_unwritable_place_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot write the recording .*nowhere"):
        Recorder(tmp_path / "nowhere" / "x")


@pytest.mark.parametrize("threaded", [True, False])
def test_a_failed_write_is_raised_to_the_caller(tmp_path: Path, threaded: bool) -> None:
    recorder = Recorder(tmp_path / "w", rotate_mb=1e-6, threaded=threaded)
    (tmp_path / "w.0001.itrec.gz").mkdir()  # the next part cannot be created
    recorder.frame(T0, "a")
    with pytest.raises(RecordingError, match=r"next file .*w\.0001\.itrec\.gz"):
        recorder.flush()
    with pytest.raises(RecordingError):
        recorder.close()


def test_close_is_idempotent_and_a_closed_recorder_refuses_to_flush(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "z")
    recorder.close()
    recorder.close()
    with pytest.raises(RecordingError, match="closed"):
        recorder.flush()


# -- the feed client's hook ----------------------------------------------------------------------

FAST = FeedConfig(
    symbols=("BTCUSDT",),
    types=("quote",),
    ping_interval=30,
    backoff_initial=0.001,
    backoff_max=0.002,
)


class ListRecorder:
    """A `FrameRecorder` that keeps what it is given; `seen` is set once `until` says so."""

    def __init__(self, until: Callable[[ListRecorder], bool]) -> None:
        self.frames: list[tuple[int, str | bytes]] = []
        self.events: list[dict[str, Any]] = []
        self.seen = anyio.Event()
        self._until = until

    def frame(self, received_ns: int, data: str | bytes) -> None:
        self.frames.append((received_ns, data))
        if self._until(self):
            self.seen.set()

    def event(self, received_ns: int, kind: str, **detail: Any) -> None:
        self.events.append({"at": received_ns, "event": kind, **detail})
        if self._until(self):
            self.seen.set()


def client_with(
    recorder: FrameRecorder, url: str = "wss://example.invalid/crypto"
) -> tuple[FeedClient, ScriptedTransport, EventInbox]:
    transport = ScriptedTransport()
    inbox = EventInbox(name="test")
    client = FeedClient(
        FAST,
        url=url,
        token=KEY,
        transport=transport,
        inbox=inbox,
        rng=random.Random(1),
        recorder=recorder,
    )
    return client, transport, inbox


async def test_the_feed_client_records_every_frame_with_the_stamp_its_event_got() -> None:
    recorder = ListRecorder(until=lambda r: len(r.frames) == 5)
    client, transport, inbox = client_with(recorder)
    conn = transport.expect()
    conn.feed(GREETING, AUTH_OK, SUB_OK, QUOTE % 1.5, b"\x01\x02")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.run)
            await recorder.seen.wait()
            tg.cancel_scope.cancel()
    quote = next(e for e in iter(inbox.get_nowait, None) if isinstance(e, Quote))
    assert [data for _, data in recorder.frames] == [
        GREETING,
        AUTH_OK,
        SUB_OK,
        QUOTE % 1.5,
        b"\x01\x02",
    ]
    assert recorder.frames[3][0] == quote.received_ns
    stamps = [at for at, _ in recorder.frames]
    assert stamps == sorted(stamps)


async def test_the_feed_client_records_connection_events_as_strategies_see_them() -> None:
    recorder = ListRecorder(until=lambda r: any(e["event"] == "recovered" for e in r.events))
    client, transport, inbox = client_with(recorder)
    first = transport.expect()
    first.feed(GREETING, AUTH_OK, SUB_OK)
    first.close(1011, "going away")
    transport.refuse(TransportError("connection refused"))
    second = transport.expect()
    second.feed(GREETING, AUTH_OK)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.run)
            await recorder.seen.wait()
            tg.cancel_scope.cancel()
    kinds = [e["event"] for e in recorder.events]
    assert kinds == [
        "connected",
        "subscribed",
        "dropped",
        "reconnecting",
        "dropped",
        "reconnecting",
        "recovered",
        "stopped",
    ]
    assert recorder.events[1]["symbols"] == ("BTCUSDT$BA",)
    assert "going away" in recorder.events[2]["reason"]
    statuses = []
    while (event := inbox.get_nowait()) is not None:
        if isinstance(event, FeedStatus):
            statuses.append((event.state, event.reason, event.received_ns))
    recorded = [
        (e["event"], e["reason"], e["at"])
        for e in recorder.events
        if e["event"] not in ("subscribed", "dropped")
    ]
    assert recorded == statuses  # what a backtest replays is what strategies saw


async def test_the_key_never_reaches_a_recording_from_the_feed(tmp_path: Path) -> None:
    recorder = Recorder(
        tmp_path / "feed", header_fields={**HEADER, "url": f"wss://x.invalid/crypto?token={KEY}"}
    )
    client, transport, _ = client_with(recorder, url=f"wss://x.invalid/crypto?token={KEY}")
    transport.refuse(TransportError(f"cannot reach wss://x.invalid/crypto?token={KEY}"))
    conn = transport.expect()
    conn.feed(GREETING, '{"code":0,"resAc":"auth","msg":"auth failed"}')
    with anyio.fail_after(5), pytest.raises(AuthError):
        await client.run()
    recorder.close()
    text = "\n".join(lines_of(recorder.path))
    assert KEY not in text
    assert '"event":"dropped"' in text
    assert '"event":"stopped"' in text
