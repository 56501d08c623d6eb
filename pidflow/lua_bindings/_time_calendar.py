"""Calendar arithmetic and time zones for the Lua ``time`` module, with the semantics of Go's ``time`` package.

A time is a pair ``(sec, nsec)``: seconds since the Unix epoch (any 64-bit value, so Go's zero time, year 1, and
the year-0 times that ``time.parse("15:04", ...)`` makes are representable) and 0 <= nsec < 1e9. A location
crosses from Lua as ``(name, offset)``: ``offset`` set for a fixed zone, else ``name`` is ``"UTC"``, ``"Local"``
(the host's zone) or an IANA name (the system's zone database, through :mod:`zoneinfo`).

Dates are proleptic Gregorian for every year (Howard Hinnant's ``days_from_civil``), not :mod:`datetime`'s
1..9999; only the zone offset of an instant is asked of :mod:`zoneinfo`/:mod:`time`, clamped into the years they
handle.
"""

from __future__ import annotations

import datetime
import functools
import time as _time
import zoneinfo
from typing import Any

from ..errors import Error, ErrorKind

#: Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch.
ZERO_TO_UNIX = 62_135_596_800
_DAY = 86_400
# instants whose offset zoneinfo/localtime can look up (years 2..9998)
_LOOKUP_MIN, _LOOKUP_MAX = -62_104_060_800, 253_370_764_800


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (m in 1..12; d may overflow the month)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """The (year, month, day) of a count of days since 1970-01-01."""
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1


def is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---------------------------------------------------------------- zones


class Zone:
    """A location: ``lookup(sec) -> (offset seconds east of UTC, abbreviation)`` at an instant."""

    def __init__(self, name: str, offset: int | None = None, info: zoneinfo.ZoneInfo | None = None) -> None:
        self.name, self.fixed, self.info = name, offset, info

    def lookup(self, sec: int) -> tuple[int, str]:
        if self.fixed is not None:
            return self.fixed, self.name
        clamped = min(max(sec, _LOOKUP_MIN), _LOOKUP_MAX)
        if self.info is not None:
            dt = datetime.datetime.fromtimestamp(clamped, tz=self.info)
            off = dt.utcoffset()
            return (int(off.total_seconds()) if off is not None else 0), dt.tzname() or ""
        try:  # the host's zone
            tm = _time.localtime(clamped)
        except (OverflowError, OSError, ValueError):
            return 0, "UTC"
        return tm.tm_gmtoff, tm.tm_zone


UTC = Zone("UTC", 0)
LOCAL = Zone("Local")


@functools.lru_cache(maxsize=256)
def load_zone(name: str) -> Zone:
    """The zone of an IANA name ("Europe/Paris"), "UTC" or "Local"; NOT_FOUND if the zone database has no such
    name, INVALID for an empty one (Go's ``time.LoadLocation``)."""
    if name == "":
        raise Error(ErrorKind.INVALID, "time.load_location: empty location name", retryable=False)
    if name == "UTC":
        return UTC
    if name == "Local":
        return LOCAL
    try:
        return Zone(name, info=zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 60 else name[:57] + "..."   # (a 4 MiB name must not make a 4 MiB message)
        raise Error(ErrorKind.NOT_FOUND, f"time.load_location: unknown time zone {shown}", retryable=False) from None


def zone(name: Any, offset: Any) -> Zone:
    """The zone of a Lua location ``(name, offset)``."""
    if offset is not None:
        return Zone(name, offset) if name != "UTC" or offset != 0 else UTC
    return load_zone(name)


# ---------------------------------------------------------------- times


def make(year: int, month: int, day: int, hour: int, minute: int, sec: int, nsec: int, z: Zone) -> tuple[int, int]:
    """Go's ``time.Date``: fields out of range normalize (month 13 is January of the next year, second 60 the
    next minute ...); a wall clock that a zone transition skips or repeats resolves as Go does."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    sec, nsec = sec + nsec // 1_000_000_000, nsec % 1_000_000_000
    wall = days_from_civil(year, month, 1) * _DAY + (day - 1) * _DAY + hour * 3600 + minute * 60 + sec
    offset, _ = z.lookup(wall)
    if offset:
        offset, _ = z.lookup(wall - offset)
    return wall - offset, nsec


def fields(sec: int, z: Zone) -> list[Any]:
    """[year, month, day, hour, minute, second, weekday (0 = Sunday), year_day, offset, abbreviation]."""
    offset, abbr = z.lookup(sec)
    local = sec + offset
    days, rest = divmod(local, _DAY)
    y, m, d = civil_from_days(days)
    return [y, m, d, rest // 3600, rest // 60 % 60, rest % 60, (days + 4) % 7,
            days - days_from_civil(y, 1, 1) + 1, offset, abbr]


def add_date(sec: int, nsec: int, z: Zone, years: int, months: int, days: int) -> tuple[int, int]:
    """Go's ``Time.AddDate``: the same wall clock that many years, months and days later, normalized."""
    y, m, d, hh, mm, ss = fields(sec, z)[:6]
    return make(y + years, m + months, d + days, hh, mm, ss, nsec, z)


def remainder(sec: int, nsec: int, d: int) -> int:
    """Nanoseconds since the last multiple of ``d`` counted from Go's zero time (``Time.Truncate``/``Round``
    work on the absolute time, not on its presentation in a zone)."""
    return ((sec + ZERO_TO_UNIX) * 1_000_000_000 + nsec) % d
