"""The simulator speaks PROTOCOL.md: handshake, auth in all three forms, subscribe, heartbeat,
unsubscribe, and data frames that the project's own decoder accepts."""

from __future__ import annotations

import anyio
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from itick_bot.model import Bar, Depth, Quote, Tick
from itick_bot.protocol import (
    Authenticated,
    AuthFailed,
    Connected,
    Malformed,
    Pong,
    ServerNotice,
    Subscribed,
    SubscribeRefused,
)
from itick_bot.sim import CLOSE_AUTH_FAILED, CLOSE_NO_ACTION, SimConfig, Simulator

from .helpers import Client, client

DATA_KINDS = (Quote, Depth, Tick, Bar)


async def collect_kinds(c: Client, limit: int = 3000) -> dict[type, list[object]]:
    """Read until every data kind has been seen at least twice."""
    seen: dict[type, list[object]] = {k: [] for k in DATA_KINDS}
    for _ in range(limit):
        event = await c.event()
        assert not isinstance(event, Malformed), event
        if type(event) in seen:
            seen[type(event)].append(event)
        if all(len(v) >= 2 for v in seen.values()):
            return seen
    raise AssertionError(
        f"not every kind arrived: { {k.__name__: len(v) for k, v in seen.items()} }"
    )


async def test_greeting_then_auth_verdict_with_the_key_in_a_header(sim: Simulator) -> None:
    async with client(sim.url) as c:
        assert await c.event() == Connected("Connected Successfully")
        assert await c.event() == Authenticated("authenticated")
    assert sim.stats.auths_ok == 1


async def test_key_in_the_legacy_query_string_is_accepted() -> None:
    async with (
        Simulator(SimConfig(token="secret-key")).running() as sim,
        client(sim.url + "?token=secret-key", token=None) as c,
    ):
        await c.ready()


async def test_key_in_the_legacy_auth_message_is_accepted() -> None:
    async with (
        Simulator(SimConfig(token="secret-key")).running() as sim,
        client(sim.url, token=None) as c,
    ):
        assert isinstance(await c.event(), Connected)
        await c.send({"ac": "auth", "params": "secret-key"})
        assert isinstance(await c.event(), Authenticated)


async def test_no_key_at_all_is_accepted_when_any_key_is() -> None:
    async with Simulator(SimConfig(token=None)).running() as sim, client(sim.url, token=None) as c:
        await c.ready()


async def test_bad_key_gets_auth_failed_then_the_connection_closes() -> None:
    async with Simulator(SimConfig(token="secret-key")).running() as sim:
        async with client(sim.url, token="wrong") as c:
            assert isinstance(await c.event(), Connected)
            assert await c.event() == AuthFailed("auth failed")
            closed = await c.closed()
            assert closed.rcvd is not None
            assert closed.rcvd.code == CLOSE_AUTH_FAILED
        assert sim.stats.auths_failed == 1


async def test_a_first_message_that_is_not_auth_fails_a_connection_without_key() -> None:
    async with (
        Simulator(SimConfig(token="secret-key")).running() as sim,
        client(sim.url, token=None) as c,
    ):
        assert isinstance(await c.event(), Connected)
        await c.send({"ac": "ping", "params": "1"})
        assert isinstance(await c.event(), AuthFailed)


async def test_subscribe_with_region_streams_every_kind_decodable_and_sane(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA")
        assert isinstance(await c.event(), Subscribed)
        seen = await collect_kinds(c)
    for events in seen.values():
        for event in events:
            assert event.symbol == "BTCUSDT"  # type: ignore[attr-defined]
            assert event.region == "BA"  # type: ignore[attr-defined]
    for depth in seen[Depth]:
        assert isinstance(depth, Depth)
        assert len(depth.bids) == len(depth.asks) == 5
        assert depth.bids[0][0] < depth.asks[0][0]
        assert [p for p, _ in depth.bids] == sorted((p for p, _ in depth.bids), reverse=True)
        assert [p for p, _ in depth.asks] == sorted(p for p, _ in depth.asks)
        assert all(size > 0 for _, size in depth.bids + depth.asks)
    for bar in seen[Bar]:
        assert isinstance(bar, Bar)
        assert bar.interval == "1m"
        assert bar.open_time % 60_000 == 0
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    for tick in seen[Tick]:
        assert isinstance(tick, Tick)
        assert tick.price > 0
        assert tick.size > 0
    for quote in seen[Quote]:
        assert isinstance(quote, Quote)
        assert quote.low is not None
        assert quote.high is not None
        assert quote.low <= quote.last <= quote.high


async def test_bare_symbols_stream_without_region(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("ETHUSDT", "quote,depth")
        await c.expect(Subscribed)
        quote = await c.expect(Quote)
        depth = await c.expect(Depth)
    assert (quote.symbol, quote.region) == ("ETHUSDT", "")
    assert (depth.symbol, depth.region) == ("ETHUSDT", "")


async def test_a_second_subscribe_adds_to_the_first(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA", "depth")
        await c.expect(Subscribed)
        await c.subscribe("ETHUSDT$BA", "depth")
        await c.expect(Subscribed)
        symbols: set[str] = set()
        while symbols != {"BTCUSDT", "ETHUSDT"}:
            symbols.add((await c.expect(Depth)).symbol)
    assert sim.stats.subscriptions == 2


async def test_subscription_limit_is_refused_and_granted_streams_keep_flowing() -> None:
    async with Simulator(SimConfig(rate=200, max_symbols=1)).running() as sim:
        async with client(sim.url) as c:
            await c.ready()
            await c.subscribe("BTCUSDT$BA", "depth")
            await c.expect(Subscribed)
            await c.subscribe("ETHUSDT$BA,SOLUSDT$BA", "depth")
            refused = await c.expect(SubscribeRefused)
            assert refused.msg == "exceeding the maximum subscription limit"
            for _ in range(5):
                assert (await c.expect(Depth)).symbol == "BTCUSDT"
        assert sim.stats.subscriptions_refused == 1


@pytest.mark.parametrize(
    "request_text",
    [
        '{"ac":"subscribe","params":"BTCUSDT$BA"}',  # no types
        '{"ac":"subscribe","params":"BTCUSDT$BA","types":"quote,orderbook"}',  # unknown type
        '{"ac":"dance"}',  # unknown action
        "not json at all",
    ],
)
async def test_a_malformed_request_is_refused_and_the_connection_stays(
    sim: Simulator, request_text: str
) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA", "depth")
        await c.expect(Subscribed)
        await c.send(request_text)
        refused = await c.expect(SubscribeRefused)
        assert refused.msg == "cannot be resolved action"
        await c.expect(Depth)


async def test_ping_is_answered_with_a_pong_echoing_its_params(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.send({"ac": "ping", "params": "1731688569840"})
        pong = await c.expect(Pong)
    assert pong.params == "1731688569840"
    assert sim.stats.pings_answered == 1


async def test_unsubscribe_is_answered_no_action_and_closes(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA", "depth")
        await c.expect(Subscribed)
        await c.send({"ac": "unsubscribe", "params": "BTCUSDT$BA", "types": "depth"})
        notice = await c.expect(ServerNotice)
        assert notice.msg == "no action"
        closed = await c.closed()
    assert closed.rcvd is not None
    assert closed.rcvd.code == CLOSE_NO_ACTION


@pytest.mark.parametrize("path", ["/cws", "/stock", "/forex", "/indices", "/future", "/fund"])
async def test_every_market_path_and_legacy_path_speaks_the_protocol(
    sim: Simulator, path: str
) -> None:
    async with client(sim.url_for(path)) as c:
        await c.ready()


async def test_an_unknown_path_is_refused_with_404(sim: Simulator) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with client(sim.url_for("/nope")):
            pass
    assert refused.value.response.status_code == 404
    assert sim.stats.bad_paths == 1


async def test_plain_http_is_told_to_use_websocket(sim: Simulator) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"http://127.0.0.1:{sim.port}/crypto")
    assert response.status_code == 426
    assert "WebSocket" in response.text


async def test_the_key_never_appears_in_frames_or_logs(capsys: pytest.CaptureFixture[str]) -> None:
    key = "a5ca43ba-secret-290c8"
    async with (
        Simulator(SimConfig(token=key, rate=200)).running() as sim,
        client(sim.url, token=key) as c,
    ):
        await c.ready()
        await c.subscribe("BTCUSDT$BA")
        for _ in range(20):
            await c.event()
        frames = [repr(e) for e in c.events]
    assert not any(key in f for f in frames)
    out = capsys.readouterr()
    assert key not in out.out
    assert key not in out.err


async def test_an_auth_message_after_authentication_is_ignored(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.send({"ac": "auth", "params": "another-key"})
        await c.send({"ac": "ping", "params": "7"})
        pong = await c.event()
    assert isinstance(pong, Pong)
    assert pong.params == "7"


async def test_underscore_spelling_and_legacy_klines_decode_to_canonical_symbols() -> None:
    config = SimConfig(rate=200, time_scale=60, symbol_style="underscore", kline_format="legacy")
    async with Simulator(config).running() as sim, client(sim.url) as c:
        await c.ready()
        await c.subscribe("ETHUSDT$BA", "quote,kline@2")
        await c.expect(Subscribed)
        bar = await c.expect(Bar)
        quote = await c.expect(Quote)
        raw = await c.ws.recv()
    assert bar.symbol == quote.symbol == "ETHUSDT"
    assert bar.interval == "5m"
    assert bar.open_time % 300_000 == 0
    assert "ETH_USDT" in str(raw)


async def test_mixed_spellings_all_canonicalize() -> None:
    config = SimConfig(rate=200, symbol_style="mixed")
    async with Simulator(config).running() as sim, client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA")
        await c.expect(Subscribed)
        seen = await collect_kinds(c)
    for events in seen.values():
        assert {(e.symbol, e.region) for e in events} == {("BTCUSDT", "BA")}  # type: ignore[attr-defined]


async def test_two_clients_see_the_same_market(sim: Simulator) -> None:
    async with client(sim.url) as a, client(sim.url) as b:
        await a.ready()
        await b.ready()
        await sim.wait_for_clients(2)
        await a.subscribe("BTCUSDT$BA", "depth")
        await b.subscribe("BTCUSDT$BA", "depth")
        await a.expect(Subscribed)
        await b.expect(Subscribed)
        await sim.wait_for_subscriptions(2)
        with anyio.fail_after(5):
            books_a = [(await a.expect(Depth)).bids for _ in range(30)]
            books_b = {(await b.expect(Depth)).bids for _ in range(30)}
    assert any(book in books_b for book in books_a)


async def test_flood_mode_sends_as_fast_as_the_client_reads() -> None:
    async with Simulator(SimConfig(rate=0)).running() as sim, client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA")
        await c.expect(Subscribed)
        with anyio.fail_after(5):
            for _ in range(3000):
                event = await c.event()
                assert not isinstance(event, Malformed)
        await c.send({"ac": "ping", "params": "42"})
        assert (await c.expect(Pong, within=100_000)).params == "42"
    assert sum(sim.stats.frames_sent.values()) >= 3000


async def test_wait_until_wakes_on_every_statistic(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA", "depth")
        for n in range(3):
            await c.send({"ac": "ping", "params": str(n)})
        with anyio.fail_after(5):
            await sim.wait_until(lambda s: s.pings_answered >= 3)
            await sim.wait_until(lambda s: s.frames_sent.get("depth", 0) >= 5)
