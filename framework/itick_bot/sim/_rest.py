"""The simulator's REST endpoint for history, `GET /{market}/kline` (PROTOCOL.md section 8).

Answers `{"code":0,"msg":null,"data":[{t,o,h,l,c,v,tu},...]}`, oldest bar first, newest last; the
newest is the bar still forming at the market clock's "now" (or the bar that contains `et` when
`et` is earlier). Paging backwards with `et = oldest t - 1` gives the bars before.

The history is a deterministic price curve per `(seed, symbol)`: a sum of value-noise octaves (one
minute to a year apart, amplitudes growing like the square root of their spacing, so the path looks
like a random walk at every scale) anchored so that it passes through the seeded market's start
price when the simulator starts: the WebSocket stream of a symbol begins where its REST history
ends. The same seed gives the same closed bars whatever the paging; a bar's close is the next bar's
open; open times are aligned (weeks on Monday, months on the 1st, UTC) and every bar keeps
low <= open, close <= high. History begins on `HISTORY_START_MS` (2017-07-01 UTC), so a long
enough request runs out, as a real one does.

Errors, iTick-style: a JSON body `{"code":N,"msg":"...","data":null}` whose `code` repeats the HTTP
status. A missing or wrong `token` header (with `SimConfig.token` set, or the `rest_fail_auth`
fault) answers HTTP 401 `"invalid token"`; the `rest_rate_limit` fault answers HTTP 429 with
`Retry-After`; bad parameters answer 400; a path other than `/{market}/kline` answers 404.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

from .._logging import get_logger
from ..bars import align_open_time, next_open_time
from ..model import KLINE_PERIODS, Interval
from ._market import SymbolMarket
from ._session import Receive, Send
from ._state import SimState

__all__ = ["HISTORY_START_MS", "REST_MARKETS", "RestApi", "is_rest_path"]

_log = get_logger("itick_bot.sim")

REST_MARKETS: Final = frozenset({"crypto", "stock", "forex", "indices", "future", "fund"})
"""The first path segment of a REST endpoint (PROTOCOL.md sections 1 and 8)."""
HISTORY_START_MS: Final = 1_498_867_200_000
"""2017-07-01 00:00 UTC: the simulator has no bars that open before this."""
MAX_LIMIT: Final = 500

_MINUTE_MS: Final = 60_000
_OCTAVES: Final = 20
"""Noise octaves spaced 1 minute, 2 minutes, ... 2**19 minutes (about a year) apart."""
_INTERIOR: Final = 3
"""Points of the curve sampled inside a bar, besides its open and close, for its high and low."""
_NOTIONAL_PER_MINUTE: Final = 1_000_000.0
"""Typical value traded per minute, in quote currency."""
_MASK: Final = (1 << 64) - 1
_SQRT3: Final = math.sqrt(3.0)


def is_rest_path(path: str) -> bool:
    """True for `/{market}/...` with a known market: a REST request, not a WebSocket endpoint."""
    head, sep, _ = path.removeprefix("/").partition("/")
    return bool(sep) and head in REST_MARKETS


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-mixed 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Curve:
    """One symbol's price at any moment: pure, deterministic per `(seed, symbol)`."""

    def __init__(self, symbol: str, seed: int, anchor_ms: int, volatility: float) -> None:
        market = SymbolMarket(symbol, seed, anchor_ms, volatility=volatility)
        self.start_price = market.step(anchor_ms).last
        self.price_decimals = market.price_decimals
        self.size_decimals = market.size_decimals
        self.tick_size = market.tick_size
        digest = hashlib.blake2b(f"itick-sim-rest:{seed}:{symbol}".encode(), digest_size=8)
        self._key = int.from_bytes(digest.digest(), "big")
        self._volatility = volatility
        # Octave i: grid points 2**i minutes apart, uniform values of unit variance scaled so the
        # sum moves like a random walk of `volatility` per square root of a second.
        self._octaves = [
            (_MINUTE_MS << i, 0.5 * volatility * math.sqrt((_MINUTE_MS << i) / 1000) * _SQRT3)
            for i in range(_OCTAVES)
        ]
        self._anchor_log = self._noise(anchor_ms, {})

    def _unit(self, a: int, b: int) -> float:
        """A uniform number in [-1, 1) for the integers `(a, b)`."""
        h = _mix(self._key ^ _mix((a * 0x100000001B3 + b) & _MASK))
        return (h >> 11) * 2.0**-52 - 1.0

    def _noise(self, t_ms: int, cache: dict[tuple[int, int], float]) -> float:
        total = 0.0
        for i, (spacing, amplitude) in enumerate(self._octaves):
            k, rest = divmod(t_ms, spacing)
            g0 = cache.get((i, k))
            if g0 is None:
                g0 = cache[(i, k)] = self._unit(i, k)
            g1 = cache.get((i, k + 1))
            if g1 is None:
                g1 = cache[(i, k + 1)] = self._unit(i, k + 1)
            total += amplitude * (g0 + (g1 - g0) * (rest / spacing))
        return total

    def price(self, t_ms: int, cache: dict[tuple[int, int], float]) -> float:
        return self.start_price * math.exp(self._noise(t_ms, cache) - self._anchor_log)

    def bar(
        self, interval: Interval, open_time: int, end: int, cache: dict[tuple[int, int], float]
    ) -> dict[str, float | int]:
        """The bar opening at `open_time` as it stands at `end` (its close, or "now")."""
        length = max(end - open_time, 1)
        points = [
            self.price(open_time + length * j // (_INTERIOR + 1), cache)
            for j in range(_INTERIOR + 2)
        ]
        o, c = points[0], points[-1]
        # The path between the sampled points wanders a little further.
        wiggle = self._volatility * math.sqrt(length / 1000 / (_INTERIOR + 1))
        h = max(points) * math.exp(wiggle * abs(self._unit(-1, open_time)))
        lo = min(points) * math.exp(-wiggle * abs(self._unit(-2, open_time)))
        digits = self.price_decimals
        o, h, lo, c = (round(x, digits) for x in (o, h, lo, c))
        h, lo = max(h, o, c), min(max(lo, self.tick_size), o, c)
        minutes = length / _MINUTE_MS
        mean = (o + h + lo + c) / 4
        v = (
            _NOTIONAL_PER_MINUTE
            / mean
            * minutes
            * math.exp(0.5 * _SQRT3 * self._unit(-3, open_time))
        )
        v = max(round(v, self.size_decimals), 10.0**-self.size_decimals)
        tu = round(v * mean, digits + self.size_decimals)
        return {"t": open_time, "o": o, "h": h, "l": lo, "c": c, "v": v, "tu": tu}


def _json(
    status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return (
        status,
        [(b"content-type", b"application/json"), *(headers or [])],
        msgspec.json.encode(body),
    )


def _error(
    status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return _json(status, {"code": status, "msg": message, "data": None}, headers)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    if not values or not values[0].strip():
        return None
    return int(values[0])


class RestApi:
    """The REST half of the simulator. Created with the app; its history is anchored then."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self._anchor_ms = state.market_now_ms()
        self._curves: dict[str, _Curve] = {}

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        status, headers, body = self.answer(scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """`(status, headers, body)` for one HTTP request."""
        state = self._state
        faults = state.faults
        state.stats.rest_requests += 1
        try:
            if faults.rest_rate_limit > 0:
                faults.rest_rate_limit -= 1
                state.stats.rest_rate_limited += 1
                retry = str(state.config.rest_retry_after).encode()
                return _error(429, "too many requests", [(b"retry-after", retry)])
            expected = state.config.token
            key = _header(scope, b"token")
            if faults.rest_fail_auth or (expected is not None and key != expected):
                state.stats.rest_refused += 1
                _log.info("REST request refused: invalid token")
                return _error(401, "invalid token")
            path = scope.get("path", "")
            market, _, endpoint = path.removeprefix("/").partition("/")
            if endpoint != "kline":
                return _error(
                    404,
                    f"the simulator serves only GET /{market}/kline over REST, not {path[:80]!r}",
                )
            if scope.get("method", "GET") != "GET":
                return _error(405, "use GET")
            return self._kline(scope)
        finally:
            state.notify()

    def _kline(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        code = (query.get("code") or [""])[0].strip()
        if not code:
            return _error(400, "code is required (a symbol such as BTCUSDT)")
        try:
            k_type = _int_param(query, "kType")
            limit = _int_param(query, "limit")
            et = _int_param(query, "et")
        except ValueError:
            return _error(400, "kType, limit and et must be whole numbers")
        if k_type is None or k_type not in KLINE_PERIODS:
            return _error(400, "kType must be 1-10")
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"limit must be 1-{MAX_LIMIT}")
        if et is not None and et < 0:
            return _error(400, "et must be a time in epoch milliseconds")
        if self._state.faults.rest_empty:
            return _json(200, {"code": 0, "msg": None, "data": []})
        symbol = code.upper()
        curve = self._curves.get(symbol)
        if curve is None:
            config = self._state.config
            curve = self._curves[symbol] = _Curve(
                symbol, config.seed, self._anchor_ms, config.volatility
            )
        now = self._state.market_now_ms()
        interval = KLINE_PERIODS[k_type]
        newest = align_open_time(min(now, et) if et is not None else now, interval)
        opens: list[int] = []
        t = newest
        while len(opens) < limit and t >= HISTORY_START_MS:
            opens.append(t)
            t = align_open_time(t - 1, interval)
        opens.reverse()
        cache: dict[tuple[int, int], float] = {}
        rows = [curve.bar(interval, t, min(next_open_time(t, interval), now), cache) for t in opens]
        return _json(200, {"code": 0, "msg": None, "data": rows})
