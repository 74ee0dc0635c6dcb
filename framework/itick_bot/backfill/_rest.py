"""One fetch over iTick's REST API (PROTOCOL.md section 8): `fetch_bars` pages backwards through
`GET /{market}/kline` for one symbol and interval, and the URLs it is sent to.

The key travels only in the `token` header; no message carries it (server texts are scrubbed of
it, PROTOCOL.md section 9).
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from .._logging import get_logger
from ..bars import align_open_time, next_open_time
from ..config import mask_secret
from ..errors import ConfigError
from ..model import INTERVALS, Bar, Interval, kline_of_interval
from ..symbols import split_symbol
from ._results import BackfillResult, ErrorKind

__all__ = ["MAX_LIMIT", "fetch_bars", "rest_base_url", "rest_market", "split_ws_url"]

_log = get_logger("itick_bot.backfill")

MAX_LIMIT: Final = 500
"""The most bars iTick returns for one request."""

_MARKET_OF_PATH: Final = {
    "crypto": "crypto",
    "stock": "stock",
    "forex": "forex",
    "indices": "indices",
    "future": "future",
    "fund": "fund",
    # The legacy WebSocket paths of the original document (PROTOCOL.md section 1).
    "cws": "crypto",
    "sws": "stock",
    "fws": "forex",
    "iws": "indices",
}
_SCHEMES: Final = {"wss": "https", "ws": "http", "https": "https", "http": "http"}
_KEY_WORDS: Final = ("token", "key", "auth", "unauthor", "forbidden", "permission", "credential")
_DEFAULT_RETRY_S: Final = 1.0
"""The wait after a 429 without a usable `Retry-After` (doubled on each retry)."""

Sleep: TypeAlias = Callable[[float], Awaitable[None]]


# -- URLs -----------------------------------------------------------------------------------------


def split_ws_url(ws_url: str) -> tuple[str, str]:
    parts = urlsplit(ws_url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    segments = [s for s in parts.path.split("/") if s]
    market = _MARKET_OF_PATH.get(segments[-1].lower()) if segments else None
    if scheme is None or not parts.netloc or market is None:
        raise ConfigError(
            f"cannot derive iTick's REST address from the feed URL {ws_url!r}: expected "
            "wss://HOST/MARKET or ws://HOST:PORT/MARKET with MARKET one of "
            f"{', '.join(_MARKET_OF_PATH)}"
        )
    prefix = "/".join(segments[:-1])
    base = urlunsplit((scheme, parts.netloc, f"/{prefix}" if prefix else "", "", ""))
    return base, market


def rest_base_url(ws_url: str) -> str:
    """The REST base of a feed URL: `wss://api.itick.org/crypto` is `https://api.itick.org`
    (`api-free.itick.org` likewise), `ws://127.0.0.1:PORT/crypto` is `http://127.0.0.1:PORT`.
    Query and the market path segment are dropped. Raises `ConfigError` for a URL that names no
    market (see `rest_market`)."""
    return split_ws_url(ws_url)[0]


def rest_market(ws_url: str) -> str:
    """The REST market of a feed URL, from its last path segment: `/crypto` (or the legacy `/cws`)
    is `crypto`, so bars come from `GET /crypto/kline`. Raises `ConfigError` otherwise."""
    return split_ws_url(ws_url)[1]


# -- one fetch ------------------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message


def _scrub(text: str, token: str | None, limit: int = 200) -> str:
    """A server's text as it may appear in a message: the key masked, one line, bounded."""
    if token:
        text = text.replace(token, mask_secret(token))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _body_message(body: Any) -> str:
    if isinstance(body, dict):
        msg = body.get("msg", body.get("message"))
        if msg not in (None, ""):
            return str(msg)
    return ""


def _looks_like_key_problem(message: str) -> bool:
    low = message.lower()
    return any(word in low for word in _KEY_WORDS)


def _number(row: dict[str, Any], name: str, index: int, *, required: bool) -> float:
    value = row.get(name)
    if value is None and not required:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Failure("unexpected", f"unexpected answer: row {index} has no number for {name!r}")
    try:
        number = float(value)
    except ValueError:
        raise _Failure(
            "unexpected", f"unexpected answer: row {index} has {name!r} = {str(value)[:40]!r}"
        ) from None
    if not math.isfinite(number):
        raise _Failure("unexpected", f"unexpected answer: row {index} has {name!r} = {value}")
    return number


def _rows(body: Any, token: str | None) -> list[Any]:
    """The `data` list of a successful answer; raises `_Failure` for anything else."""
    if not isinstance(body, dict):
        raise _Failure(
            "unexpected", f"unexpected answer: a JSON {type(body).__name__}, not an object"
        )
    if "code" not in body:
        raise _Failure("unexpected", 'unexpected answer: no "code" field')
    code = body["code"]
    msg = _scrub(_body_message(body), token)
    if code != 0 and code != "0":
        detail = f"code {_scrub(str(code), token, 20)}" + (f": {msg}" if msg else "")
        if code in (401, 403, "401", "403") or _looks_like_key_problem(msg):
            raise _Failure("key", f"key refused ({detail}); check the API key")
        raise _Failure("unexpected", f"unexpected answer: {detail} (success is code 0)")
    data = body.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise _Failure(
            "unexpected", f'unexpected answer: "data" is a {type(data).__name__}, not a list'
        )
    return data


async def _get(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str | int],
    *,
    token: str | None,
    max_retries: int,
    max_retry_wait: float,
    sleep: Sleep,
    counter: list[int],
) -> list[Any]:
    """One page, retrying HTTP 429 up to `max_retries` times."""
    headers = {"token": token} if token else {}
    base = url.rsplit("/", 2)[0]
    retries = 0
    waited = 0.0
    while True:
        counter[0] += 1
        try:
            response = await client.get(url, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Failure(
                "transport", f"no answer from {base} in time ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            text = _scrub(str(exc), token) or "no details"
            raise _Failure(
                "transport", f"cannot reach {base}: {type(exc).__name__}: {text}"
            ) from None
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        msg = _scrub(_body_message(body), token)
        body_code = body.get("code") if isinstance(body, dict) else None
        if status == 429 or (status == 200 and body_code in (429, "429")):
            delay = _retry_after(response.headers.get("retry-after"))
            if delay is None:
                delay = _DEFAULT_RETRY_S * 2**retries
            if retries >= max_retries:
                raise _Failure(
                    "rate_limit",
                    f"rate limited (HTTP 429) {retries + 1} times in a row"
                    + (f", after waiting {waited:g} s" if waited else "")
                    + "; gave up (try later, or ask for fewer symbols or bars)",
                )
            if delay > max_retry_wait:
                raise _Failure(
                    "rate_limit",
                    f"rate limited (HTTP 429): the server asks to wait {delay:g} s, more than "
                    f"the {max_retry_wait:g} s allowed; gave up",
                )
            _log.info("REST rate limited; retrying", wait_s=delay, url=url)
            await sleep(delay)
            waited += delay
            retries += 1
            continue
        if status in (401, 403):
            detail = f"HTTP {status}" + (f": {msg}" if msg else "")
            raise _Failure("key", f"key refused ({detail}); check the API key")
        if status >= 400 or status < 200:
            detail = msg or _scrub(response.reason_phrase or response.text, token, 120)
            raise _Failure("http", f"HTTP {status}" + (f": {detail}" if detail else ""))
        if body is None:
            raise _Failure(
                "unexpected",
                f"unexpected answer: not JSON ({_scrub(response.text, token, 60) or 'empty'})",
            )
        return _rows(body, token)


def _bar(
    row: Any, index: int, symbol: str, region: str, interval: Interval, received_ns: int
) -> Bar:
    if not isinstance(row, dict):
        raise _Failure(
            "unexpected", f"unexpected answer: row {index} is a {type(row).__name__}, not an object"
        )
    t = _number(row, "t", index, required=True)
    if t != int(t):
        raise _Failure("unexpected", f"unexpected answer: row {index} has time {t}")
    open_time = int(t)
    if align_open_time(open_time, interval) != open_time:
        raise _Failure(
            "unexpected",
            f"unexpected answer: bar time {open_time} is not the open of a {interval} bar "
            "(a different period, or seconds instead of milliseconds?)",
        )
    return Bar(
        symbol,
        interval,
        open_time,
        _number(row, "o", index, required=True),
        _number(row, "h", index, required=True),
        _number(row, "l", index, required=True),
        _number(row, "c", index, required=True),
        _number(row, "v", index, required=False),
        _number(row, "tu", index, required=False),
        region,
        received_ns,
    )


async def fetch_bars(
    client: httpx.AsyncClient,
    base: str,
    market: str,
    symbol: str,
    region: str,
    interval: Interval,
    count: int,
    *,
    token: str | None,
    now_ms: int,
    max_retries: int = 2,
    max_retry_wait: float = 30.0,
    sleep: Sleep = anyio.sleep,
) -> BackfillResult:
    """The last `count` closed `interval` bars of `symbol` in `region`, oldest first.

    Pages backwards through `GET {base}/{market}/kline` with `et = oldest t - 1` (`limit` at most
    500) until `count` closed bars are held or a page comes back shorter than asked (the history
    has no more). A bar whose period has not ended at `now_ms` (epoch ms) is dropped: it is still
    forming. Duplicates are dropped. HTTP 429 is retried up to `max_retries` times, waiting what
    `Retry-After` asks (give up at once if that is more than `max_retry_wait` seconds).

    Never raises for a REST problem: the result carries the bars got so far (from the newest
    back) and `error`/`kind` (see `ErrorKind`).
    """
    symbol = split_symbol(symbol)[0]
    if interval not in INTERVALS:
        raise ValueError(f"unknown bar interval {interval!r}: use one of {', '.join(INTERVALS)}")
    url = f"{base.rstrip('/')}/{market}/kline"
    k_type = kline_of_interval(interval)
    received_ns = now_ms * 1_000_000
    bars: dict[int, Bar] = {}
    counter = [0]
    forming: set[int] = set()
    et: int | None = None
    oldest_seen: int | None = None
    widen = False
    exhausted = False
    error: _Failure | None = None
    while len(bars) < count:
        need = count - len(bars)
        # The first page may carry the forming bar: ask for one more. After a page that brought
        # nothing older (pages that overlap), ask for a full one before calling it stuck.
        limit = MAX_LIMIT if widen else min(MAX_LIMIT, need + 1 if et is None else need)
        params: dict[str, str | int] = {"region": region, "code": symbol, "kType": k_type}
        params["limit"] = limit
        if et is not None:
            params["et"] = et
        try:
            rows = await _get(
                client, url, params, token=token, max_retries=max_retries,
                max_retry_wait=max_retry_wait, sleep=sleep, counter=counter,
            )  # fmt: skip
            page = [_bar(r, i, symbol, region, interval, received_ns) for i, r in enumerate(rows)]
        except _Failure as failure:
            error = failure
            break
        if not page:
            exhausted = True
            break
        for bar in page:
            if next_open_time(bar.open_time, interval) > now_ms:
                forming.add(bar.open_time)
            else:
                bars.setdefault(bar.open_time, bar)
        oldest = min(b.open_time for b in page)
        if len(page) < limit:
            exhausted = True
            break
        if oldest_seen is not None and oldest >= oldest_seen:
            if not widen and limit < MAX_LIMIT:
                widen = True
                continue
            error = _Failure(
                "unexpected",
                f"unexpected answer: asked for bars up to et={et} and got none older than "
                f"{oldest_seen} (the server ignores et?)",
            )
            break
        widen = False
        oldest_seen = oldest
        et = oldest - 1
    if error is None and not bars:
        what = "no history" if not forming else f"no history (only the forming {interval} bar)"
        error = _Failure("empty", f"{what} for {symbol} in region {region!r}")
    newest_first = sorted(bars, reverse=True)[:count]
    result = tuple(bars[t] for t in reversed(newest_first))
    return BackfillResult(
        symbol=symbol,
        region=region,
        interval=interval,
        requested=count,
        bars=result,
        error=None if error is None else error.message,
        kind=None if error is None else error.kind,
        exhausted=exhausted,
        requests=counter[0],
        dropped_forming=len(forming),
    )
