"""Recording a session: every received frame, verbatim, with its local receive time.

The format (version 1; `itick_bot.replay` reads it, and backtests depend on it):

- A recording is one file, or a rotated set `NAME.itrec.gz`, `NAME.0001.itrec.gz`,
  `NAME.0002.itrec.gz`, ... Each file is gzip-compressed UTF-8 text, one record per line.
- The first line of every file is a JSON header: `{"itick_bot_recording": 1, "created_ns": ...,
  "url": ..., "symbols": [...], "types": [...], "part": N, ...}` (`url` has no query string and
  no user info: the key is never written, anywhere).
- Every other line is `<received_ns> <kind> <payload>`, `received_ns` the local receive time in
  epoch nanoseconds, and `kind` one of:
  - `F` a text frame exactly as received, with `\\` written `\\\\`, a newline `\\n` and a carriage
    return `\\r`, so that one frame is one line (iTick's frames are one-line JSON: this is rare);
  - `B` a binary frame, base64;
  - `C` a connection event, a JSON object whose `event` names it: the feed states strategies see
    (`connected`, `recovered`, `stale`, `reconnecting`, `stopped`, with `reason`), and
    `subscribed` / `subscribe_refused` (`symbols`, `types`, `msg`) and `dropped` (`reason`);
  - `T` an engine clock tick (the live engine's idle tick), with an empty payload.
- Crash safety: records are compressed in chunks, each ended with a zlib sync flush, and a chunk
  is written at least once a second (`run_flusher`) and whenever 256 KiB are waiting, so a file cut
  anywhere decompresses up to its last flush: a crash loses at most the last second.

Writing is cheap on the live path: `frame()` formats one line and appends it to a list; joining,
compressing and writing happen in one writer thread (zlib lets go of the GIL while it compresses,
so the feed's reader keeps reading meanwhile).
"""

from __future__ import annotations

import base64
import glob
import json
import os
import queue
import re
import threading
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import anyio

from .clock import Clock, LiveClock
from .errors import ConfigError, ItickBotError
from .feed import public_url

__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "Recorder",
    "RecordingError",
    "ensure_new",
    "part_path",
    "recording_path",
]

FORMAT_VERSION: Final = 1
"""The `itick_bot_recording` value in each file's header."""
SUFFIX: Final = ".itrec.gz"

_NS: Final = 1_000_000_000
_MIB: Final = 1 << 20
_GZIP: Final = 31  # zlib wbits for a gzip wrapper around the deflate stream


class RecordingError(ItickBotError):
    """A recording could not be written (disk full, permissions, ...): the recording stops."""


def recording_path(out: str | os.PathLike[str]) -> Path:
    """`out` with the `.itrec.gz` suffix added when it lacks it."""
    path = Path(out)
    return path if path.name.endswith(SUFFIX) else path.with_name(path.name + SUFFIX)


def part_path(first: Path, part: int) -> Path:
    """The file of rotation `part` of the recording whose first file is `first`
    (`NAME.itrec.gz` for part 0, then `NAME.0001.itrec.gz`, ...)."""
    if part == 0:
        return first
    stem = first.name[: -len(SUFFIX)]
    return first.with_name(f"{stem}.{part:04d}{SUFFIX}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


class _Chunk:
    """Lines handed to the writer thread; `done` is set once they are on disk (or failed)."""

    __slots__ = ("done", "finish", "lines")

    def __init__(self, lines: list[str], *, finish: bool = False, wait: bool = False) -> None:
        self.lines = lines
        self.finish = finish
        self.done = threading.Event() if wait else None


class Recorder:
    """Writes one recording (see the module docstring for the format).

    `frame`, `event` and `tick` only append to a buffer; the buffer goes to the writer when it
    passes `buffer_bytes`, on `poll()` once `flush_interval` seconds have passed (run
    `run_flusher()` in a task, or call `poll()` regularly), on `flush()` and on `close()`.
    `rotate_mb` / `rotate_minutes` (0 = never) start a new file of the set when the current one
    has that many compressed MiB or is that old. `clock` gives the header times and the file age
    (the wall clock by default). `compresslevel` is zlib's, 1 by default: level 6 makes files
    about 30% smaller but compresses about 4x slower, which caps a flooded feed's rate.
    `threaded=False` compresses in the caller's thread instead (a stall of milliseconds per
    chunk on the live path). Every record handed over before `close()` returns is in the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rotate_mb: float = 0.0,
        rotate_minutes: float = 0.0,
        header_fields: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        compresslevel: int = 1,
        buffer_bytes: int = 256 * 1024,
        flush_interval: float = 1.0,
        threaded: bool = True,
    ) -> None:
        if rotate_mb < 0 or rotate_minutes < 0:
            raise ConfigError("rotate_mb and rotate_minutes must be 0 (never) or more")
        if flush_interval <= 0 or flush_interval > 1.0:
            raise ConfigError("flush_interval must be more than 0 and at most 1 second")
        self.first_path = recording_path(path)
        self.path = self.first_path
        """The file being written."""
        self.files: list[Path] = []
        """Every file of the set opened so far, in order."""
        self.frames = 0
        """Frames (`F` and `B`) handed over."""
        self.events = 0
        """Connection events (`C`) handed over."""
        self.ticks = 0
        """Clock ticks (`T`) handed over."""
        self.bytes_in = 0
        """Uncompressed bytes written, headers included."""
        self.bytes_out = 0
        """Compressed bytes written, all files."""
        self.file_bytes = 0
        """Compressed bytes written to the current file."""
        self.flush_interval = flush_interval
        self._rotate_bytes = int(rotate_mb * _MIB)
        self._rotate_ns = int(rotate_minutes * 60 * _NS)
        self._header = dict(header_fields or {})
        if "url" in self._header:
            self._header["url"] = public_url(str(self._header["url"]))
        for secret in ("token", "key"):
            self._header.pop(secret, None)
        self._clock = clock or LiveClock()
        self._level = compresslevel
        self._spill_at = buffer_bytes
        self._parts: list[str] = []
        self._pending = 0
        self._flush_ns = int(flush_interval * _NS)
        self._last_spill = self._clock.time_ns()
        self._part = 0
        self._file_created_ns = 0
        self._closed = False
        self._error: BaseException | None = None
        ensure_new(self.first_path)
        self._file: Any = None
        self._zip: Any = None
        self._open_part(0)
        self._queue: queue.Queue[_Chunk | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=64)
            self._thread = threading.Thread(
                target=self._writer, name=f"recorder {self.first_path.name}", daemon=True
            )
            self._thread.start()

    # -- the live path ------------------------------------------------------------------------
    def frame(self, received_ns: int, data: str | bytes) -> None:
        """One frame as received: text (`str`) or binary (`bytes`)."""
        if isinstance(data, str):
            if "\\" in data or "\n" in data or "\r" in data:
                data = _escape(data)
            line = f"{received_ns} F {data}\n"
        else:
            line = f"{received_ns} B {base64.b64encode(data).decode('ascii')}\n"
        self._parts.append(line)
        self.frames += 1
        self._pending += len(line)
        if self._pending >= self._spill_at:
            self._spill()

    def event(self, received_ns: int, kind: str, **detail: Any) -> None:
        """A connection event: `kind` ("connected", "dropped", ...) and JSON-ready details."""
        payload = json.dumps({"event": kind, **detail}, separators=(",", ":"), default=str)
        self._parts.append(f"{received_ns} C {payload}\n")
        self.events += 1
        self._pending += len(payload)

    def tick(self, received_ns: int) -> None:
        """An engine clock tick (time passing with no market event)."""
        self._parts.append(f"{received_ns} T \n")
        self.ticks += 1
        self._pending += 24

    @property
    def records(self) -> int:
        """Records handed over so far, of every kind."""
        return self.frames + self.events + self.ticks

    # -- flushing -----------------------------------------------------------------------------
    def poll(self) -> None:
        """Hand the buffer to the writer if `flush_interval` has passed since it last was."""
        if self._parts:
            elapsed = self._clock.time_ns() - self._last_spill
            if elapsed >= self._flush_ns or elapsed < 0:  # < 0: the wall clock was set back
                self._spill()

    async def run_flusher(self) -> None:
        """Hand the buffer over at least once per `flush_interval`, until cancelled."""
        while True:
            await anyio.sleep(self.flush_interval / 2)
            self.poll()

    def flush(self) -> None:
        """Write everything handed over so far and sync-flush the file; return once done."""
        self._raise_if_failed()
        if self._closed:
            raise RecordingError(f"recording {self.first_path} is closed")
        self._spill(wait=True)

    def close(self) -> None:
        """Write everything, end the gzip stream and close the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        chunk = self._take(finish=True, wait=True)
        if self._queue is not None and self._thread is not None:
            self._queue.put(chunk)
            self._queue.put(None)
            self._thread.join()
        else:
            self._write(chunk)
        if self._file is not None:  # a write failed before the file could be ended
            self._file.close()
            self._file = None
        self._raise_if_failed()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _take(self, *, finish: bool = False, wait: bool = False) -> _Chunk:
        # Runs in the thread that calls frame(): swapping the list here, never in the writer,
        # is what keeps a frame from being appended to a list already being written.
        lines, self._parts = self._parts, []
        self._pending = 0
        self._last_spill = self._clock.time_ns()
        return _Chunk(lines, finish=finish, wait=wait)

    def _spill(self, *, wait: bool = False) -> None:
        self._raise_if_failed()
        chunk = self._take(wait=wait)
        if self._queue is None:
            self._write(chunk)
        else:
            self._queue.put(chunk)  # blocks only if 64 chunks wait: the disk cannot keep up
            if chunk.done is not None:
                chunk.done.wait()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            if isinstance(self._error, RecordingError):
                raise self._error
            raise RecordingError(
                f"writing the recording {self.path} failed: {self._error}"
            ) from self._error

    # -- the writer ---------------------------------------------------------------------------
    def _writer(self) -> None:
        assert self._queue is not None
        while (chunk := self._queue.get()) is not None:
            self._write(chunk)

    def _write(self, chunk: _Chunk) -> None:
        try:
            if self._error is None:
                if chunk.lines:
                    self._rotate_if_due()
                    self._emit("".join(chunk.lines).encode("utf-8", "surrogatepass"))
                if chunk.finish:
                    self._end_file()
        except Exception as exc:  # kept, and raised in the caller's thread at its next call
            self._error = exc
        finally:
            if chunk.done is not None:
                chunk.done.set()

    def _emit(self, data: bytes, mode: int = zlib.Z_SYNC_FLUSH) -> None:
        out = self._zip.compress(data) + self._zip.flush(mode)
        self._file.write(out)
        self._file.flush()
        self.bytes_in += len(data)
        self.bytes_out += len(out)
        self.file_bytes += len(out)

    def _rotate_if_due(self) -> None:
        by_size = self._rotate_bytes and self.file_bytes >= self._rotate_bytes
        by_time = (
            self._rotate_ns and self._clock.time_ns() - self._file_created_ns >= self._rotate_ns
        )
        if by_size or by_time:
            self._end_file()
            self._open_part(self._part + 1)

    def _open_part(self, part: int) -> None:
        path = part_path(self.first_path, part)
        try:
            handle = path.open("xb")
        except OSError as exc:
            raise self._open_error(path, exc) from None
        self._file = handle
        self._zip = zlib.compressobj(self._level, zlib.DEFLATED, _GZIP)
        self._part = part
        self.path = path
        self.files.append(path)
        self.file_bytes = 0
        self._file_created_ns = self._clock.time_ns()
        header = {
            "itick_bot_recording": FORMAT_VERSION,
            "created_ns": self._file_created_ns,
            **self._header,
            "part": part,
        }
        self._emit((json.dumps(header, separators=(",", ":"), default=str) + "\n").encode())

    def _end_file(self) -> None:
        if self._file is None:
            return
        self._emit(b"", zlib.Z_FINISH)
        self._file.close()
        self._file = None

    def _open_error(self, path: Path, exc: OSError) -> ItickBotError:
        why = exc.strerror or str(exc)
        if self.files:
            return RecordingError(f"cannot start the next file {path}: {why}")
        if isinstance(exc, FileExistsError):
            return ConfigError(
                f"recording {path} already exists; choose another --out, or move it away"
            )
        return ConfigError(f"cannot write the recording {path}: {why}")


def ensure_new(path: str | os.PathLike[str]) -> Path:
    """The recording's first file (`recording_path`), after checking that neither it nor a
    rotated part of that name exists and that its folder does; `ConfigError` otherwise.
    A recording is never overwritten, and parts of an older one of the same name would
    otherwise be read back as part of the new one."""
    first = recording_path(path)
    stem = first.name[: -len(SUFFIX)]
    part = re.compile(re.escape(stem) + r"\.\d{4,}" + re.escape(SUFFIX))
    if not first.parent.is_dir():
        raise ConfigError(f"cannot write the recording {first}: no folder {first.parent}")
    taken = [first] if first.exists() else []
    taken += sorted(
        p for p in first.parent.glob(f"{glob.escape(stem)}.*{SUFFIX}") if part.fullmatch(p.name)
    )
    if taken:
        raise ConfigError(
            f"recording {taken[0]} already exists; choose another --out, or move it away"
        )
    return first
