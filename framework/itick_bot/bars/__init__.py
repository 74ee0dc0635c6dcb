"""The bar store: OHLCV bars per symbol and interval, closed exactly once.

`BarStore` keeps a `BarSeries` per symbol and configured interval: closed bars in a columnar ring
buffer of numpy arrays (56 bytes per bar) plus the bar still forming. Intervals the feed subscribes
as klines follow the server's pushes; the others are built from trades. `align_open_time` and
`next_open_time` give the UTC bar boundaries (weeks open on Monday, months on the 1st).

Pure logic (layer 1): no I/O, no clock of its own; time comes in with the data and `advance`.
"""

from ._series import BarSeries
from ._store import BarStore
from ._time import align_open_time, next_open_time

__all__ = ["BarSeries", "BarStore", "align_open_time", "next_open_time"]
