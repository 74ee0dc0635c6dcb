"""Imports a helper beside it relatively, the supported way to share code between files."""

from itick_bot import Strategy

from ._helpers import clamp


class Clamped(Strategy):
    size: float = 0.001

    def clamped_size(self) -> float:
        return clamp(self.size, 0.0, 0.01)
