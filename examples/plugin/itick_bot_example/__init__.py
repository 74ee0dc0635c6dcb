"""An example itick-bot plugin: publishes the `Momentum` strategy as `momentum`."""

from .momentum import Momentum

__all__ = ["Momentum"]
