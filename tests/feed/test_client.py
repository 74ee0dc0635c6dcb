"""The feed client against a scripted transport: every behaviour of the connection's life."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import pytest

from itick_bot.config import FeedConfig
from itick_bot.errors import AuthError
from itick_bot.feed import (
    EventInbox,
    FeedClient,
    HandshakeRejected,
    ScriptedConnection,
    ScriptedTransport,
)
from itick_bot.feed._client import _Ended
from itick_bot.model import Depth, FeedStatus, Quote, Tick

KEY = "k3y-abcdefghijklmnopqrstuvwxyz-0123456789"
GREETING = '{"code":1,"msg":"Connected Successfully"}'
AUTH_OK = '{"code":1,"resAc":"auth","msg":"authenticated"}'
AUTH_FAILED = '{"code":0,"resAc":"auth","msg":"auth failed"}'
SUB_OK = '{"code":1,"resAc":"subscribe","msg":"subscribe Successfully"}'
SUB_LIMIT = '{"code":0,"resAc":"subscribe","msg":"exceeding the maximum subscription limit"}'
QUOTE = (
    '{"code":1,"data":{"s":"BTCUSDT","r":"BA","ld":%s,"t":1731690011321,"v":1,"tu":2,'
    '"type":"quote"}}'
)
TICK = '{"code":1,"data":{"s":"BTCUSDT","r":"BA","ld":%s,"v":0.5,"t":1731690011321,"type":"tick"}}'
DEPTH = (
    '{"code":1,"data":{"s":"ETH_USDT","a":[{"po":1,"p":3034.01,"v":1,"o":1}],'
    '"b":[{"po":1,"p":3034,"v":2,"o":2}],"type":"depth"}}'
)

# Quick timings so that dead connections are found in milliseconds.
FAST = FeedConfig(
    symbols=("BTCUSDT", "ETHUSDT"),
    types=("quote", "depth", "tick", "kline@1"),
    ping_interval=30,
    pong_timeout=10,
    stale_timeout=30,
    backoff_initial=0.001,
    backoff_max=0.002,
    knockoff_window=30,
    knockoff_backoff=0.005,
)


class Harness:
    def __init__(self, config: FeedConfig) -> None:
        self.transport = ScriptedTransport()
        self.inbox = EventInbox(name="test", conflate_after=config.conflate_after)  # as `run`
        self.warnings: list[str] = []
        self.infos: list[str] = []
        self.client = FeedClient(
            config,
            url="wss://example.invalid/crypto",
            token=KEY,
            transport=self.transport,
            inbox=self.inbox,
            rng=random.Random(7),
            on_warning=self.warnings.append,
            on_info=self.infos.append,
        )
        self.error: BaseException | None = None

    async def run(self) -> None:
        try:
            await self.client.run()
        except AuthError as exc:
            self.error = exc

    def events(self) -> list[Any]:
        out = []
        while (event := self.inbox.get_nowait()) is not None:
            out.append(event)
        return out

    async def next_event(self, kind: type) -> Any:
        while True:
            event = await self.inbox.get()
            if isinstance(event, kind):
                return event

    async def ready(self, conn: ScriptedConnection | None = None) -> ScriptedConnection:
        """Plan a connection (or use `conn`), greet and authenticate it, wait for the subscribe."""
        conn = conn or self.transport.expect()
        conn.feed(GREETING, AUTH_OK)
        await conn.wait_sent(1)
        return conn


@asynccontextmanager
async def running(config: FeedConfig = FAST) -> AsyncIterator[Harness]:
    harness = Harness(config)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(harness.run)
            yield harness
            tg.cancel_scope.cancel()


async def test_it_sends_the_key_in_the_token_header_and_subscribes_everything() -> None:
    async with running() as h:
        conn = await h.ready()
        assert conn.headers == {"token": KEY}
        assert json.loads(conn.sent[0]) == {
            "ac": "subscribe",
            "params": "BTCUSDT$BA,ETHUSDT$BA",
            "types": "quote,depth,tick,kline@1",
        }


async def test_bare_symbols_are_sent_when_the_region_is_empty() -> None:
    async with running(attrs.evolve(FAST, region="")) as h:
        conn = await h.ready()
        assert json.loads(conn.sent[0])["params"] == "BTCUSDT,ETHUSDT"


async def test_frames_become_normalized_events_in_order() -> None:
    async with running() as h:
        conn = await h.ready()
        conn.feed(SUB_OK, QUOTE % 100.5, DEPTH, TICK % 100.4)
        status = await h.next_event(FeedStatus)
        assert status.state == "connected"
        q = await h.next_event(Quote)
        d = await h.next_event(Depth)
        t = await h.next_event(Tick)
        assert (q.symbol, q.region, q.last) == ("BTCUSDT", "BA", 100.5)
        assert (d.symbol, d.bids, d.asks) == ("ETHUSDT", ((3034.0, 2.0),), ((3034.01, 1.0),))
        assert (t.price, t.size) == (100.4, 0.5)
        assert q.received_ns > 0
        assert t.received_ns >= q.received_ns
        assert h.client.stats.frames["quote"] == 1
        assert h.client.stats.frames["depth"] == 1


async def test_in_a_burst_the_consumer_gets_its_turn_every_read_batch_frames() -> None:
    async with running(attrs.evolve(FAST, read_batch=8)) as h:
        conn = await h.ready()
        await h.next_event(FeedStatus)  # connected
        conn.feed(*[QUOTE % (100 + i) for i in range(100)])  # all buffered: no read waits
        batches: list[list[Any]] = []
        while sum(map(len, batches)) < 100:
            first = await h.inbox.get()  # waits until the reader yields
            batches.append([first, *h.events()])

    assert {len(b) for b in batches[:-1]} == {8}  # 8 frames read in a row, then a turn
    quotes = [e for b in batches for e in b]
    assert [q.last for q in quotes] == [100.0 + i for i in range(100)]  # nothing conflated
    assert h.inbox.conflated == 0


async def test_a_refused_key_stops_the_client_with_no_retry() -> None:
    h = Harness(FAST)
    conn = h.transport.expect()
    conn.feed(GREETING, AUTH_FAILED)
    with anyio.fail_after(5):
        await h.run()
    assert isinstance(h.error, AuthError)
    assert "refused the API key" in str(h.error)
    assert KEY not in str(h.error)
    assert h.transport.attempts == 1
    assert [e.state for e in h.events() if isinstance(e, FeedStatus)] == ["stopped"]


async def test_a_handshake_refused_with_401_is_an_auth_error() -> None:
    h = Harness(FAST)
    h.transport.refuse(HandshakeRejected(401))
    with anyio.fail_after(5):
        await h.run()
    assert isinstance(h.error, AuthError)
    assert h.transport.attempts == 1


async def test_a_refused_subscription_is_reported_and_the_connection_stays() -> None:
    async with running() as h:
        conn = await h.ready()
        conn.feed(SUB_LIMIT, QUOTE % 1.0)
        await h.next_event(Quote)
        assert h.client.stats.subscribe_refused == [
            "iTick refused BTCUSDT$BA,ETHUSDT$BA for quote,depth,tick,kline@1: "
            "'exceeding the maximum subscription limit'"
        ]
        assert any("exceeding the maximum subscription limit" in w for w in h.warnings)
        assert h.transport.attempts == 1
        assert conn.open


async def test_a_dropped_connection_is_replaced_and_everything_resubscribed() -> None:
    async with running() as h:
        first = await h.ready()
        first.feed(SUB_OK, QUOTE % 1.0)
        first.close(1011, "going away")
        second = await h.ready()
        assert second.sent[0] == first.sent[0]
        second.feed(QUOTE % 2.0)
        states = []
        while len(states) < 3:
            states.append((await h.next_event(FeedStatus)).state)
        assert states == ["connected", "reconnecting", "recovered"]
        assert (await h.next_event(Quote)).last == 2.0
        assert h.client.stats.reconnects == 1
        assert h.client.stats.connects == 2
        assert not any("unsubscribe" in text for text in first.sent + second.sent)


async def test_a_silent_connection_is_found_stale_and_replaced() -> None:
    config = attrs.evolve(FAST, stale_timeout=0.05, ping_interval=30)
    async with running(config) as h:
        first = await h.ready()  # then nothing more: the server has gone quiet
        second = await h.ready()
        stale = await h.next_event(FeedStatus)
        while stale.state != "stale":
            stale = await h.next_event(FeedStatus)
        assert "no frame for" in stale.reason
        assert not first.open
        assert second.open


async def test_a_ping_is_sent_as_a_millisecond_string_and_its_pong_measured() -> None:
    config = attrs.evolve(FAST, ping_interval=0.02)
    async with running(config) as h:
        conn = await h.ready()
        sent = await conn.wait_sent(2)
        ping = json.loads(sent[1])
        assert ping["ac"] == "ping"
        assert isinstance(ping["params"], str)
        assert ping["params"].isdigit()
        conn.feed(json.dumps({"resAc": "pong", "data": {"params": ping["params"]}}))
        conn.feed(QUOTE % 1.0)
        await h.next_event(Quote)
        assert h.client.stats.last_pong_rtt_ms is not None
        assert h.client.stats.frames["pong"] == 1


async def test_a_missing_pong_means_a_dead_connection() -> None:
    config = attrs.evolve(FAST, ping_interval=0.01, pong_timeout=0.05, stale_timeout=30)
    async with running(config) as h:
        first = await h.ready()

        async def keep_data_flowing() -> None:
            while first.open:
                first.feed(QUOTE % 1.0)
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_data_flowing)
            await h.ready()
        assert h.client.stats.drops["no pong within 0.05 s"] == 1


async def test_malformed_frames_are_counted_and_skipped_while_data_flows() -> None:
    async with running() as h:
        conn = await h.ready()
        conn.feed("not json", b"\x00\x01", QUOTE % '"abc"', '{"code":1,"data":{"type":"nope"}}')
        conn.feed(QUOTE % 7.0)
        assert (await h.next_event(Quote)).last == 7.0
        assert h.client.stats.malformed == {
            "invalid_json": 1,
            "binary_frame": 1,
            "bad_number": 1,
            "unknown_type": 1,
        }
        assert conn.open


async def test_being_knocked_off_repeatedly_is_named_and_backs_off_longer() -> None:
    async with running() as h:
        for _ in range(3):
            conn = await h.ready()
            conn.close(1000, "")
        await h.transport.wait_attempts(4)
        warning = next(w for w in h.warnings if "another client with the same key" in w)
        assert "dropped 3 times in a row" in warning
        assert any(
            isinstance(e, FeedStatus) and e.reason.startswith("knocked off") for e in h.events()
        )


def test_the_backoff_grows_exponentially_with_jitter_up_to_its_cap() -> None:
    config = attrs.evolve(FAST, backoff_initial=1.0, backoff_max=8.0)
    client = FeedClient(
        config,
        url="wss://x",
        token=None,
        transport=ScriptedTransport(),
        inbox=EventInbox(),
        rng=random.Random(1),
    )
    caps = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for cap in caps:
        delay, _ = client._next_delay(_Ended("refused"))
        assert 0.0 <= delay <= cap


def test_retry_after_from_a_429_is_honoured() -> None:
    client = FeedClient(
        FAST, url="wss://x", token=None, transport=ScriptedTransport(), inbox=EventInbox()
    )
    delay, _ = client._next_delay(_Ended("handshake refused with HTTP 429", retry_after=7.5))
    assert delay >= 7.5


async def test_a_429_handshake_is_retried_after_its_retry_after() -> None:
    async with running() as h:
        h.transport.refuse(HandshakeRejected(429, retry_after=0.01))
        await h.ready()
        assert h.transport.attempts == 2
        assert h.client.stats.handshake_failures == 1


async def test_the_key_never_appears_in_messages_or_statistics() -> None:
    async with running() as h:
        conn = await h.ready()
        conn.feed(SUB_LIMIT)
        conn.close(1011, "bye")
        await h.ready()
        text = json.dumps(h.client.report(0)) + " ".join(h.warnings + h.infos)
        text += " ".join(e.reason for e in h.events() if isinstance(e, FeedStatus))
        assert KEY not in text
        assert KEY[:12] not in text


@pytest.mark.parametrize("state", ["connected"])
async def test_feed_status_events_carry_a_reason_and_time(state: str) -> None:
    async with running() as h:
        await h.ready()
        status = await h.next_event(FeedStatus)
        assert status.state == state
        assert "authenticated" in status.reason
        assert status.ts > 0
        assert status.received_ns > 0
