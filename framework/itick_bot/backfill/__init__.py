"""Bar backfill over iTick's REST API (PROTOCOL.md section 8): the last N closed bars per symbol
and interval, loaded into the `BarStore` before strategies start so indicators are warm on the
first event (`[bars] backfill = N`).

`fetch_bars` pages backwards through `GET /{market}/kline` (`limit` at most 500, `et = oldest t -
1`) until it holds N closed bars or the history runs out, drops the bar still forming, removes
duplicates and returns the bars oldest first. `backfill` runs a few fetches at a time, loads them
with `BarStore.backfill` and reports, per symbol and interval, how many bars were loaded or what
went wrong. REST problems never raise: a refused key, a rate limit (HTTP 429, `Retry-After` honoured
once or twice), an empty history, an HTTP or network error, or an answer of the wrong shape is
reported and the run goes on with what it has.

The key travels only in the `token` header; no message carries it (server texts are scrubbed of
it, PROTOCOL.md section 9).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import anyio
import httpx

from .._logging import get_logger
from ..bars import BarStore
from ..config import is_loopback_url
from ..model import Interval
from ..symbols import split_symbol
from ._rest import MAX_LIMIT, fetch_bars, rest_base_url, rest_market, split_ws_url
from ._results import BackfillReport, BackfillResult, ErrorKind, SeriesBackfill

__all__ = [
    "MAX_LIMIT",
    "BackfillReport",
    "BackfillResult",
    "ErrorKind",
    "SeriesBackfill",
    "backfill",
    "fetch_bars",
    "rest_base_url",
    "rest_market",
]

_log = get_logger("itick_bot.backfill")


async def backfill(
    store: BarStore,
    ws_url: str,
    token: str | None,
    symbols: Iterable[str],
    intervals: Sequence[Interval] | None,
    count: int,
    *,
    region: str = "BA",
    now_ms: int | None = None,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 4,
    max_retries: int = 2,
    max_retry_wait: float = 30.0,
    request_timeout: float = 10.0,
) -> BackfillReport:
    """Load the last `count` closed bars of every symbol and interval into `store`.

    `ws_url` is the feed's WebSocket URL (`wss://api.itick.org/crypto`, or a simulator's
    `ws://127.0.0.1:PORT/crypto`): the REST address and market come from it (`rest_base_url`,
    `rest_market`). `token` goes in the `token` header only. `symbols` may carry a region
    (`BTCUSDT$BA`); others use `region`. `intervals` None means the store's. `now_ms` (epoch ms,
    default the wall clock) decides which bar is still forming. At most `concurrency` requests
    run at once, over `client` (not closed here) or else a client of this function's own with
    `request_timeout` seconds per request.

    Never raises for a REST problem: each failure is in the report (and logged), the bars got
    before it are loaded, and once the key is refused the fetches not yet started are skipped.
    Raises `ConfigError` only for a `ws_url` that names no iTick market.
    """
    base, market = split_ws_url(ws_url)
    wanted = tuple(intervals if intervals is not None else store.intervals)
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    unique: dict[tuple[str, str, Interval], None] = {}
    for raw in symbols:
        symbol, own_region = split_symbol(raw)
        unique.update(((symbol, own_region or region, iv), None) for iv in wanted)
    jobs = list(unique)
    results: list[BackfillResult | None] = [None] * len(jobs)
    if count <= 0 or not jobs:
        return BackfillReport(entries=(), count=max(count, 0))
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    refused: list[str] = []

    async def run(index: int, http: httpx.AsyncClient) -> None:
        symbol, reg, interval = jobs[index]
        async with limiter:
            if refused:
                results[index] = BackfillResult(
                    symbol=symbol, region=reg, interval=interval, requested=count, bars=(),
                    error=f"{refused[0]} (not tried)", kind="key",
                )  # fmt: skip
                return
            result = await fetch_bars(
                http, base, market, symbol, reg, interval, count, token=token, now_ms=now,
                max_retries=max_retries, max_retry_wait=max_retry_wait,
            )  # fmt: skip
        if result.kind == "key" and not refused:
            refused.append(result.error or "key refused")
        results[index] = result

    async def run_all(http: httpx.AsyncClient) -> None:
        async with anyio.create_task_group() as tg:
            for index in range(len(jobs)):
                tg.start_soon(run, index, http)

    if client is not None:
        await run_all(client)
    else:
        # A proxy from the environment applies to iTick, never to a simulator on this machine.
        trust_env = not is_loopback_url(ws_url)
        async with httpx.AsyncClient(timeout=request_timeout, trust_env=trust_env) as own:
            await run_all(own)

    entries: list[SeriesBackfill] = []
    for result in results:
        assert result is not None
        loaded = store.backfill(result.bars)
        entry = SeriesBackfill(
            symbol=result.symbol,
            interval=result.interval,
            requested=count,
            fetched=len(result.bars),
            loaded=loaded,
            error=result.error,
            kind=result.kind,
            exhausted=result.exhausted,
        )
        entries.append(entry)
        if entry.ok:
            _log.debug("backfilled", line=entry.message)
        else:
            _log.warning("backfill incomplete", line=entry.message)
    report = BackfillReport(entries=tuple(entries), count=count)
    _log.info(report.summary)
    return report
