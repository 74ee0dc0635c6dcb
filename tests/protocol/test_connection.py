"""The client connection: its state table, subscribe/ping bookkeeping, the encoders, and the
client and server roles driven against each other in memory."""

from __future__ import annotations

import json
from itertools import product

import pytest

from itick_bot.errors import ProtocolError
from itick_bot.model import Bar, Depth, Quote, Tick
from itick_bot.protocol import (
    TRANSITIONS,
    Authenticated,
    AuthFailed,
    AuthRequest,
    ClientConnection,
    Connected,
    ConnState,
    Input,
    Malformed,
    PingRequest,
    Pong,
    Subscribed,
    SubscribeRefused,
    SubscribeRequest,
    encode_ping,
    encode_subscribe,
    next_state,
    parse_command,
    render_auth_failed,
    render_auth_ok,
    render_connected,
    render_depth,
    render_kline,
    render_pong,
    render_quote,
    render_subscribe_ok,
    render_subscribe_refused,
    render_tick,
)

MS = 1_000_000  # nanoseconds per millisecond
T0 = 1_731_688_569_840  # epoch ms


def ready() -> ClientConnection:
    conn = ClientConnection()
    conn.receive(render_connected(), T0 * MS)
    conn.receive(render_auth_ok(), T0 * MS)
    assert conn.state is ConnState.READY
    return conn


# -- the state table ---------------------------------------------------------------------------

S, In = ConnState, Input
LEGAL = {
    (S.CONNECTING, In.CONNECTED): S.AWAITING_AUTH,
    (S.CONNECTING, In.AUTHENTICATED): S.READY,  # a server that skips the greeting is tolerated
    (S.CONNECTING, In.AUTH_FAILED): S.CLOSED,
    (S.CONNECTING, In.CLOSED): S.CLOSED,
    (S.AWAITING_AUTH, In.AUTHENTICATED): S.READY,
    (S.AWAITING_AUTH, In.AUTH_FAILED): S.CLOSED,
    (S.AWAITING_AUTH, In.CLOSED): S.CLOSED,
    (S.READY, In.CLOSED): S.CLOSED,
    (S.CLOSED, In.CLOSED): S.CLOSED,
}
ILLEGAL = [pair for pair in product(ConnState, Input) if pair not in LEGAL]


def test_the_table_holds_exactly_the_legal_transitions() -> None:
    assert TRANSITIONS == LEGAL


@pytest.mark.parametrize(("state", "event"), sorted(LEGAL, key=str))
def test_a_legal_transition_moves_to_its_state(state: ConnState, event: Input) -> None:
    assert next_state(state, event) is LEGAL[(state, event)]


@pytest.mark.parametrize(("state", "event"), sorted(ILLEGAL, key=str))
def test_an_illegal_transition_raises_naming_input_and_state(
    state: ConnState, event: Input
) -> None:
    with pytest.raises(ProtocolError) as caught:
        next_state(state, event)
    assert repr(event.value) in str(caught.value)
    assert repr(state.value) in str(caught.value)


def test_every_state_can_be_closed() -> None:
    assert all((state, Input.CLOSED) in TRANSITIONS for state in ConnState)


# -- ClientConnection: state -------------------------------------------------------------------


def test_a_new_connection_is_connecting() -> None:
    assert ClientConnection().state is ConnState.CONNECTING


def test_the_greeting_moves_to_awaiting_auth() -> None:
    conn = ClientConnection()
    assert conn.receive(render_connected(), 0) == Connected("Connected Successfully")
    assert conn.state is ConnState.AWAITING_AUTH


def test_auth_ok_makes_the_connection_ready() -> None:
    conn = ClientConnection()
    conn.receive(render_connected(), 0)
    assert conn.receive(render_auth_ok(), 0) == Authenticated("authenticated")
    assert conn.state is ConnState.READY


def test_auth_failed_closes_the_connection() -> None:
    conn = ClientConnection()
    conn.receive(render_connected(), 0)
    assert conn.receive(render_auth_failed(), 0) == AuthFailed("auth failed")
    assert conn.state is ConnState.CLOSED


def test_a_second_greeting_is_a_protocol_error() -> None:
    conn = ready()
    with pytest.raises(ProtocolError):
        conn.receive(render_connected(), 0)


def test_a_frame_after_close_that_moves_state_is_a_protocol_error() -> None:
    conn = ready()
    conn.connection_lost()
    with pytest.raises(ProtocolError):
        conn.receive(render_auth_ok(), 0)


def test_data_frames_leave_the_state_alone() -> None:
    conn = ready()
    event = conn.receive(render_tick("BTCUSDT", "BA", price=1, size=1, ts=5), 9 * MS)
    assert event == Tick("BTCUSDT", 1.0, 1.0, 5, None, "BA", 9 * MS)
    assert conn.state is ConnState.READY


def test_the_frame_size_limit_applies_to_receive() -> None:
    conn = ClientConnection(max_frame_bytes=10)
    event = conn.receive(render_connected(), 0)
    assert isinstance(event, Malformed)
    assert event.reason == "oversize"
    assert conn.state is ConnState.CONNECTING


def test_connection_lost_closes_from_any_state() -> None:
    for conn in (ClientConnection(), ready()):
        conn.connection_lost()
        assert conn.state is ConnState.CLOSED
        conn.connection_lost()  # losing it twice is harmless
        assert conn.state is ConnState.CLOSED


def test_connection_lost_forgets_pending_pings_and_subscriptions() -> None:
    conn = ready()
    conn.subscribe([("BTCUSDT", "BA")], ["quote"])
    conn.ping(T0)
    conn.connection_lost()
    assert conn.pending_subscriptions == 0
    assert conn.oldest_unanswered_ping_ms is None


# -- ClientConnection: subscribe ---------------------------------------------------------------


@pytest.mark.parametrize("state", ["connecting", "awaiting_auth", "closed"])
def test_subscribe_is_refused_until_ready(state: str) -> None:
    conn = ClientConnection()
    if state != "connecting":
        conn.receive(render_connected(), 0)
    if state == "closed":
        conn.connection_lost()
    assert conn.state.value == state
    with pytest.raises(ProtocolError, match=state):
        conn.subscribe([("BTCUSDT", "BA")], ["quote"])


@pytest.mark.parametrize(("symbols", "types"), [([], ["quote"]), ([("BTCUSDT", "BA")], [])])
def test_subscribe_needs_a_symbol_and_a_type(
    symbols: list[tuple[str, str]], types: list[str]
) -> None:
    with pytest.raises(ProtocolError):
        ready().subscribe(symbols, types)


def test_subscribe_returns_the_request_text() -> None:
    text = ready().subscribe([("BTCUSDT", "BA"), ("ETHUSDT", "BA")], ["quote", "depth"])
    assert text == '{"ac":"subscribe","params":"BTCUSDT$BA,ETHUSDT$BA","types":"quote,depth"}'


def test_subscribe_replies_are_paired_with_requests_in_order() -> None:
    conn = ready()
    conn.subscribe([("BTCUSDT", "BA")], ["quote"])
    conn.subscribe([("ETHUSDT", "")], ["depth", "kline@1"])
    assert conn.pending_subscriptions == 2
    first = conn.receive(render_subscribe_ok(), 0)
    second = conn.receive(render_subscribe_refused("exceeding the maximum subscription limit"), 0)
    assert first == Subscribed("subscribe Successfully", ("BTCUSDT$BA",), ("quote",))
    assert second == SubscribeRefused(
        "exceeding the maximum subscription limit", ("ETHUSDT",), ("depth", "kline@1")
    )
    assert conn.pending_subscriptions == 0


def test_a_refusal_does_not_close_the_connection() -> None:
    conn = ready()
    conn.subscribe([("BTCUSDT", "BA")], ["quote"])
    conn.receive(render_subscribe_refused("cannot be resolved action"), 0)
    assert conn.state is ConnState.READY


def test_a_subscribe_reply_nobody_asked_for_names_nothing() -> None:
    assert ready().receive(render_subscribe_ok(), 0) == Subscribed("subscribe Successfully")


def test_subscribed_symbols_are_named_as_they_went_on_the_wire() -> None:
    conn = ready()
    conn.subscribe([("eth_usdt", "ba")], ["quote"])
    reply = conn.receive(render_subscribe_ok(), 0)
    assert isinstance(reply, Subscribed)
    assert reply.symbols == ("ETHUSDT$BA",)


# -- ClientConnection: ping and pong -----------------------------------------------------------


def test_a_ping_carries_its_millisecond_time_as_a_string() -> None:
    assert json.loads(ready().ping(T0)) == {"ac": "ping", "params": str(T0)}


def test_a_ping_is_remembered_until_its_pong() -> None:
    conn = ready()
    conn.ping(T0)
    assert conn.oldest_unanswered_ping_ms == T0


def test_a_pong_gives_the_round_trip_time() -> None:
    conn = ready()
    conn.ping(T0)
    pong = conn.receive(render_pong(str(T0)), (T0 + 250) * MS + 123)
    assert pong == Pong(str(T0), 250, (T0 + 250) * MS + 123)
    assert conn.oldest_unanswered_ping_ms is None


def test_a_pong_clears_the_pings_sent_before_it() -> None:
    conn = ready()
    conn.ping(T0)
    conn.ping(T0 + 1_000)
    conn.ping(T0 + 2_000)
    conn.receive(render_pong(str(T0 + 1_000)), (T0 + 2_100) * MS)
    assert conn.oldest_unanswered_ping_ms == T0 + 2_000


def test_a_cleared_ping_answered_late_has_no_round_trip_time() -> None:
    conn = ready()
    conn.ping(T0)
    conn.ping(T0 + 1_000)
    conn.receive(render_pong(str(T0 + 1_000)), (T0 + 1_100) * MS)
    late = conn.receive(render_pong(str(T0)), (T0 + 1_200) * MS)
    assert isinstance(late, Pong)
    assert late.rtt_ms is None


def test_a_pong_for_no_ping_of_ours_has_no_round_trip_time() -> None:
    pong = ready().receive(render_pong("12345"), T0 * MS)
    assert pong == Pong("12345", None, T0 * MS)


def test_two_pings_in_one_millisecond_stay_distinct() -> None:
    conn = ready()
    first = json.loads(conn.ping(T0))["params"]
    second = json.loads(conn.ping(T0))["params"]
    assert first != second
    pong = conn.receive(render_pong(first), (T0 + 10) * MS)
    assert isinstance(pong, Pong)
    assert pong.rtt_ms == 10
    assert conn.oldest_unanswered_ping_ms is not None


def test_a_ping_may_be_sent_before_auth() -> None:
    assert json.loads(ClientConnection().ping(T0))["ac"] == "ping"


def test_a_closed_connection_cannot_ping() -> None:
    conn = ready()
    conn.connection_lost()
    with pytest.raises(ProtocolError):
        conn.ping(T0)


# -- encoders ----------------------------------------------------------------------------------


def test_encode_subscribe_with_regions_is_the_current_request(
    itick_samples: dict[str, str],
) -> None:
    text = encode_subscribe(
        [("BTCUSDT", "BA"), ("ETHUSDT", "BA")], ["quote", "depth", "tick", "kline@1"]
    )
    assert text == itick_samples["subscribe_request_current"]


def test_encode_subscribe_bare_is_the_original_request(itick_samples: dict[str, str]) -> None:
    text = encode_subscribe([("BTCUSDT", ""), ("ETHUSDT", "")], ["quote"])
    assert text == itick_samples["subscribe_request"]


def test_encode_subscribe_canonicalizes_symbols() -> None:
    text = encode_subscribe([("eth_usdt", "ba")], ["quote"])
    assert json.loads(text)["params"] == "ETHUSDT$BA"


def test_encode_ping_is_the_documented_ping(itick_samples: dict[str, str]) -> None:
    assert encode_ping(1731688569840) == itick_samples["ping"]


# -- client and server against each other, in memory -------------------------------------------


def test_a_whole_conversation_between_client_and_server_roles() -> None:
    client = ClientConnection()
    now = T0 * MS

    # greeting and auth
    assert client.receive(render_connected(), now) == Connected("Connected Successfully")
    assert client.receive(render_auth_ok(), now) == Authenticated("authenticated")

    # subscribe: the server reads what the client wrote
    request = client.subscribe([("BTCUSDT", "BA"), ("ETHUSDT", "BA")], ["quote", "depth"])
    command = parse_command(request)
    assert isinstance(command, SubscribeRequest)
    assert command == SubscribeRequest((("BTCUSDT", "BA"), ("ETHUSDT", "BA")), ("quote", "depth"))
    granted = client.receive(render_subscribe_ok(), now)
    assert granted == Subscribed(
        "subscribe Successfully", ("BTCUSDT$BA", "ETHUSDT$BA"), ("quote", "depth")
    )

    # a second subscribe that the server refuses
    client.subscribe([("SOLUSDT", "BA")], ["kline@1"])
    refused = client.receive(
        render_subscribe_refused("exceeding the maximum subscription limit"), now
    )
    assert refused == SubscribeRefused(
        "exceeding the maximum subscription limit", ("SOLUSDT$BA",), ("kline@1",)
    )

    # data for each subscribed symbol, as the server renders it
    for symbol, _ in command.symbols:
        quote = client.receive(
            render_quote(symbol, "BA", last=100.5, ts=T0, volume=2.0, turnover=201.0), now
        )
        assert quote == Quote(symbol, 100.5, 2.0, 201.0, T0, 0, "BA", received_ns=now)
        depth = client.receive(
            render_depth(symbol, "BA", bids=[(100.0, 1.0)], asks=[(101.0, 2.0)]), now
        )
        assert depth == Depth(symbol, ((100.0, 1.0),), ((101.0, 2.0),), T0, "BA", now)
    bar = client.receive(
        render_kline(
            "BTCUSDT",
            "BA",
            period=1,
            open_time=T0 - T0 % 60_000,
            open_=1.0,
            high=2.0,
            low=0.5,
            close=1.5,
            volume=3.0,
            turnover=4.5,
        ),
        now,
    )
    assert bar == Bar("BTCUSDT", "1m", T0 - T0 % 60_000, 1.0, 2.0, 0.5, 1.5, 3.0, 4.5, "BA", now)

    # heartbeat: the server answers the ping it read with the pong it renders
    ping = parse_command(client.ping(T0 + 30_000))
    assert isinstance(ping, PingRequest)
    assert ping == PingRequest(str(T0 + 30_000))
    pong = client.receive(render_pong(ping.params), (T0 + 30_042) * MS)
    assert pong == Pong(str(T0 + 30_000), 42, (T0 + 30_042) * MS)
    assert client.oldest_unanswered_ping_ms is None

    # the end
    client.connection_lost()
    assert client.state is ConnState.CLOSED


def test_a_conversation_where_the_server_refuses_the_key() -> None:
    client = ClientConnection()
    assert isinstance(parse_command('{"ac":"auth","params":"wrong"}'), AuthRequest)
    client.receive(render_connected(), 0)
    assert client.receive(render_auth_failed(), 0) == AuthFailed("auth failed")
    assert client.state is ConnState.CLOSED
    with pytest.raises(ProtocolError):
        client.subscribe([("BTCUSDT", "BA")], ["quote"])
