"""Bar boundaries in UTC: where the bar of an interval that contains a moment opens, and where the
next one opens. Pure integer arithmetic on epoch milliseconds (no `datetime`, no time zone)."""

from __future__ import annotations

from typing import Final

from ..model import INTERVALS, Interval

__all__ = ["align_open_time", "next_open_time"]

_MINUTE_MS: Final = 60_000
_DAY_MS: Final = 1440 * _MINUTE_MS
_WEEK_MS: Final = 7 * _DAY_MS
# 1970-01-01 was a Thursday, so Mondays 00:00 UTC are 4 days (mod 7) after the epoch.
_MONDAY_MS: Final = 4 * _DAY_MS

_FIXED: Final[dict[str, tuple[int, int]]] = {
    "1m": (_MINUTE_MS, 0),
    "5m": (5 * _MINUTE_MS, 0),
    "15m": (15 * _MINUTE_MS, 0),
    "30m": (30 * _MINUTE_MS, 0),
    "1h": (60 * _MINUTE_MS, 0),
    "2h": (120 * _MINUTE_MS, 0),
    "4h": (240 * _MINUTE_MS, 0),
    "1d": (_DAY_MS, 0),
    "1w": (_WEEK_MS, _MONDAY_MS),
}
"""`(length, offset)` of every interval of fixed length: bars open at `offset + k * length`."""


def _month_of_days(days: int) -> tuple[int, int]:
    """`(year, month)` of a day counted from 1970-01-01 (H. Hinnant's `civil_from_days`)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month


def _first_of_month_ms(year: int, month: int) -> int:
    """Epoch ms of the 1st of a month, 00:00 UTC (H. Hinnant's `days_from_civil`)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146_097 + doe - 719_468) * _DAY_MS


def _unknown(interval: object) -> ValueError:
    return ValueError(f"unknown bar interval {interval!r}: use one of {', '.join(INTERVALS)}")


def align_open_time(ts_ms: int, interval: Interval) -> int:
    """The open time (epoch ms) of the `interval` bar that contains `ts_ms`.

    Minutes, hours and days align on multiples of their length from the epoch (so on UTC
    midnight for days), weeks on Monday 00:00 UTC, months on the 1st 00:00 UTC.
    Raises ValueError for an interval itick-bot does not know.
    """
    fixed = _FIXED.get(interval)
    if fixed is not None:
        length, offset = fixed
        return (ts_ms - offset) // length * length + offset
    if interval == "1M":
        return _first_of_month_ms(*_month_of_days(ts_ms // _DAY_MS))
    raise _unknown(interval)


def next_open_time(open_time: int, interval: Interval) -> int:
    """The open time of the bar after the one that contains `open_time` (where that bar ends)."""
    fixed = _FIXED.get(interval)
    if fixed is not None:
        length, offset = fixed
        return (open_time - offset) // length * length + offset + length
    if interval == "1M":
        year, month = _month_of_days(open_time // _DAY_MS)
        return _first_of_month_ms(year + month // 12, month % 12 + 1)
    raise _unknown(interval)
