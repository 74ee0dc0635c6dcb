"""`BarSeries`: the closed bars of one symbol and interval in a columnar ring buffer, plus the bar
still forming.

Closed bars live in numpy arrays, one `int64` column of open times and a `(6, n)` `float64` block
of open, high, low, close, volume and turnover: 56 bytes per bar. The arrays grow by doubling up to
`history` bars and then wrap, overwriting the oldest bar. `Bar` values are built only when asked
for. The forming bar is kept in plain Python attributes because every trade updates it.

Only the `BarStore` of this package writes to a series; users read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, SupportsIndex, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ..model import Bar, Interval

__all__ = ["BarSeries"]

_D = TypeVar("_D", bound=np.generic)
_FIRST_ALLOCATION: Final = 16
_FIELDS: Final = 6  # open, high, low, close, volume, turnover
_EMPTY_TIMES: Final = np.empty(0, dtype=np.int64)
_EMPTY_VALUES: Final = np.empty((_FIELDS, 0), dtype=np.float64)


def _in_order(column: npt.NDArray[_D], start: int, n: int) -> npt.NDArray[_D]:
    """A copy of the `n` entries of a ring column from slot `start`, in order."""
    if start + n <= column.shape[0]:
        return column[start : start + n].copy()
    return np.concatenate((column[start:], column[: start + n - column.shape[0]]))


class BarSeries(Sequence[Bar]):
    """The closed bars of one symbol and interval, oldest first and newest last, at most `history`
    of them, with `forming`, the bar still open (or None).

    A read-only sequence: `len(series)`, `series[-1]`, `series[-20:]` (a list) and iteration build
    `Bar` values on demand. Bars read back from the series carry `received_ns=0` (the store does
    not keep it; the `Bar` handed to `on_bar` when it closed has it). The columns `open_time`,
    `open`, `high`, `low`, `close`, `volume` and `turnover` are numpy arrays, oldest first: each is
    a fresh copy the caller owns, so it never changes under the caller when new bars arrive.
    """

    __slots__ = (
        "_c",
        "_count",
        "_f_end",
        "_f_open",
        "_floor",
        "_grace",
        "_h",
        "_history",
        "_interval",
        "_l",
        "_live",
        "_o",
        "_received",
        "_region",
        "_start",
        "_symbol",
        "_times",
        "_tu",
        "_v",
        "_values",
    )

    def __init__(
        self, symbol: str, interval: Interval, history: int = 1000, *, region: str = ""
    ) -> None:
        if history < 1:
            raise ValueError(f"a bar series keeps at least one bar, not history={history}")
        self._symbol = symbol
        self._interval: Interval = interval
        self._history = history
        self._region = region
        # Closed bars: physical slot of the i-th oldest bar is (start + i) % allocated.
        self._times: npt.NDArray[np.int64] = _EMPTY_TIMES
        self._values: npt.NDArray[np.float64] = _EMPTY_VALUES
        self._start = 0
        self._count = 0
        # The forming bar, written by the store. When no bar is forming, `_f_open == _f_end ==
        # _floor`, an empty period, so the store's one range test sends every tick to the slow path.
        self._live = False
        self._floor = -(2**63)
        """Where the newest closed bar ended: data for an earlier time is late."""
        self._f_open = self._floor
        self._f_end = self._floor
        self._o = self._h = self._l = self._c = self._v = self._tu = 0.0
        self._received = 0
        self._grace = 0
        """How long after `_f_end` the clock closes the forming bar (set by the store)."""

    # -- identity -------------------------------------------------------------------------------
    @property
    def symbol(self) -> str:
        return self._symbol

    @property
    def interval(self) -> Interval:
        return self._interval

    @property
    def region(self) -> str:
        """The symbol's region as the feed reported it ("" when it sent none)."""
        return self._region

    @property
    def history(self) -> int:
        """How many closed bars the series keeps; older ones are dropped."""
        return self._history

    def __repr__(self) -> str:
        forming = "a bar forming" if self._live else "no bar forming"
        return (
            f"<BarSeries {self._symbol} {self._interval}: {self._count} closed of "
            f"{self._history}, {forming}>"
        )

    # -- the sequence ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: SupportsIndex) -> Bar: ...

    @overload
    def __getitem__(self, index: slice) -> list[Bar]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Bar | list[Bar]:
        if isinstance(index, slice):
            times = self.open_time[index].tolist()
            values = self._ordered_values()[:, index].tolist()
            return self._bars(times, values)
        n = self._count
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"bar index {index} out of range for {n} closed bars")
        slot = (self._start + i) % self._times.shape[0]
        o, h, low, c, v, tu = self._values[:, slot].tolist()
        return Bar(
            self._symbol, self._interval, int(self._times[slot]), o, h, low, c, v, tu, self._region
        )

    def __iter__(self) -> Iterator[Bar]:
        return iter(self._bars(self.open_time.tolist(), self._ordered_values().tolist()))

    def _bars(self, times: list[int], values: list[list[float]]) -> list[Bar]:
        symbol, interval, region = self._symbol, self._interval, self._region
        return [
            Bar(symbol, interval, t, o, h, low, c, v, tu, region)
            for t, o, h, low, c, v, tu in zip(times, *values, strict=True)
        ]

    @property
    def last(self) -> Bar | None:
        """The newest closed bar, or None before the first bar closed."""
        return self[-1] if self._count else None

    @property
    def forming(self) -> Bar | None:
        """The bar still open, as it stands now (`received_ns` of its latest update), or None."""
        if not self._live:
            return None
        return Bar(
            self._symbol,
            self._interval,
            self._f_open,
            self._o,
            self._h,
            self._l,
            self._c,
            self._v,
            self._tu,
            self._region,
            self._received,
        )

    # -- the columns ----------------------------------------------------------------------------
    def _ordered_values(self) -> npt.NDArray[np.float64]:
        start, n = self._start, self._count
        values = self._values
        if start + n <= values.shape[1]:
            return values[:, start : start + n].copy()
        return np.concatenate((values[:, start:], values[:, : start + n - values.shape[1]]), axis=1)

    def _row(self, row: int) -> npt.NDArray[np.float64]:
        column: npt.NDArray[np.float64] = self._values[row]
        return _in_order(column, self._start, self._count)

    @property
    def open_time(self) -> npt.NDArray[np.int64]:
        """Open times (epoch ms) of the closed bars, oldest first: a fresh `int64` array."""
        return _in_order(self._times, self._start, self._count)

    @property
    def open(self) -> npt.NDArray[np.float64]:
        """Opens of the closed bars, oldest first: a fresh `float64` array."""
        return self._row(0)

    @property
    def high(self) -> npt.NDArray[np.float64]:
        """Highs of the closed bars, oldest first: a fresh `float64` array."""
        return self._row(1)

    @property
    def low(self) -> npt.NDArray[np.float64]:
        """Lows of the closed bars, oldest first: a fresh `float64` array."""
        return self._row(2)

    @property
    def close(self) -> npt.NDArray[np.float64]:
        """Closes of the closed bars, oldest first: a fresh `float64` array."""
        return self._row(3)

    @property
    def volume(self) -> npt.NDArray[np.float64]:
        """Volumes of the closed bars, oldest first: a fresh `float64` array."""
        return self._row(4)

    @property
    def turnover(self) -> npt.NDArray[np.float64]:
        """Turnovers (traded amount in the quote currency) of the closed bars, oldest first."""
        return self._row(5)

    # -- writing (the store's side) -------------------------------------------------------------
    def _append(
        self, open_time: int, o: float, h: float, low: float, c: float, v: float, tu: float
    ) -> None:
        """Store one closed bar as the newest, dropping the oldest when `history` are kept."""
        allocated = self._times.shape[0]
        if self._count == allocated and allocated < self._history:
            # Growth happens before the first wrap, so the bars sit in slots 0..count-1 in order.
            size = min(self._history, max(2 * allocated, _FIRST_ALLOCATION))
            times = np.empty(size, dtype=np.int64)
            values = np.empty((_FIELDS, size), dtype=np.float64)
            times[:allocated] = self._times
            values[:, :allocated] = self._values
            self._times, self._values = times, values
            allocated = size
        if self._count < allocated:
            slot = self._start + self._count
            self._count += 1
        else:
            slot = self._start
            self._start = (slot + 1) % allocated
        self._times[slot] = open_time
        values = self._values
        values[0, slot] = o
        values[1, slot] = h
        values[2, slot] = low
        values[3, slot] = c
        values[4, slot] = v
        values[5, slot] = tu
