"""One strategy, with a dataclass and string annotations: both need the module in sys.modules."""

from __future__ import annotations

import dataclasses

from itick_bot import Strategy, Tick


@dataclasses.dataclass(frozen=True)
class Signal:
    price: float
    strength: float


class NotAStrategy:
    pass


THRESHOLD = 3


class Good(Strategy):
    symbol: str = "BTCUSDT"
    threshold: int = THRESHOLD
    size: float = 0.001

    def on_tick(self, tick: Tick) -> None:
        self.last_signal = Signal(tick.price, 1.0)
