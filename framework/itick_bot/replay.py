"""Reading recordings back: the records of one or many files, in order, whatever a crash left.

`read_recording` takes files, folders and glob patterns. A file `NAME.itrec.gz` brings the parts
of its rotated set (`NAME.0001.itrec.gz`, ...) with it; all files are read in the order they were
made (each header's `created_ns`, then `part`). The format is described in `itick_bot.record`.

Reading is tolerant, because a recording is what a crash or a full disk left behind: a compressed
stream that ends early (or turns to garbage) yields every whole line before the cut; lines that
are not records are skipped and counted by reason in `ReplayStats`. A file that does not exist or
is not a recording at all is a `ConfigError` naming it, before anything is read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import glob
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final, Literal

import attrs
import msgspec

from .errors import ConfigError

__all__ = [
    "Record",
    "RecordKind",
    "RecordingReader",
    "ReplayStats",
    "SkipReason",
    "parse_time",
    "parse_window",
    "read_recording",
]

RecordKind = Literal["F", "B", "C", "T"]
SkipReason = Literal[
    "not_a_record",
    "unknown_kind",
    "bad_escape",
    "bad_utf8",
    "bad_base64",
    "bad_event",
    "cut_line",
]

_FORMAT_VERSION: Final = 1
_SUFFIX: Final = ".itrec.gz"
_HEADER_START: Final = b'{"itick_bot_recording"'
_GZIP_MAGIC: Final = b"\x1f\x8b"
_READ: Final = 1 << 20
_KINDS: Final[dict[bytes, str]] = {b"F": "F", b"B": "B", b"C": "C", b"T": "T"}
_ESCAPES: Final = {"\\": "\\", "n": "\n", "r": "\r"}
_ESCAPE: Final = re.compile(r"\\(.?)", re.DOTALL)
_NS_PER_MS: Final = 1_000_000


class Record(msgspec.Struct, frozen=True, gc=False):
    """One record: `kind` "F" (a text frame, `payload` its text exactly as received), "B" (a
    binary frame, `payload` its base64; `frame` gives the bytes), "C" (a connection event,
    `payload` its JSON object) or "T" (an engine clock tick, `payload` "")."""

    received_ns: int
    kind: str
    payload: str

    @property
    def frame(self) -> str | bytes:
        """The frame exactly as received: text for "F", bytes for "B"."""
        if self.kind == "F":
            return self.payload
        if self.kind == "B":
            return base64.b64decode(self.payload)
        raise ValueError(f"a {self.kind!r} record holds no frame")


@attrs.define
class ReplayStats:
    """What reading found: records by kind, lines skipped by reason, files cut short."""

    records: Counter[str] = attrs.field(factory=Counter)
    """Records yielded, by kind ("F", "B", "C", "T")."""
    skipped: Counter[str] = attrs.field(factory=Counter)
    """Lines that were not valid records, by reason (`SkipReason`)."""
    outside_window: int = 0
    """Valid records left out by `from_ns` / `to_ns`."""
    files: int = 0
    """Files read (opened and read to their end or their cut)."""
    truncated: dict[str, str] = attrs.field(factory=dict)
    """Files whose compressed stream ended early or was corrupt: path -> what happened."""

    def skipped_summary(self) -> dict[str, int]:
        """Skipped lines by reason, plus `truncated_file`: the number of files cut short."""
        summary = dict(sorted(self.skipped.items()))
        if self.truncated:
            summary["truncated_file"] = len(self.truncated)
        return summary

    def describe(self) -> str:
        """One sentence saying what was skipped, or that nothing was."""
        words = []
        if self.skipped:
            detail = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
            words.append(f"skipped {sum(self.skipped.values())} lines ({detail})")
        words += [f"{path} {why}" for path, why in self.truncated.items()]
        return "; ".join(words) if words else "nothing skipped"

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": dict(sorted(self.records.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "outside_window": self.outside_window,
            "files": self.files,
            "truncated": dict(self.truncated),
        }


@attrs.frozen
class _File:
    path: Path
    header: dict[str, Any] | None  # None: cut before its header was whole


class RecordingReader:
    """The records of a set of recording files, in order (an iterator; one pass).
    `stats` fills in as it goes; `headers` are the files' headers, in reading order."""

    def __init__(self, files: list[_File], from_ns: int | None, to_ns: int | None) -> None:
        self.stats = ReplayStats()
        self.paths = [f.path for f in files]
        self.headers = [f.header for f in files if f.header is not None]
        self._files = files
        self._from = from_ns
        self._to = to_ns
        self._records = self._read_all()

    def __iter__(self) -> RecordingReader:
        return self

    def __next__(self) -> Record:
        return next(self._records)

    def _read_all(self) -> Iterator[Record]:
        for file in self._files:
            if file.header is None:
                self.stats.files += 1
                self.stats.truncated[str(file.path)] = "ends before its header (a crash?)"
                continue
            yield from self._read_file(file.path)

    def _read_file(self, path: Path) -> Iterator[Record]:
        stats = self.stats
        skipped = stats.skipped
        counts = stats.records
        low = self._from
        high = self._to
        kinds = _KINDS
        lines = _Lines(path)
        first = True
        for line in lines:
            if first:  # the header, already checked
                first = False
                continue
            parts = line.split(b" ", 2)
            stamp = parts[0]
            if len(parts) < 2 or not stamp.isdigit() or len(stamp) > 20:
                if not line.startswith(_HEADER_START):  # the header of a file joined by `cat`
                    skipped["not_a_record"] += 1
                continue
            kind = kinds.get(parts[1])
            if kind is None:
                skipped["unknown_kind"] += 1
                continue
            at = int(stamp)
            if (low is not None and at < low) or (high is not None and at >= high):
                stats.outside_window += 1
                continue
            raw = parts[2] if len(parts) == 3 else b""
            try:
                payload = raw.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                skipped["bad_utf8"] += 1
                continue
            if kind == "F":
                if "\\" in payload:
                    try:
                        payload = _ESCAPE.sub(_unescape_one, payload)
                    except KeyError:
                        skipped["bad_escape"] += 1
                        continue
            elif kind == "B":
                try:
                    base64.b64decode(raw, validate=True)
                except (binascii.Error, ValueError):
                    skipped["bad_base64"] += 1
                    continue
            elif kind == "C":
                if not _is_event(payload):
                    skipped["bad_event"] += 1
                    continue
            else:
                payload = ""
            counts[kind] += 1
            yield Record(at, kind, payload)
        stats.files += 1
        if lines.tail:
            skipped["cut_line"] += 1
        if lines.problem:
            stats.truncated[str(path)] = lines.problem


def _unescape_one(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(1)]  # KeyError: an unknown or lone escape


def _is_event(payload: str) -> bool:
    try:
        detail = json.loads(payload)
    except ValueError:
        return False
    return isinstance(detail, dict) and isinstance(detail.get("event"), str)


class _Lines:
    """The whole lines of one gzip file, decompressed as it is read. After iterating,
    `problem` says why the stream ended early (or is ""), and `tail` holds a partial last line
    that was dropped (a line is whole only with its newline)."""

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.path = path
        self.problem = ""
        self.tail = b""
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        tail = b""
        unzip = zlib.decompressobj(wbits=31)
        fed = False  # the current gzip member has had input
        with self.path.open("rb") as handle:
            while not self.problem:
                data = handle.read(self._limit or _READ)
                if not data:
                    break
                out: list[bytes] = []
                while data:
                    fed = True
                    saved = unzip.copy()
                    try:
                        out.append(unzip.decompress(data))
                    except zlib.error as exc:
                        out.append(_salvage(saved, data))
                        self.problem = f"is corrupt after its last whole line ({exc})"
                        break
                    if not unzip.eof:
                        break
                    # A member ended; another may follow (files joined with `cat`).
                    data = unzip.unused_data
                    unzip = zlib.decompressobj(wbits=31)
                    fed = False
                lines = (tail + b"".join(out)).split(b"\n")
                tail = lines.pop()
                yield from lines
                if self._limit is not None:
                    break
        if fed and not unzip.eof and not self.problem and self._limit is None:
            self.problem = "ends early, after its last whole line (a crash?)"
        self.tail = tail


def _salvage(unzip: Any, data: bytes) -> bytes:
    """What `unzip` gives from `data` up to the first corrupt byte: in steps of 256 bytes, then
    byte by byte over the step that failed (a failing call gives back nothing at all)."""
    out = []
    pos = 0
    step = 256
    while pos < len(data):
        saved = unzip.copy()
        try:
            out.append(unzip.decompress(data[pos : pos + step]))
        except zlib.error:
            if step == 1:
                break
            unzip, step = saved, 1
            continue
        if unzip.eof:
            break
        pos += step
    return b"".join(out)


# -- finding the files --------------------------------------------------------------------------


def read_recording(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
) -> RecordingReader:
    """The records of `paths` (files, folders holding `*.itrec.gz`, or glob patterns), in
    order, with `from_ns <= received_ns < to_ns` when those are given.

    Raises `ConfigError` naming the file when one does not exist or is not a recording.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: list[Path] = []
    for given in paths:
        found += _expand(str(given))
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    if not unique:
        raise ConfigError("no recording given: name one or more .itrec.gz files or folders")
    files = [_File(path, _header(path)) for path in unique.values()]
    files.sort(key=_reading_order)
    if from_ns is not None and to_ns is not None and from_ns >= to_ns:
        raise ConfigError("--from must be earlier than --to")
    return RecordingReader(files, from_ns, to_ns)


def _reading_order(file: _File) -> tuple[int, int, str]:
    header = file.header or {}
    created = header.get("created_ns")
    part = header.get("part")
    return (
        created if isinstance(created, int) else 0,
        part if isinstance(part, int) else 0,
        str(file.path),
    )


def _expand(given: str) -> list[Path]:
    path = Path(given)
    if path.is_dir():
        inside = sorted(path.glob(f"*{_SUFFIX}"))
        if not inside:
            raise ConfigError(f"the folder {given} holds no recordings (*{_SUFFIX} files)")
        return inside
    if path.is_file():
        return [path, *_rotated_parts(path)]
    if glob.has_magic(given):
        matches = sorted(Path(p) for p in glob.glob(given) if Path(p).is_file())
        if not matches:
            raise ConfigError(f"no recording matches {given}")
        return matches
    raise ConfigError(f"the recording {given} does not exist")


def _rotated_parts(first: Path) -> list[Path]:
    name = first.name
    if not name.endswith(_SUFFIX):
        return []
    stem = name[: -len(_SUFFIX)]
    if re.fullmatch(r".*\.\d{4,}", stem):  # itself a part
        return []
    part = re.compile(re.escape(stem) + r"\.\d{4,}" + re.escape(_SUFFIX))
    return sorted(
        p for p in first.parent.glob(f"{glob.escape(stem)}.*{_SUFFIX}") if part.fullmatch(p.name)
    )


def _header(path: Path) -> dict[str, Any] | None:
    """The file's header, or None when the file was cut before its header line was whole.
    Raises `ConfigError` when the file is not a recording."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
    except OSError as exc:
        raise ConfigError(f"cannot read the recording {path}: {exc.strerror or exc}") from None
    if not magic:
        return None  # created, then a crash before the header reached the disk
    if magic != _GZIP_MAGIC[: len(magic)]:
        raise ConfigError(f"{path} is not an itick-bot recording (it is not gzip-compressed)")
    lines = _Lines(path, limit=64 * 1024)
    first = next(iter(lines), None)
    if first is None:
        start = lines.tail[: len(_HEADER_START)]
        if lines.problem or not _HEADER_START.startswith(start):
            raise ConfigError(f"{path} is not an itick-bot recording (its first line is no header)")
        return None
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or "itick_bot_recording" not in header:
        raise ConfigError(f"{path} is not an itick-bot recording (its first line is no header)")
    version = header["itick_bot_recording"]
    if version != _FORMAT_VERSION:
        raise ConfigError(
            f"{path} is a recording of format {version!r}; this itick-bot reads format "
            f"{_FORMAT_VERSION}: upgrade itick-bot to read it"
        )
    return header


# -- --from / --to -------------------------------------------------------------------------------


def parse_time(text: str) -> int:
    """Epoch nanoseconds from `--from`/`--to`: epoch milliseconds (`1731690011321`) or an
    ISO-8601 time (`2024-11-15T17:00:11Z`, `2024-11-15 17:00`, `2024-11-15`; UTC unless it
    names an offset). Raises `ConfigError` otherwise."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d*)?", value):
        whole, _, frac = value.partition(".")
        return int(whole) * _NS_PER_MS + int((frac + "000000")[:6])
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a time: give ISO-8601 UTC (2024-11-15T17:00:11Z) or epoch "
            f"milliseconds (1731690011321)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """`(from_ns, to_ns)` from `--from` / `--to` (either may be None); `ConfigError` when the
    window is empty."""
    from_ns = parse_time(start) if start else None
    to_ns = parse_time(end) if end else None
    if from_ns is not None and to_ns is not None and from_ns >= to_ns:
        raise ConfigError(f"--from {start} is not earlier than --to {end}")
    return from_ns, to_ns
