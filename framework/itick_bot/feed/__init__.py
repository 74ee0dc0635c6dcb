"""The live market-data feed: a healthy connection to iTick, whatever the network does.

`FeedClient` runs the connection on any `Transport` (`HttpxWsTransport` by default; tests pass a
`ScriptedTransport`) and hands events to an `EventInbox` that never blocks the reader.
"""

from ._client import FeedClient, public_url
from ._httpxws import HttpxWsTransport
from ._inbox import EventInbox
from ._scripted import ScriptedConnection, ScriptedTransport
from ._stats import FeedStats
from ._transport import (
    Connection,
    HandshakeRejected,
    Transport,
    TransportClosed,
    TransportError,
    parse_retry_after,
)

__all__ = [
    "Connection",
    "EventInbox",
    "FeedClient",
    "FeedStats",
    "HandshakeRejected",
    "HttpxWsTransport",
    "ScriptedConnection",
    "ScriptedTransport",
    "Transport",
    "TransportClosed",
    "TransportError",
    "parse_retry_after",
    "public_url",
]
