"""The queue between the socket's reader and its consumer: never blocks the reader, never drops
what must not be dropped.

The reader puts every event without waiting. While the consumer keeps up, every event is
delivered in order. When it lags (more than `conflate_after` events waiting; 0, the default,
conflates as soon as anything waits), a `Quote` or `Depth` waiting in the queue is replaced in
place by a newer one for the same symbol (conflation: the newest market state wins); ticks, bars,
feed status and everything else keep their place and are never dropped. If more than `max_pending`
events are waiting, the consumer is too far behind: `get` raises `SlowConsumerError` saying so,
rather than anything being lost silently.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio

from ..errors import SlowConsumerError
from ..model import Depth, Quote

__all__ = ["EventInbox"]


class EventInbox:
    """A single-consumer inbox with conflation of market state (see the module docstring)."""

    __slots__ = (
        "_closed",
        "_conflate",
        "_conflate_after",
        "_items",
        "_latest",
        "_waiter",
        "conflated",
        "delivered",
        "max_pending",
        "name",
        "overflowed",
        "peak_pending",
    )

    def __init__(
        self,
        max_pending: int = 100_000,
        *,
        name: str = "consumer",
        conflate: tuple[type, ...] = (Quote, Depth),
        conflate_after: int = 0,
    ) -> None:
        self.max_pending = max_pending
        # Below this many waiting events nothing conflates: the consumer sees every event.
        self._conflate_after = conflate_after
        self.name = name
        # Classes whose waiting instances are replaced by newer ones for the same `.symbol`.
        self._conflate = frozenset(conflate)
        # Items are events, or a `(class, symbol)` key standing for the newest conflatable event.
        self._items: deque[Any] = deque()
        self._latest: dict[tuple[type, str], Any] = {}
        self._waiter: anyio.Event | None = None
        self._closed = False
        self.conflated = 0
        self.delivered = 0
        self.peak_pending = 0
        self.overflowed = False

    def put(self, event: Any) -> None:
        """Queue one event. Never blocks and never raises."""
        cls = event.__class__
        if cls in self._conflate:
            key = (cls, event.symbol)
            if key in self._latest:
                # Even below `conflate_after`: an event queued behind the slot would reach the
                # consumer after the newer one that took the slot's place.
                self._latest[key] = event
                self.conflated += 1
                return
            if len(self._items) >= self._conflate_after:
                self._latest[key] = event
                self._items.append(key)
            else:
                self._items.append(event)
        else:
            self._items.append(event)
        pending = len(self._items)
        if pending > self.peak_pending:
            self.peak_pending = pending
            if pending > self.max_pending:
                self.overflowed = True
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None

    def would_conflate(self, event: Any) -> bool:
        """Whether `put(event)` would replace an event still waiting (the consumer is behind
        on that symbol)."""
        cls = event.__class__
        return cls in self._conflate and (cls, event.symbol) in self._latest

    def get_nowait(self) -> Any | None:
        """The next event, or None when nothing is waiting."""
        if self.overflowed:
            raise SlowConsumerError(
                f"{self.name} fell more than {self.max_pending} events behind the feed "
                f"(peak {self.peak_pending}); it was stopped rather than lose events. "
                f"Make it faster, or raise the limit ([feed] max_pending / [engine] max_backlog)"
            )
        if not self._items:
            return None
        item = self._items.popleft()
        if item.__class__ is tuple:
            item = self._latest.pop(item)
        self.delivered += 1
        return item

    async def get(self) -> Any | None:
        """The next event, waiting for one; None once the inbox is closed and empty."""
        while True:
            event = self.get_nowait()
            if event is not None:
                return event
            if self._closed:
                return None
            self._waiter = anyio.Event()
            await self._waiter.wait()

    def close(self) -> None:
        """No more events will come; a waiting consumer wakes up."""
        self._closed = True
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None

    @property
    def pending(self) -> int:
        return len(self._items)

    def oldest_received_ns(self) -> int | None:
        """`received_ns` of the event that has waited longest, for lag reports."""
        if not self._items:
            return None
        item = self._items[0]
        event = self._latest[item] if item.__class__ is tuple else item
        return getattr(event, "received_ns", None)
