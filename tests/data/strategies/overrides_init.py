"""Breaks the Strategy contract: overrides __init__."""

from itick_bot import Strategy


class Eager(Strategy):
    def __init__(self) -> None:
        super().__init__()
