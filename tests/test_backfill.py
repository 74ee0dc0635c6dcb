"""Bar backfill over REST (`itick_bot.backfill`): against the simulator's REST endpoint over real
loopback HTTP, and its paging and error handling against scripted answers (`MockTransport`)."""

from __future__ import annotations

import itertools
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pytest

from itick_bot.backfill import (
    MAX_LIMIT,
    BackfillReport,
    backfill,
    fetch_bars,
    rest_base_url,
    rest_market,
)
from itick_bot.bars import BarStore, align_open_time, next_open_time
from itick_bot.cli import build_parser
from itick_bot.cli._sim import config_from_args
from itick_bot.errors import ConfigError
from itick_bot.model import INTERVAL_MS, Bar, Interval
from itick_bot.sim import SimConfig, Simulator

KEY = "a5ca43ba-0123-4567-89ab-cdef0123290c8"
"""A key long enough to be shown masked."""
WRONG = "ffffffff-not-the-right-key-0000000000000"
MINUTE = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimConfig(seed=5, rest_retry_after=0)).running() as running:
        yield running


def texts(report: BackfillReport) -> str:
    return "\n".join([*report.lines(), *(repr(e) for e in report.entries)])


# -- the URL mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ws_url", "base", "market"),
    [
        ("wss://api.itick.org/crypto", "https://api.itick.org", "crypto"),
        ("wss://api-free.itick.org/crypto", "https://api-free.itick.org", "crypto"),
        ("wss://api.itick.org/forex", "https://api.itick.org", "forex"),
        ("wss://api.itick.org/cws", "https://api.itick.org", "crypto"),
        ("wss://api.itick.org/sws/", "https://api.itick.org", "stock"),
        ("ws://127.0.0.1:8765/crypto", "http://127.0.0.1:8765", "crypto"),
        ("ws://127.0.0.1:8765/crypto?token=x", "http://127.0.0.1:8765", "crypto"),
        ("ws://[::1]:9/indices", "http://[::1]:9", "indices"),
        ("wss://proxy.example/itick/stock", "https://proxy.example/itick", "stock"),
    ],
)
def test_rest_base_url_and_market(ws_url: str, base: str, market: str) -> None:
    assert rest_base_url(ws_url) == base
    assert rest_market(ws_url) == market


@pytest.mark.parametrize(
    "ws_url", ["sim", "wss://api.itick.org", "wss://api.itick.org/nowhere", "ftp://h/crypto"]
)
def test_rest_base_url_refuses_urls_without_a_market(ws_url: str) -> None:
    with pytest.raises(ConfigError, match="cannot derive iTick's REST address"):
        rest_base_url(ws_url)


# -- the simulator's REST endpoint ----------------------------------------------------------------


async def test_sim_kline_answers_aligned_bars_newest_forming(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.rest_url, trust_env=False) as http:
        before = now_ms()
        answer = await http.get(
            "/crypto/kline", params={"region": "BA", "code": "BTCUSDT", "kType": 2, "limit": 50}
        )
        after = now_ms()
        assert answer.status_code == 200
        body = answer.json()
        assert body["code"] == 0
        assert body["msg"] is None
        rows = body["data"]
        assert len(rows) == 50
        times = [r["t"] for r in rows]
        assert times == sorted(set(times))
        assert all(t % (5 * MINUTE) == 0 for t in times)
        assert np.all(np.diff(times) == 5 * MINUTE)
        # The newest bar is the one forming now.
        assert align_open_time(before, "5m") <= times[-1] <= align_open_time(after, "5m")
        for a, b in itertools.pairwise(rows):
            assert a["c"] == b["o"]  # a bar closes where the next opens
        for r in rows:
            assert r["l"] <= min(r["o"], r["c"]) <= max(r["o"], r["c"]) <= r["h"]
            assert r["l"] > 0
            assert r["v"] > 0
            assert r["tu"] > 0

        # `et` pages backwards; the same seed gives the same closed bars whatever the paging.
        older = await http.get(
            "/crypto/kline",
            params={"region": "BA", "code": "BTCUSDT", "kType": 2, "limit": 20, "et": times[10]},
        )
        older_rows = older.json()["data"]
        assert len(older_rows) == 20
        assert older_rows[-11:] == rows[:11]
        assert older_rows[0]["t"] == times[0] - 9 * 5 * MINUTE


async def test_sim_kline_is_deterministic_per_seed_and_symbol(sim: Simulator) -> None:
    params = {"region": "BA", "code": "ETHUSDT", "kType": 8, "limit": 10, "et": 1_700_000_000_000}
    async with httpx.AsyncClient(base_url=sim.rest_url, trust_env=False) as http:
        first = (await http.get("/crypto/kline", params=params)).json()["data"]
        again = (await http.get("/crypto/kline", params=params)).json()["data"]
        other = (await http.get("/crypto/kline", params={**params, "code": "SOLUSDT"})).json()[
            "data"
        ]
    assert first == again
    assert [r["t"] for r in first] == [r["t"] for r in other]
    assert [r["c"] for r in first] != [r["c"] for r in other]
    assert all(r["t"] <= params["et"] for r in first)


async def test_sim_rest_refusals_and_other_paths(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.rest_url, trust_env=False) as http:
        ok = {"region": "BA", "code": "BTCUSDT", "kType": 1, "limit": 5}
        for params, message in [
            ({**ok, "limit": MAX_LIMIT + 1}, "limit must be 1-500"),
            ({**ok, "limit": 0}, "limit must be 1-500"),
            ({**ok, "kType": 11}, "kType must be 1-10"),
            ({**ok, "kType": "x"}, "whole numbers"),
            ({**ok, "code": ""}, "code is required"),
        ]:
            answer = await http.get("/crypto/kline", params=params)
            assert answer.status_code == 400
            assert answer.json() == {"code": 400, "msg": answer.json()["msg"], "data": None}
            assert message in answer.json()["msg"]
        missing = await http.get("/crypto/quote", params=ok)
        assert missing.status_code == 404
        assert "/crypto/kline" in missing.json()["msg"]
        # The WebSocket endpoint itself still tells plain HTTP to upgrade.
        assert (await http.get("/crypto")).status_code == 426


async def test_sim_rest_key_check_and_fault_switches() -> None:
    config = SimConfig(token=KEY, rest_retry_after=7)
    async with Simulator(config).running() as sim:
        async with httpx.AsyncClient(base_url=sim.rest_url, trust_env=False) as http:
            params = {"region": "BA", "code": "BTCUSDT", "kType": 1, "limit": 3}

            async def get(token: str | None) -> httpx.Response:
                headers = {"token": token} if token is not None else {}
                return await http.get("/crypto/kline", params=params, headers=headers)

            assert (await get(KEY)).status_code == 200
            for token in (None, WRONG):
                refused = await get(token)
                assert refused.status_code == 401
                assert refused.json() == {"code": 401, "msg": "invalid token", "data": None}
            # The key only counts in the header: not in the query.
            query = await http.get("/crypto/kline", params={**params, "token": KEY})
            assert query.status_code == 401

            sim.set_rest_fail_auth(True)
            assert (await get(KEY)).status_code == 401
            sim.set_rest_fail_auth(False)

            sim.rate_limit_rest(2)
            for _ in range(2):
                limited = await get(KEY)
                assert limited.status_code == 429
                assert limited.headers["retry-after"] == "7"
                assert limited.json()["code"] == 429
            assert (await get(KEY)).status_code == 200

            sim.set_rest_empty(True)
            empty = await get(KEY)
            assert empty.json() == {"code": 0, "msg": None, "data": []}
            sim.set_rest_empty(False)
            assert len((await get(KEY)).json()["data"]) == 3
        assert sim.stats.rest_refused == 4
        assert sim.stats.rest_rate_limited == 2
        assert sim.stats.rest_requests == 10


def test_sim_rest_flags_reach_the_config() -> None:
    args = build_parser().parse_args(
        ["sim", "--rest-fail-auth", "--rest-rate-limit", "3", "--rest-retry-after", "0",
         "--rest-empty"]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.rest_fail_auth
    assert config.rest_rate_limit == 3
    assert config.rest_retry_after == 0
    assert config.rest_empty
    plain = config_from_args(build_parser().parse_args(["sim"]))
    assert (plain.rest_fail_auth, plain.rest_rate_limit, plain.rest_empty) == (False, 0, False)
    assert plain.rest_retry_after == 1
    with pytest.raises(ConfigError, match="rest_rate_limit"):
        SimConfig(rest_rate_limit=-1)


# -- backfill against the simulator ----------------------------------------------------------------


def assert_closed_contiguous(bars: list[Bar], interval: Interval, now: int, count: int) -> None:
    assert len(bars) == count
    times = [b.open_time for b in bars]
    assert all(align_open_time(t, interval) == t for t in times)
    assert np.all(np.diff(times) == INTERVAL_MS[interval])  # strictly increasing, no gaps
    # The newest bar is the last closed one: the forming bar was dropped.
    assert next_open_time(times[-1], interval) <= now
    assert times[-1] == align_open_time(now, interval) - INTERVAL_MS[interval]
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


async def test_backfill_loads_n_closed_bars_per_symbol_and_interval(sim: Simulator) -> None:
    count = 1200  # more than 500: three pages per series
    store = BarStore(("1m", "5m"), history=2000)
    now = now_ms()
    report = await backfill(
        store, sim.url, KEY, ["BTCUSDT", "ethusdt$BA", "BTC_USDT"], ["1m", "5m"], count, now_ms=now
    )
    assert report.ok, texts(report)
    assert report.loaded == 4 * count
    assert [(e.symbol, e.interval, e.loaded) for e in report.entries] == [
        ("BTCUSDT", "1m", count), ("BTCUSDT", "5m", count),
        ("ETHUSDT", "1m", count), ("ETHUSDT", "5m", count),
    ]  # fmt: skip
    assert report.summary == "backfill: 4800 bars for 2 symbols x 2 intervals"
    assert report.lines()[1] == "  BTCUSDT 1m: loaded 1200 bars"
    assert sim.stats.rest_requests == 4 * 3
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for interval in ("1m", "5m"):
            series = store.series(symbol, interval)  # type: ignore[arg-type]
            assert len(series.close) == count
            assert series.forming is None
            assert series.region == "BA"
            assert_closed_contiguous(list(series), interval, now, count)  # type: ignore[arg-type]
    # Different symbols, different prices.
    assert store.series("BTCUSDT", "1m").close[-1] != store.series("ETHUSDT", "1m").close[-1]


async def test_fetch_bars_pages_consistently(sim: Simulator) -> None:
    now = now_ms()
    async with httpx.AsyncClient(trust_env=False) as http:
        long = await fetch_bars(
            http, sim.rest_url, "crypto", "BTCUSDT", "BA", "1m", 1001, token=None, now_ms=now
        )
        short = await fetch_bars(
            http, sim.rest_url, "crypto", "BTCUSDT", "BA", "1m", 7, token=None, now_ms=now
        )
    assert long.error is None
    assert long.requests == 3  # 500 + 500 + 2: the first page asks one more for the forming bar
    assert long.dropped_forming == 1
    assert_closed_contiguous(list(long.bars), "1m", now, 1001)
    assert short.bars == long.bars[-7:]
    for a, b in itertools.pairwise(long.bars):
        assert a.close == b.open


async def test_backfill_history_shorter_than_asked(sim: Simulator) -> None:
    store = BarStore(("1M",), history=500)
    report = await backfill(store, sim.url, None, ["BTCUSDT"], None, 400)
    (entry,) = report.entries
    assert entry.ok
    assert entry.exhausted
    assert 90 < entry.loaded < 400  # the simulator's history starts in July 2017
    assert (
        entry.message == f"BTCUSDT 1M: loaded {entry.loaded} of 400 bars (the history has no more)"
    )
    assert len(store.series("BTCUSDT", "1M").close) == entry.loaded


async def test_backfill_bad_key_is_reported_and_never_shown(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Simulator(SimConfig(token=KEY)).running() as sim:
        store = BarStore(("1m", "5m"))
        with caplog.at_level(logging.DEBUG):
            report = await backfill(
                store, sim.url, WRONG, ["BTCUSDT", "ETHUSDT", "SOLUSDT"], None, 100, concurrency=1
            )
        assert not report.ok
        assert report.loaded == 0
        assert len(report.errors) == 6
        assert {e.kind for e in report.entries} == {"key"}
        first = report.entries[0]
        assert first.error == "key refused (HTTP 401: invalid token); check the API key"
        assert first.message == (
            "BTCUSDT 1m: loaded 0 of 100 bars: key refused (HTTP 401: invalid token); "
            "check the API key"
        )
        # Once the key is refused the rest are not even tried.
        assert sim.stats.rest_requests == 1
        assert all(e.error and e.error.endswith("(not tried)") for e in report.entries[1:])
        assert report.summary.endswith("; 6 of 6 incomplete (see below)")
        assert len(store.series("BTCUSDT", "1m")) == 0

        # The right key works against the same server; `rest_fail_auth` refuses even that.
        good = await backfill(store, sim.url, KEY, ["BTCUSDT"], ["1m"], 10)
        assert good.ok
        assert good.loaded == 10
        sim.set_rest_fail_auth(True)
        refused = await backfill(BarStore(("1m",)), sim.url, KEY, ["BTCUSDT"], None, 10)
        assert refused.entries[0].kind == "key"
    logged = caplog.text + "".join(capsys.readouterr())
    for text in (texts(report), texts(good), texts(refused), logged):
        assert KEY not in text
        assert WRONG not in text


async def test_backfill_retries_after_429(sim: Simulator) -> None:
    sim.rate_limit_rest(2)
    store = BarStore(("1m",))
    report = await backfill(store, sim.url, None, ["BTCUSDT", "ETHUSDT"], None, 600)
    assert report.ok, texts(report)
    assert report.loaded == 1200
    assert sim.stats.rest_rate_limited == 2
    assert sim.stats.rest_requests == 2 * 2 + 2


async def test_backfill_waits_what_retry_after_asks() -> None:
    async with Simulator(SimConfig(rest_rate_limit=1, rest_retry_after=1)).running() as sim:
        started = time.monotonic()
        report = await backfill(BarStore(("5m",)), sim.url, None, ["BTCUSDT"], None, 20)
        elapsed = time.monotonic() - started
    assert report.ok
    assert report.loaded == 20
    assert 1.0 <= elapsed < 5.0


async def test_backfill_gives_up_on_429_for_ever_and_goes_on(sim: Simulator) -> None:
    store = BarStore(("1m", "5m"))
    # BTCUSDT 1m is loaded first, then the server rate-limits everything.
    first = await backfill(store, sim.url, None, ["BTCUSDT"], ["1m"], 50)
    assert first.ok
    sim.rate_limit_rest(10**9)
    report = await backfill(store, sim.url, None, ["ETHUSDT"], None, 50, concurrency=1)
    assert [e.kind for e in report.entries] == ["rate_limit", "rate_limit"]
    assert report.entries[0].message == (
        "ETHUSDT 1m: loaded 0 of 50 bars: rate limited (HTTP 429) 3 times in a row; gave up "
        "(try later, or ask for fewer symbols or bars)"
    )
    assert sim.stats.rest_rate_limited == 6  # 1 + 2 retries, twice
    assert len(store.series("BTCUSDT", "1m")) == 50  # what was loaded stays


async def test_backfill_gives_up_at_once_on_a_long_retry_after() -> None:
    config = SimConfig(rest_rate_limit=5, rest_retry_after=3600)
    async with Simulator(config).running() as sim:
        report = await backfill(BarStore(("1m",)), sim.url, None, ["BTCUSDT"], None, 50)
        assert sim.stats.rest_requests == 1
    assert report.entries[0].error == (
        "rate limited (HTTP 429): the server asks to wait 3600 s, more than the 30 s allowed; "
        "gave up"
    )


async def test_backfill_empty_history(sim: Simulator) -> None:
    sim.set_rest_empty(True)
    report = await backfill(BarStore(("1m",)), sim.url, None, ["BTCUSDT"], None, 50)
    (entry,) = report.entries
    assert entry.kind == "empty"
    assert entry.message == "BTCUSDT 1m: loaded 0 of 50 bars: no history for BTCUSDT in region 'BA'"


async def test_backfill_unreachable_server_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/crypto"
    report = await backfill(BarStore(("1m",)), url, KEY, ["BTCUSDT"], None, 10)
    (entry,) = report.entries
    assert entry.kind == "transport"
    assert entry.error is not None
    assert entry.error.startswith(f"cannot reach http://127.0.0.1:{port}: ConnectError")
    assert KEY not in texts(report)


async def test_backfill_skips_bars_the_store_already_holds(sim: Simulator) -> None:
    store = BarStore(("1m",))
    now = now_ms()
    await backfill(store, sim.url, None, ["BTCUSDT"], None, 30, now_ms=now)
    again = await backfill(store, sim.url, None, ["BTCUSDT"], None, 30, now_ms=now)
    assert again.entries[0].loaded == 0
    assert again.entries[0].message == "BTCUSDT 1m: loaded 0 of 30 bars (30 already held)"
    assert len(store.series("BTCUSDT", "1m")) == 30


# -- paging and answers, scripted ------------------------------------------------------------------

BASE = "https://api.example"
NOW = 1_731_690_000_000  # 2024-11-15 17:00 UTC, on a minute boundary
Handler = Callable[[httpx.Request], httpx.Response]


def row(t: int, price: float = 100.0) -> dict[str, Any]:
    return {"t": t, "o": price, "h": price + 1, "l": price - 1, "c": price, "v": 2, "tu": 200}


def history_server(
    total: int, *, newest: int = NOW, seen: list[httpx.Request] | None = None
) -> Handler:
    """iTick as documented: `total` 1m bars up to the forming one at `newest`, `et` honoured."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        limit = int(request.url.params["limit"])
        et = int(request.url.params.get("et", newest))
        times = [t for t in range(newest - (total - 1) * MINUTE, newest + 1, MINUTE) if t <= et]
        return httpx.Response(
            200, json={"code": 0, "msg": None, "data": [row(t) for t in times[-limit:]]}
        )

    return handle


async def fetch(handler: Handler, count: int, **kw: Any) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await fetch_bars(
            http, BASE, "crypto", "BTCUSDT", "BA", "1m", count, token=KEY, now_ms=NOW + 30_000, **kw
        )


async def test_paging_requests_and_parameters() -> None:
    seen: list[httpx.Request] = []
    result = await fetch(history_server(5000, seen=seen), 1200)
    assert result.error is None
    assert len(result.bars) == 1200
    assert result.bars[-1].open_time == NOW - MINUTE  # the forming bar at NOW was dropped
    assert [dict(r.url.params) for r in seen] == [
        {"region": "BA", "code": "BTCUSDT", "kType": "1", "limit": "500"},
        {"region": "BA", "code": "BTCUSDT", "kType": "1", "limit": "500",
         "et": str(NOW - 499 * MINUTE - 1)},
        {"region": "BA", "code": "BTCUSDT", "kType": "1", "limit": "201",
         "et": str(NOW - 999 * MINUTE - 1)},
    ]  # fmt: skip
    assert all(r.url.path == "/crypto/kline" for r in seen)
    assert all(r.headers["token"] == KEY for r in seen)
    assert all(KEY not in str(r.url) for r in seen)


async def test_paging_stops_when_the_history_runs_out() -> None:
    seen: list[httpx.Request] = []
    result = await fetch(history_server(700, seen=seen), 1000)
    assert result.error is None
    assert result.exhausted
    assert len(result.bars) == 699  # 700 rows, the forming one dropped
    assert len(seen) == 2


async def test_paging_tolerates_newest_first_overlapping_pages() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        et = int(request.url.params.get("et", NOW)) // MINUTE * MINUTE + 5 * MINUTE  # overlaps
        limit = int(request.url.params["limit"])
        times = [min(et, NOW) - i * MINUTE for i in range(limit)]  # newest first
        return httpx.Response(200, json={"code": 0, "data": [row(t) for t in times]})

    result = await fetch(handle, 1000)
    assert result.error is None
    times = [b.open_time for b in result.bars]
    assert len(times) == 1000
    assert np.all(np.diff(times) == MINUTE)
    assert times[-1] == NOW - MINUTE


async def test_paging_that_makes_no_progress_is_an_unexpected_answer() -> None:
    def handle(request: httpx.Request) -> httpx.Response:  # ignores et
        limit = int(request.url.params["limit"])
        return httpx.Response(
            200, json={"code": 0, "data": [row(NOW - i * MINUTE) for i in range(limit)]}
        )

    result = await fetch(handle, 800)
    assert result.kind == "unexpected"
    assert "the server ignores et?" in result.error
    assert len(result.bars) == 499  # what it has


async def test_rate_limit_midway_keeps_the_newest_bars() -> None:
    good = history_server(5000)
    calls = [0]

    def handle(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] == 1:
            return good(request)
        return httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 429, "msg": "slow"})

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = await fetch(handle, 1000, sleep=sleep)
    assert result.kind == "rate_limit"
    assert result.error == (
        "rate limited (HTTP 429) 3 times in a row, after waiting 4 s; gave up "
        "(try later, or ask for fewer symbols or bars)"
    )
    assert waits == [2.0, 2.0]
    assert len(result.bars) == 499
    assert result.bars[-1].open_time == NOW - MINUTE


async def test_retry_after_as_a_date_and_absent() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(429),
    ]
    good = history_server(100)

    def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else good(request)

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = await fetch(handle, 10, sleep=sleep)
    assert result.error is None
    assert len(result.bars) == 10
    assert waits == [0.0, 2.0]  # a date in the past: at once; then the default, doubled


def answer(status: int = 200, **kw: Any) -> Handler:
    return lambda request: httpx.Response(status, **kw)


@pytest.mark.parametrize(
    ("handler", "kind", "message"),
    [
        (answer(403, text="Forbidden"), "key", "key refused (HTTP 403); check the API key"),
        (
            answer(json={"code": 1, "msg": f"token {KEY} is invalid"}),
            "key",
            "key refused (code 1: token a5ca43ba…290c8 is invalid); check the API key",
        ),
        (
            answer(json={"code": 7, "msg": "symbol not found"}),
            "unexpected",
            "unexpected answer: code 7: symbol not found (success is code 0)",
        ),
        (answer(json={"msg": "ok"}), "unexpected", 'unexpected answer: no "code" field'),
        (answer(json=[1, 2]), "unexpected", "unexpected answer: a JSON list, not an object"),
        (
            answer(json={"code": 0, "data": {"t": 1}}),
            "unexpected",
            'unexpected answer: "data" is a dict, not a list',
        ),
        (
            answer(json={"code": 0, "data": [{"t": NOW, "o": 1, "l": 1, "c": 1}]}),
            "unexpected",
            "unexpected answer: row 0 has no number for 'h'",
        ),
        (
            answer(json={"code": 0, "data": [{**row(NOW), "c": "n/a"}]}),
            "unexpected",
            "unexpected answer: row 0 has 'c' = 'n/a'",
        ),
        (
            answer(json={"code": 0, "data": [row(NOW // 1000)]}),
            "unexpected",
            f"unexpected answer: bar time {NOW // 1000} is not the open of a 1m bar "
            "(a different period, or seconds instead of milliseconds?)",
        ),
        (
            answer(text="<html>gateway</html>"),
            "unexpected",
            "unexpected answer: not JSON (<html>gateway</html>)",
        ),
        (
            answer(502, json={"code": 502, "msg": "upstream down"}),
            "http",
            "HTTP 502: upstream down",
        ),
        (answer(500, text=""), "http", "HTTP 500: Internal Server Error"),
        (
            answer(json={"code": 0, "msg": None, "data": None}),
            "empty",
            "no history for BTCUSDT in region 'BA'",
        ),
        (
            answer(json={"code": 0, "data": [row(NOW)]}),
            "empty",
            "no history (only the forming 1m bar) for BTCUSDT in region 'BA'",
        ),
    ],
)
async def test_each_bad_answer_is_reported(handler: Handler, kind: str, message: str) -> None:
    result = await fetch(handler, 10)
    assert result.kind == kind
    assert result.error == message
    assert result.bars == ()
    assert KEY not in result.error


async def test_numeric_strings_and_missing_volume_are_accepted() -> None:
    rows = [
        {"t": str(NOW - 2 * MINUTE), "o": "1.5", "h": "2", "l": "1", "c": "1.75"},
        {"t": NOW - MINUTE, "o": 1.75, "h": 2, "l": 1, "c": 1.8, "v": "3", "tu": 5.4},
    ]
    result = await fetch(answer(json={"code": "0", "data": rows}), 10)
    assert result.error is None
    assert result.exhausted
    first, second = result.bars
    assert (first.open_time, first.open, first.close, first.volume) == (
        NOW - 2 * MINUTE,
        1.5,
        1.75,
        0.0,
    )
    assert (second.volume, second.turnover, second.region) == (3.0, 5.4, "BA")
