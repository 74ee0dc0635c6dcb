"""`decode_frame`, and its fast path: well-formed market data straight from C into events.

msgspec decodes a data frame into one struct whose fields are typed as a well-formed frame has
them, in lax mode so that numeric strings become numbers in C, with every float constrained to
be finite and every time to a range where a float and an int agree. What is left in Python is
the symbol (a cached lookup), absent fields, and building the event.

Anything this path does not take whole (a reply, an unknown type, a missing field, a null,
a number it cannot read, levels out of rank order, an empty symbol), `decode_tolerant` of
`_decode` reads again from the start. So the result, `Malformed` included, is the one that
decoder alone gives (`tests/protocol/test_fast_decode.py` checks it on generated frames), but
for a frame repeating a key with values of different types: the tolerant decoder checks each,
this path keeps the last. Only the common case is fast.

No number here may be optional (`X | None`): in lax mode msgspec reads the string "null" as null
there, which the tolerant decoder calls a bad number. Absent fields take defaults that no frame
can decode to instead: NaN for floats (`x != x` is true only for NaN: "absent"), -1 for times.
A frame with the fields data frames do not carry (`msg`, `resAc`, `params`, a `code` that is no
int) is left to the tolerant decoder, which checks their types.
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any, Final

import msgspec

from ..model import KLINE_PERIODS, Bar, Depth, Level, Quote, Tick
from ..symbols import split_symbol
from ._decode import DEFAULT_MAX_FRAME_BYTES, decode_tolerant
from ._events import Event

__all__ = ["decode_frame"]

_MAX: Final = sys.float_info.max
# NaN fails both bounds; numeric strings such as "inf" fail one of them.
Fin = Annotated[float, msgspec.Meta(ge=-_MAX, le=_MAX)]
# Epoch milliseconds. Above 2**53 the tolerant decoder (which goes through float for numeric
# strings) would round them, so those take the slow path too.
Ms = Annotated[int, msgspec.Meta(ge=0, le=1 << 53)]
Status = Annotated[int, msgspec.Meta(ge=-(1 << 53), le=1 << 53)]
_NONE: Final = math.nan
_NO_MS: Final = -1


class _Level(msgspec.Struct, gc=False):
    p: Fin
    v: Fin
    po: Ms = _NO_MS


class _Kline(msgspec.Struct, frozen=True, gc=False):
    """The bar of the legacy nested kline (`data.k`)."""

    t: Ms = _NO_MS
    o: Fin = _NONE
    h: Fin = _NONE
    l: Fin = _NONE  # noqa: E741 - iTick's field name
    c: Fin = _NONE
    v: Fin = _NONE
    tu: Fin = _NONE


class _Absent(str):
    """The type of a frame without `type` (a legacy kline), told apart from any string sent."""

    __slots__ = ()


_NO_K: Final = _Kline()
_NO_TYPE: Final = _Absent()


class _Data(msgspec.Struct, gc=False):
    # One struct for every kind: a tagged union would be cleaner, but msgspec then has to scan
    # ahead for `type` (iTick sends it last), which made a depth frame 50% slower to decode.
    type: str = _NO_TYPE
    s: str = ""
    r: str = ""
    ld: Fin = _NONE
    t: Ms = _NO_MS
    v: Fin = _NONE
    tu: Fin = _NONE
    ts: Status = 0
    o: Fin = _NONE
    h: Fin = _NONE
    l: Fin = _NONE  # noqa: E741 - iTick's field name
    c: Fin = _NONE
    a: list[_Level] = []
    b: list[_Level] = []
    k: _Kline = _NO_K
    params: Any = None


class _Frame(msgspec.Struct, gc=False):
    data: _Data
    # Unused by data frames, but the tolerant decoder checks their types: so does this path
    # (in lax mode a typed field would take "1" for 1 where the tolerant decoder refuses it).
    code: Any = None
    msg: Any = None
    resAc: Any = None


_decoder: Final = msgspec.json.Decoder(_Frame, strict=False)  # numeric strings are numbers
_KLINES: Final = {f"kline@{period}": interval for period, interval in KLINE_PERIODS.items()}


def _levels(raw: list[_Level]) -> tuple[Level, ...] | None:
    """`(price, size)` levels when `po` ranks them 1, 2, 3... in list order (as iTick sends
    them) and each has its price and size; None otherwise, for the tolerant decoder."""
    levels = []
    for rank, lv in enumerate(raw, 1):  # faster than comprehensions or `map(attrgetter())`
        if lv.po != rank:
            return None
        levels.append((lv.p, lv.v))
    return tuple(levels)


def decode_frame(
    frame: str | bytes, received_ns: int, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> Event:
    """Turn one WebSocket message into one event. Never raises.

    `frame` is the text of a text message, or the bytes of a binary message (which iTick never
    sends, so it is `Malformed`). `received_ns` is the local receive time, stamped on the event.
    """
    # The fast path is written out in this one function: on the hot path a call is a cost.
    if frame.__class__ is not str or len(frame) > max_frame_bytes:
        return decode_tolerant(frame, received_ns, max_frame_bytes)
    try:
        decoded = _decoder.decode(frame)
    except (msgspec.MsgspecError, UnicodeEncodeError, RecursionError):
        return decode_tolerant(frame, received_ns, max_frame_bytes)
    data = decoded.data
    kind = data.type
    if (
        not data.s
        # A data frame has an int `code` and no `msg`, `resAc` or `params`; a frame with them
        # is left to the tolerant decoder, which checks their types.
        or decoded.code.__class__ is not int
        or decoded.msg is not None
        or decoded.resAc is not None
        or data.params is not None
    ):
        return decode_tolerant(frame, received_ns, max_frame_bytes)
    symbol, region = split_symbol(data.s)  # cached by spelling
    if data.r:
        region = data.r.upper()
    t = data.t
    if t < 0:
        t = received_ns // 1_000_000
    if kind == "quote":
        ld, v, tu, o, h, low = data.ld, data.v, data.tu, data.o, data.h, data.l
        if ld == ld:
            return Quote(
                symbol, ld, 0.0 if v != v else v, 0.0 if tu != tu else tu, t, data.ts, region,
                None if o != o else o, None if h != h else h, None if low != low else low,
                received_ns,
            )  # fmt: skip
    elif kind == "depth":
        # Missing sides decode as [] here, which the tolerant decoder tells from a present empty
        # side; neither is a book anyone sends, so both go the slow way.
        if data.a and data.b:
            bids = _levels(data.b)
            asks = _levels(data.a)
            if bids is not None and asks is not None:
                return Depth(symbol, bids, asks, t, region, received_ns)
    elif kind == "tick":
        ld, v, tu = data.ld, data.v, data.tu
        if ld == ld and v == v:
            return Tick(symbol, ld, v, t, None if tu != tu else tu, region, received_ns)
    else:
        k = data.k
        if k is _NO_K:  # the current flat form: `"type":"kline@N"`, the bar in `data`
            interval = _KLINES.get(kind)
            bar: _Data | _Kline = data
        elif kind.__class__ is _Absent:  # the legacy form: period in `data.t`, the bar in `data.k`
            interval = KLINE_PERIODS.get(data.t)
            bar = k
            t = k.t
        else:  # a `type` and a nested bar: no form iTick sends
            return decode_tolerant(frame, received_ns, max_frame_bytes)
        o, h, low, c, v, tu = bar.o, bar.h, bar.l, bar.c, bar.v, bar.tu
        if interval is not None and bar.t >= 0 and o == o and h == h and low == low and c == c:
            return Bar(
                symbol, interval, t, o, h, low, c, 0.0 if v != v else v, 0.0 if tu != tu else tu,
                region, received_ns,
            )  # fmt: skip
    return decode_tolerant(frame, received_ns, max_frame_bytes)
