"""Text frames from the server to events (the client role's read side).

Tolerant by design (PROTOCOL.md): numbers may be numeric strings, unknown fields are ignored,
`code` 0 is not by itself an error, symbols come in any spelling. Whatever cannot be used becomes a
`Malformed` event with a reason; `decode_frame` never raises.

`decode_frame` (in `_fast`) decodes well-formed quote, tick, depth and flat kline frames straight
from C into events; everything else (replies, legacy klines, anything malformed) it hands to
`decode_tolerant`, which reads it here: one typed msgspec decode into loose structs, then one
short function per data kind. No logging, no exceptions on the good path.
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from ..model import Bar, Depth, Level, Quote, Tick, interval_of_kline
from ..symbols import split_symbol
from ._events import (
    Authenticated,
    AuthFailed,
    Connected,
    Event,
    Malformed,
    MalformedReason,
    Pong,
    ServerNotice,
    Subscribed,
    SubscribeRefused,
)

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "decode_tolerant"]

DEFAULT_MAX_FRAME_BYTES: Final = 1 << 20

Num = float | str


class _Level(msgspec.Struct, gc=False):
    p: Num
    v: Num
    po: int | Num | None = None


class _Kline(msgspec.Struct, gc=False):
    t: int | float | str | None = None
    o: Num | None = None
    h: Num | None = None
    l: Num | None = None  # noqa: E741 - iTick's field name
    c: Num | None = None
    v: Num | None = None
    tu: Num | None = None


class _Data(msgspec.Struct, gc=False):
    type: str | None = None
    s: str | None = None
    r: str | None = None
    ld: Num | None = None
    # `t` is epoch ms in every frame but the legacy kline, where it is the period number.
    t: int | float | str | None = None
    v: Num | None = None
    tu: Num | None = None
    ts: int | float | str | None = None
    o: Num | None = None
    h: Num | None = None
    l: Num | None = None  # noqa: E741 - iTick's field name
    c: Num | None = None
    a: list[_Level] | None = None
    b: list[_Level] | None = None
    k: _Kline | None = None
    params: str | int | None = None


class _Frame(msgspec.Struct, gc=False):
    code: int | None = None
    msg: str | None = None
    resAc: str | None = None
    data: _Data | None = None


_decoder: Final = msgspec.json.Decoder(_Frame)


class _Bad(Exception):
    """Internal: a data frame that cannot be used (turned into `Malformed`)."""

    def __init__(self, reason: MalformedReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail


def _num(value: Num | None, field: str) -> float:
    if value.__class__ is float:
        return value  # msgspec never yields a non-finite float
    if value is None:
        raise _Bad("missing_field", f"field {field!r} is missing")
    try:
        number = float(value)
    except ValueError:
        raise _Bad("bad_number", f"field {field!r} is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise _Bad("bad_number", f"field {field!r} is not finite: {str(value)[:40]!r}")
    return number


def _opt_num(value: Num | None, field: str) -> float | None:
    return None if value is None else _num(value, field)


def _ms(value: int | float | str | None, field: str, received_ns: int) -> int:
    if value.__class__ is int:
        return value
    if value is None:
        return received_ns // 1_000_000
    return int(_num(value, field))


def _symbol(data: _Data) -> tuple[str, str]:
    if not data.s:
        raise _Bad("missing_field", "field 's' (symbol) is missing")
    symbol, region = split_symbol(data.s)  # cached by spelling
    return symbol, (data.r.upper() if data.r else region)


def _quote(data: _Data, received_ns: int) -> Quote:
    symbol, region = _symbol(data)
    ts = data.ts
    return Quote(
        symbol,
        _num(data.ld, "ld"),
        0.0 if data.v is None else _num(data.v, "v"),
        0.0 if data.tu is None else _num(data.tu, "tu"),
        _ms(data.t, "t", received_ns),
        ts if ts.__class__ is int else (0 if ts is None else int(_num(ts, "ts"))),
        region,
        _opt_num(data.o, "o"),
        _opt_num(data.h, "h"),
        _opt_num(data.l, "l"),
        received_ns,
    )


def _tick(data: _Data, received_ns: int) -> Tick:
    symbol, region = _symbol(data)
    return Tick(
        symbol,
        _num(data.ld, "ld"),
        _num(data.v, "v"),
        _ms(data.t, "t", received_ns),
        _opt_num(data.tu, "tu"),
        region,
        received_ns,
    )


def _levels(raw: list[_Level] | None, side: str) -> tuple[Level, ...]:
    if raw is None:
        raise _Bad("missing_field", f"field {side!r} (depth levels) is missing")
    levels: list[Level] = []
    last_po = 0
    in_order = True
    for lv in raw:
        po, p, v = lv.po, lv.p, lv.v
        if po is not None:
            if po.__class__ is not int:  # a rank sent as "2" or 2.0
                po = int(_num(po, side + ".po"))
            in_order = in_order and po >= last_po
            last_po = po
        levels.append(
            (
                p if p.__class__ is float else _num(p, side + ".p"),
                v if v.__class__ is float else _num(v, side + ".v"),
            )
        )
    if not in_order:  # `po` is the level's rank: trust it over the order of the list
        ranks = [0 if lv.po is None else int(_num(lv.po, side + ".po")) for lv in raw]
        levels = [level for _, level in sorted(zip(ranks, levels, strict=True))]
    return tuple(levels)


def _depth(data: _Data, received_ns: int) -> Depth:
    symbol, region = _symbol(data)
    return Depth(
        symbol,
        _levels(data.b, "b"),
        _levels(data.a, "a"),
        _ms(data.t, "t", received_ns),
        region,
        received_ns,
    )


def _bar(symbol: str, region: str, period: int, k: _Kline | _Data, received_ns: int) -> Bar:
    interval = interval_of_kline(period)
    if interval is None:
        raise _Bad("unknown_type", f"kline period {period} is not one iTick defines (1-10)")
    if k.t is None:
        raise _Bad("missing_field", "field 't' (bar open time) is missing")
    return Bar(
        symbol,
        interval,
        _ms(k.t, "t", received_ns),
        _num(k.o, "o"),
        _num(k.h, "h"),
        _num(k.l, "l"),
        _num(k.c, "c"),
        0.0 if k.v is None else _num(k.v, "v"),
        0.0 if k.tu is None else _num(k.tu, "tu"),
        region,
        received_ns,
    )


def _kline_flat(data: _Data, kind: str, received_ns: int) -> Bar:
    symbol, region = _symbol(data)
    digits = kind[6:]
    # int() would also take " 1", "1_0" or non-ASCII digits: only iTick's own spelling is a kline.
    if not (digits.isascii() and digits.isdigit()):
        raise _Bad("unknown_type", f"unknown kline type {kind[:40]!r}")
    period = int(digits)
    return _bar(symbol, region, period, data, received_ns)


def _kline_nested(data: _Data, received_ns: int) -> Bar:
    symbol, region = _symbol(data)
    period = data.t
    if period.__class__ is not int:  # a period sent as "1" or 1.0 is still period 1
        number = None if period is None else _num(period, "t")
        if number is None or not number.is_integer():
            raise _Bad("wrong_shape", "legacy kline: field 't' (period) is not an integer")
        period = int(number)
    return _bar(symbol, region, period, data.k, received_ns)  # type: ignore[arg-type]


def _data_event(data: _Data, received_ns: int) -> Event:
    kind = data.type
    if kind == "quote":
        return _quote(data, received_ns)
    if kind == "depth":
        return _depth(data, received_ns)
    if kind == "tick":
        return _tick(data, received_ns)
    if kind is not None and kind.startswith("kline@"):
        return _kline_flat(data, kind, received_ns)
    if kind is None and data.k is not None:
        return _kline_nested(data, received_ns)
    raise _Bad("unknown_type", f"unknown data type {str(kind)[:40]!r}")


def _reply(frame: _Frame, received_ns: int) -> Event:
    res_ac = frame.resAc
    msg = frame.msg or ""
    if res_ac == "auth":
        return Authenticated(msg) if frame.code == 1 else AuthFailed(msg or "auth failed")
    if res_ac == "pong":
        params = frame.data.params if frame.data is not None else None
        return Pong("" if params is None else str(params), None, received_ns)
    if res_ac == "subscribe":
        return Subscribed(msg) if frame.code == 1 else SubscribeRefused(msg or "refused")
    if res_ac is None:
        if frame.code == 1 and frame.msg is not None:
            return Connected(msg)
        if frame.msg is not None:
            return ServerNotice(frame.code, "", msg)
        return Malformed("unknown_reply", "neither data nor a reply", "", received_ns)
    return ServerNotice(frame.code, res_ac, msg)


def _kind_of(data: _Data | None, frame: _Frame) -> str:
    if data is not None and data.type:
        return data.type[:40]
    if data is not None and data.k is not None:
        return "kline"
    return (frame.resAc or "")[:40]


def decode_tolerant(
    frame: str | bytes, received_ns: int, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> Event:
    """`decode_frame` without its fast path: every form iTick's documents show, every reason a
    frame can be `Malformed`. Never raises."""
    if frame.__class__ is not str:
        return Malformed("binary_frame", f"binary message of {len(frame)} bytes", "", received_ns)
    if len(frame) > max_frame_bytes:
        return Malformed(
            "oversize", f"{len(frame)} characters, limit {max_frame_bytes}", "", received_ns
        )
    try:
        decoded = _decoder.decode(frame)
    except msgspec.ValidationError as exc:
        text = str(exc)
        reason: MalformedReason = "bad_number" if "out of range" in text else "wrong_shape"
        return Malformed(reason, text[:200], "", received_ns)
    except msgspec.DecodeError as exc:
        return Malformed("invalid_json", str(exc)[:200], "", received_ns)
    except UnicodeEncodeError:  # a str holding lone surrogates is no UTF-8 text
        return Malformed("invalid_json", "text is not valid Unicode", "", received_ns)
    except RecursionError:  # msgspec recurses into nested arrays and objects
        return Malformed("wrong_shape", "JSON nested too deeply", "", received_ns)
    data = decoded.data
    try:
        if data is not None and (data.type is not None or data.k is not None):
            return _data_event(data, received_ns)
        return _reply(decoded, received_ns)
    except _Bad as bad:
        return Malformed(bad.reason, bad.detail, _kind_of(data, decoded), received_ns)
