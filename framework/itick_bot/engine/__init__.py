"""The engine: books and bars kept, the paper broker driven, strategies fed (DESIGN.md §4)."""

from ._clock import ClockTick, EngineClock
from ._engine import Engine
from ._market import MarketState
from ._runner import StrategyRunner

__all__ = ["ClockTick", "Engine", "EngineClock", "MarketState", "StrategyRunner"]
