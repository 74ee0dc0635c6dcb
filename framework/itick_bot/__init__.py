"""itick-bot: event-driven trading bots on iTick's real-time market data.

The names here are the public API; everything else may change between releases.
"""

from .book import OrderBook
from .clock import Clock, LiveClock, ManualClock
from .errors import AuthError, ConfigError, FeedError, ItickBotError, ProtocolError
from .model import (
    Balance,
    Bar,
    Depth,
    FeedStatus,
    Fill,
    Order,
    Position,
    Quote,
    Tick,
)
from .strategy import Strategy
from .symbols import canonical

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "Balance",
    "Bar",
    "Clock",
    "ConfigError",
    "Depth",
    "FeedError",
    "FeedStatus",
    "Fill",
    "ItickBotError",
    "LiveClock",
    "ManualClock",
    "Order",
    "OrderBook",
    "Position",
    "ProtocolError",
    "Quote",
    "Strategy",
    "Tick",
    "__version__",
    "canonical",
]
