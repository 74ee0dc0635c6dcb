"""The live market-data feed: a healthy connection to iTick, whatever the network does.

`FeedClient` runs the connection on any `Transport` (`WebsocketsTransport` by default,
`HttpxWsTransport` the alternative; tests pass a `ScriptedTransport`) and hands events to an
`EventInbox` that never blocks the reader.
"""

from ._client import FeedClient, FrameRecorder, public_url
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
from ._websockets import WebsocketsTransport

__all__ = [
    "Connection",
    "EventInbox",
    "FeedClient",
    "FeedStats",
    "FrameRecorder",
    "HandshakeRejected",
    "HttpxWsTransport",
    "ScriptedConnection",
    "ScriptedTransport",
    "Transport",
    "TransportClosed",
    "TransportError",
    "WebsocketsTransport",
    "make_transport",
    "parse_retry_after",
    "public_url",
]


def make_transport(name: str) -> Transport:
    """The transport `[feed] transport` names."""
    if name == "httpx-ws":
        return HttpxWsTransport()
    return WebsocketsTransport()
