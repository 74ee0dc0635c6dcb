"""The iTick simulator: a real WebSocket server on loopback that speaks PROTOCOL.md, with a
seeded market for any symbol and switchable faults (`itick-bot sim`, or `Simulator` in-process).

    async with Simulator(SimConfig(seed=7)).running() as sim:
        ...  # connect a client to sim.url
"""

from ._config import (
    CLOSE_AUTH_FAILED,
    CLOSE_DROPPED,
    CLOSE_KNOCKED_OFF,
    CLOSE_NO_ACTION,
    CLOSE_SLOW_CONSUMER,
    MALFORMED_KINDS,
    SIM_PATHS,
    KlineFormat,
    MalformedKind,
    SimConfig,
    SymbolStyle,
)
from ._market import DEPTH_LEVELS, MarketUpdate, SymbolMarket, bar_open_time
from ._server import Simulator
from ._state import SimStats

__all__ = [
    "CLOSE_AUTH_FAILED",
    "CLOSE_DROPPED",
    "CLOSE_KNOCKED_OFF",
    "CLOSE_NO_ACTION",
    "CLOSE_SLOW_CONSUMER",
    "DEPTH_LEVELS",
    "MALFORMED_KINDS",
    "SIM_PATHS",
    "KlineFormat",
    "MalformedKind",
    "MarketUpdate",
    "SimConfig",
    "SimStats",
    "Simulator",
    "SymbolMarket",
    "SymbolStyle",
    "bar_open_time",
]
