"""The server role, used by the simulator: client commands in, server frames out.

Frames are rendered exactly in the forms of PROTOCOL.md, so the client role is tested against the
same text iTick sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from ..model import Level
from ..symbols import split_symbol
from ._events import (
    AuthRequest,
    BadCommand,
    ClientCommand,
    PingRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)

__all__ = [
    "parse_command",
    "render_auth_failed",
    "render_auth_ok",
    "render_connected",
    "render_depth",
    "render_kline",
    "render_notice",
    "render_pong",
    "render_quote",
    "render_subscribe_ok",
    "render_subscribe_refused",
    "render_tick",
]


class _Command(msgspec.Struct, gc=False):
    ac: str | None = None
    params: str | int | None = None
    types: str | None = None


_decoder: Final = msgspec.json.Decoder(_Command)
_encode: Final = msgspec.json.encode


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_command(text: str | bytes) -> ClientCommand:
    """Read one client message. Anything the server cannot act on is a `BadCommand`."""
    try:
        cmd = _decoder.decode(text)
    except msgspec.MsgspecError as exc:
        return BadCommand(f"not a command: {str(exc)[:120]}")
    except UnicodeEncodeError:  # a str holding lone surrogates is no UTF-8 text
        return BadCommand("not a command: text is not valid Unicode")
    params = "" if cmd.params is None else str(cmd.params)
    if cmd.ac == "ping":
        return PingRequest(params)
    if cmd.ac == "auth":
        return AuthRequest(params)
    if cmd.ac in ("subscribe", "unsubscribe"):
        symbols = tuple(split_symbol(s) for s in _split_list(params))
        types = tuple(t.lower() for t in _split_list(cmd.types or ""))
        if not symbols or not types:
            return BadCommand(f"{cmd.ac} needs 'params' (symbols) and 'types'")
        if cmd.ac == "subscribe":
            return SubscribeRequest(symbols, types)
        return UnsubscribeRequest(symbols, types)
    return BadCommand(f"unknown action {str(cmd.ac)[:40]!r}")


def _frame(obj: dict[str, Any]) -> str:
    return _encode(obj).decode()


def render_connected() -> str:
    return '{"code":1,"msg":"Connected Successfully"}'


def render_auth_ok() -> str:
    # Newer documents carry no echo of the key; the simulator never echoes it.
    return '{"code":1,"resAc":"auth","msg":"authenticated"}'


def render_auth_failed() -> str:
    return '{"code":0,"resAc":"auth","msg":"auth failed"}'


def render_subscribe_ok() -> str:
    return '{"code":1,"resAc":"subscribe","msg":"subscribe Successfully"}'


def render_subscribe_refused(msg: str) -> str:
    return _frame({"code": 0, "resAc": "subscribe", "msg": msg})


def render_notice(res_ac: str, msg: str, code: int = 0) -> str:
    return _frame({"code": code, "resAc": res_ac, "msg": msg})


def render_pong(params: str) -> str:
    return _frame({"resAc": "pong", "data": {"params": params}})


def _with_region(data: dict[str, Any], region: str) -> dict[str, Any]:
    if region:
        data["r"] = region
    return data


def render_quote(
    symbol: str,
    region: str,
    *,
    last: float,
    ts: int,
    volume: float,
    turnover: float,
    open_: float | None = None,
    high: float | None = None,
    low: float | None = None,
    status: int = 0,
) -> str:
    data: dict[str, Any] = {"s": symbol, "ld": last, "t": ts, "v": volume, "tu": turnover}
    if open_ is not None and high is not None and low is not None:
        data.update(o=open_, h=high, l=low)
    data.update(ts=status, type="quote")
    return _frame({"code": 1, "data": _with_region(data, region)})


def render_tick(
    symbol: str, region: str, *, price: float, size: float, ts: int, turnover: float | None = None
) -> str:
    data: dict[str, Any] = {"s": symbol, "ld": price, "v": size, "t": ts, "type": "tick"}
    if turnover is not None:
        data["tu"] = turnover
    return _frame({"code": 1, "data": _with_region(data, region)})


def _levels(levels: Sequence[Level]) -> list[dict[str, float | int]]:
    return [{"po": i, "p": p, "v": v, "o": v} for i, (p, v) in enumerate(levels, start=1)]


def render_depth(symbol: str, region: str, *, bids: Sequence[Level], asks: Sequence[Level]) -> str:
    data = {"s": symbol, "a": _levels(asks), "b": _levels(bids), "type": "depth"}
    return _frame({"code": 1, "data": _with_region(data, region)})


def render_kline(
    symbol: str,
    region: str,
    *,
    period: int,
    open_time: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: float,
    turnover: float,
    legacy: bool = False,
) -> str:
    """The current flat form (`"type":"kline@N"`), or with `legacy` the original document's
    nested form (`code` 0, period in `data.t`, the bar in `data.k`)."""
    bar = {"t": open_time, "o": open_, "h": high, "l": low, "c": close, "v": volume, "tu": turnover}
    if legacy:
        return _frame({"code": 0, "msg": None, "data": {"s": symbol, "t": period, "k": bar}})
    data = {"s": symbol, **bar, "type": f"kline@{period}"}
    return _frame({"code": 1, "data": _with_region(data, region)})
