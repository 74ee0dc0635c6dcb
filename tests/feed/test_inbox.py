"""The inbox between the socket's reader and its consumer."""

from __future__ import annotations

import anyio
import pytest

from itick_bot.errors import SlowConsumerError
from itick_bot.feed import EventInbox
from itick_bot.model import Bar, Depth, FeedStatus, Quote, Tick


def quote(symbol: str, last: float, ns: int = 0) -> Quote:
    return Quote(symbol, last, 1.0, last, 0, received_ns=ns)


def depth(symbol: str, bid: float) -> Depth:
    return Depth(symbol, ((bid, 1.0),), ((bid + 1, 1.0),), 0)


def tick(symbol: str, price: float) -> Tick:
    return Tick(symbol, price, 0.1, 0)


def drain(inbox: EventInbox) -> list[object]:
    out = []
    while (event := inbox.get_nowait()) is not None:
        out.append(event)
    return out


def test_a_consumer_that_keeps_up_gets_every_event_in_order() -> None:
    inbox = EventInbox()
    got = []
    for i in range(5):
        inbox.put(quote("BTCUSDT", 100.0 + i))
        got.append(inbox.get_nowait())
    assert [q.last for q in got] == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert inbox.conflated == 0


def test_waiting_quotes_and_depths_are_conflated_newest_wins_per_symbol() -> None:
    inbox = EventInbox()
    inbox.put(quote("BTCUSDT", 1.0))
    inbox.put(depth("BTCUSDT", 10.0))
    inbox.put(quote("ETHUSDT", 2.0))
    inbox.put(quote("BTCUSDT", 3.0))
    inbox.put(depth("BTCUSDT", 11.0))
    events = drain(inbox)
    assert events == [quote("BTCUSDT", 3.0), depth("BTCUSDT", 11.0), quote("ETHUSDT", 2.0)]
    assert inbox.conflated == 2


def test_ticks_bars_and_feed_status_are_never_dropped_or_reordered() -> None:
    inbox = EventInbox()
    bar = Bar("BTCUSDT", "1m", 0, 1, 2, 0.5, 1.5, 3)
    status = FeedStatus("stale", "no frame", 0)
    sent = [tick("BTCUSDT", 1.0), tick("BTCUSDT", 2.0), bar, status, tick("BTCUSDT", 3.0)]
    for event in sent:
        inbox.put(event)
        inbox.put(quote("BTCUSDT", 9.0))
    events = drain(inbox)
    assert [e for e in events if not isinstance(e, Quote)] == sent
    assert inbox.conflated == len(sent) - 1


def test_a_consumer_too_far_behind_is_told_and_nothing_is_silently_lost() -> None:
    inbox = EventInbox(max_pending=3, name="slow strategy")
    for i in range(4):
        inbox.put(tick("BTCUSDT", float(i)))
    assert inbox.pending == 4  # every tick is still held
    with pytest.raises(SlowConsumerError, match="slow strategy fell more than 3 events behind"):
        inbox.get_nowait()


def test_the_oldest_waiting_event_gives_the_lag() -> None:
    inbox = EventInbox()
    assert inbox.oldest_received_ns() is None
    inbox.put(quote("BTCUSDT", 1.0, ns=5))
    inbox.put(Tick("BTCUSDT", 1.0, 1.0, 0, received_ns=7))
    assert inbox.oldest_received_ns() == 5


async def test_get_waits_for_the_next_event_and_ends_when_closed() -> None:
    inbox = EventInbox()
    received: list[object] = []

    async def consume() -> None:
        while (event := await inbox.get()) is not None:
            received.append(event)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        inbox.put(tick("BTCUSDT", 1.0))
        await anyio.wait_all_tasks_blocked()
        inbox.put(tick("BTCUSDT", 2.0))
        inbox.close()
    assert received == [tick("BTCUSDT", 1.0), tick("BTCUSDT", 2.0)]


def test_it_says_when_a_put_would_replace_a_waiting_event() -> None:
    inbox = EventInbox()
    inbox.put(quote("BTCUSDT", 1.0))
    assert inbox.would_conflate(quote("BTCUSDT", 2.0))
    assert not inbox.would_conflate(quote("ETHUSDT", 2.0))
    assert not inbox.would_conflate(tick("BTCUSDT", 2.0))
    inbox.get_nowait()
    assert not inbox.would_conflate(quote("BTCUSDT", 2.0))


def test_below_conflate_after_every_event_is_kept_and_above_it_the_newest_wins() -> None:
    inbox = EventInbox(conflate_after=4)
    kept = [quote("BTCUSDT", float(i)) for i in range(4)]
    for event in kept:
        assert not inbox.would_conflate(event)
        inbox.put(event)
    inbox.put(quote("BTCUSDT", 4.0))  # the fifth waits as the symbol's newest quote...
    assert inbox.would_conflate(quote("BTCUSDT", 5.0))
    inbox.put(quote("BTCUSDT", 5.0))  # ...and a sixth replaces it
    inbox.put(tick("BTCUSDT", 6.0))  # trades never conflate
    assert drain(inbox) == [*kept, quote("BTCUSDT", 5.0), tick("BTCUSDT", 6.0)]
    assert inbox.conflated == 1


def test_a_symbol_never_gets_an_older_quote_after_a_newer_one_around_conflate_after() -> None:
    inbox = EventInbox(conflate_after=2)
    inbox.put(quote("BTCUSDT", 1.0))
    inbox.put(tick("BTCUSDT", 2.0))
    inbox.put(quote("BTCUSDT", 3.0))  # the queue is at the threshold: waits in a slot
    assert inbox.get_nowait() == quote("BTCUSDT", 1.0)
    assert inbox.get_nowait() == tick("BTCUSDT", 2.0)
    inbox.put(quote("BTCUSDT", 4.0))  # below the threshold, but the slot still waits
    inbox.put(quote("BTCUSDT", 5.0))
    assert drain(inbox) == [quote("BTCUSDT", 5.0)]
    assert inbox.conflated == 2
