"""Go time layouts for the Lua ``time`` module: ``t:format(layout)`` and ``time.parse(layout, value)``.

A layout is an example of Go's reference time, ``Mon Jan 2 15:04:05 MST 2006`` (``2006-01-02T15:04:05Z07:00``
is RFC 3339). :func:`chunks` splits a layout into literal text and fields the way Go's ``nextStdChunk`` does (the
same greedy rules: ``Jan`` is a month unless a lower-case letter follows, ``.000``/``.999`` is a fraction of a
second only if no digit follows ...), so that a layout written for the seed runtime formats and parses the same
here. Errors carry Go's own messages (``parsing time "x" as "2006-01-02": cannot parse "x" as "2006"``).
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import Error, ErrorKind
from . import _time_calendar as cal

_LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]
_LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_SHORT_MONTHS = [m[:3] for m in _LONG_MONTHS]
_SHORT_DAYS = [d[:3] for d in _LONG_DAYS]

# field codes (Go's std* constants, by name)
_PREFIXES = [  # (text, code) tried in order at a position whose first character selects the list
    ("January", "long_month"), ("Jan", "month"), ("Monday", "long_weekday"), ("Mon", "weekday"), ("MST", "tz"),
    ("01", "zero_month"), ("02", "zero_day"), ("03", "zero_hour12"), ("04", "zero_minute"), ("05", "zero_second"),
    ("06", "year"), ("002", "zero_yday"), ("15", "hour"), ("1", "num_month"), ("2006", "long_year"), ("2", "day"),
    ("__2", "under_yday"), ("_2", "under_day"), ("3", "hour12"), ("4", "minute"), ("5", "second"), ("PM", "PM"),
    ("pm", "pm"), ("-070000", "num_seconds_tz"), ("-07:00:00", "num_colon_seconds_tz"), ("-0700", "num_tz"),
    ("-07:00", "num_colon_tz"), ("-07", "num_short_tz"), ("Z070000", "iso_seconds_tz"),
    ("Z07:00:00", "iso_colon_seconds_tz"), ("Z0700", "iso_tz"), ("Z07:00", "iso_colon_tz"), ("Z07", "iso_short_tz"),
]
_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
for _text, _code in _PREFIXES:
    _BY_FIRST.setdefault(_text[0], []).append((_text, _code))


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _std_at(layout: str, i: int) -> tuple[str, int, Any] | None:
    """The field starting at ``layout[i]``: (code, length, extra), or None."""
    c = layout[i]
    if c in ".,":  # a fraction of a second: a run of 0s or 9s after the separator, not followed by a digit
        if i + 1 < len(layout) and layout[i + 1] in "09":
            j = i + 1
            while j < len(layout) and layout[j] == layout[i + 1]:
                j += 1
            if not (j < len(layout) and "0" <= layout[j] <= "9"):
                return ("frac0" if layout[i + 1] == "0" else "frac9"), j - i, (c, j - i - 1)
        return None
    for text, code in _BY_FIRST.get(c, ()):
        if not layout.startswith(text, i):  # (not a slice of the rest: quadratic in a long layout)
            continue
        if code in ("month", "weekday") and _starts_lower(layout[i + 3:i + 4]):
            continue
        return code, len(text), None
    return None


@functools.lru_cache(maxsize=512)
def chunks(layout: str) -> tuple[tuple[str, str, str, Any], ...]:
    """The layout as (literal prefix, code, field text, extra) pieces; the last piece has code ""."""
    out = []
    start = i = 0
    while i < len(layout):
        if layout.startswith("_2006", i):  # Go: a literal "_" then the year
            out.append((layout[start:i + 1], "long_year", "2006", None))
            i += 5
            start = i
            continue
        found = _std_at(layout, i)
        if found is None:
            i += 1
            continue
        code, n, extra = found
        out.append((layout[start:i], code, layout[i:i + n], extra))
        i += n
        start = i
    out.append((layout[start:], "", "", None))
    return tuple(out)


# ---------------------------------------------------------------- format


def _zone_text(code: str, offset: int) -> str:
    if code.startswith("iso") and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    a = abs(offset)
    zone = a // 60
    s = sign + f"{zone // 60:02d}"
    colon = "colon" in code
    if not code.endswith("short_tz"):
        s += (":" if colon else "") + f"{zone % 60:02d}"
    if "seconds" in code:
        s += (":" if colon else "") + f"{a % 60:02d}"
    return s


def _pad(n: int, width: int) -> str:
    return ("-" + f"{-n:0{width}d}") if n < 0 else f"{n:0{width}d}"


def format_time(sec: int, nsec: int, z: cal.Zone, layout: str) -> str:
    """Go's ``Time.Format``."""
    y, mo, d, hh, mm, ss, wd, yd, offset, abbr = cal.fields(sec, z)
    out = []
    for prefix, code, _text, extra in chunks(layout):
        out.append(prefix)
        if not code:
            break
        if code == "year":
            out.append(f"{y % 100:02d}")
        elif code == "long_year":
            out.append(_pad(y, 4))
        elif code == "month":
            out.append(_SHORT_MONTHS[mo - 1])
        elif code == "long_month":
            out.append(_LONG_MONTHS[mo - 1])
        elif code == "num_month":
            out.append(str(mo))
        elif code == "zero_month":
            out.append(f"{mo:02d}")
        elif code == "weekday":
            out.append(_SHORT_DAYS[wd])
        elif code == "long_weekday":
            out.append(_LONG_DAYS[wd])
        elif code == "day":
            out.append(str(d))
        elif code == "under_day":
            out.append(f"{d:2d}")
        elif code == "zero_day":
            out.append(f"{d:02d}")
        elif code == "under_yday":
            out.append(f"{yd:3d}")
        elif code == "zero_yday":
            out.append(f"{yd:03d}")
        elif code == "hour":
            out.append(f"{hh:02d}")
        elif code in ("hour12", "zero_hour12"):
            h = hh % 12 or 12
            out.append(str(h) if code == "hour12" else f"{h:02d}")
        elif code == "minute":
            out.append(str(mm))
        elif code == "zero_minute":
            out.append(f"{mm:02d}")
        elif code == "second":
            out.append(str(ss))
        elif code == "zero_second":
            out.append(f"{ss:02d}")
        elif code == "PM":
            out.append("PM" if hh >= 12 else "AM")
        elif code == "pm":
            out.append("pm" if hh >= 12 else "am")
        elif code == "tz":
            if abbr:
                out.append(abbr)
            else:
                zone = abs(offset) // 60
                out.append(("-" if offset < 0 else "+") + f"{zone // 60:02d}{zone % 60:02d}")
        elif code.startswith(("iso", "num_")) and code.endswith("tz"):
            out.append(_zone_text(code, offset))
        elif code in ("frac0", "frac9"):
            sep, n = extra
            digits = f"{nsec:09d}"[:n]
            if code == "frac9":
                digits = digits.rstrip("0")
            if digits:
                out.append(sep + digits)
    return "".join(out)


# ---------------------------------------------------------------- parse


class _Bad(Exception):
    """A value does not match its layout field (Go's errBad)."""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digit(c: str) -> bool:
    return "0" <= c <= "9" and len(c) == 1


def _digits(s: str) -> bool:
    return bool(s) and all("0" <= c <= "9" for c in s)


def _getnum(s: str, fixed: bool, most: int = 2) -> tuple[int, str]:
    if not _digit(s[:1]):
        raise _Bad
    n = 1
    while n < most and _digit(s[n:n + 1]):
        n += 1
    if fixed and n < most:
        raise _Bad
    return int(s[:n]), s[n:]


def _lookup(names: list[str], s: str) -> tuple[int, str]:
    for i, name in enumerate(names):
        if s[:len(name)].lower() == name.lower() and len(s) >= len(name):
            return i, s[len(name):]
    raise _Bad


def _skip(value: str, prefix: str) -> str:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                raise _Bad
            prefix, value = prefix.lstrip(" "), value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            raise _Bad
        prefix, value = prefix[1:], value[1:]
    return value


def _nanos(value: str, n: int) -> int:
    """The fraction ``value[1:n]`` (after its separator) in nanoseconds."""
    if value[:1] not in (".", ","):
        raise _Bad
    digits = value[1:min(n, 10)]
    if not _digits(digits):
        raise _Bad
    return int(digits) * 10 ** (9 - len(digits))


def _signed_offset_len(value: str) -> int:
    if value[:1] not in ("+", "-"):
        return 0
    i = 1
    while i < len(value) and _digit(value[i]):
        i += 1
    if i == 1 or int(value[1:i]) > 12:
        return 0
    return i


def _tz_name_len(value: str) -> int:
    """Go's parseTimeZone: the length of a zone abbreviation at the start of ``value``, 0 if none."""
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + _signed_offset_len(value[3:])
    if value[0] in "+-":
        return _signed_offset_len(value)
    upper = 0
    while upper < min(len(value), 6) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if upper == 5 and value[4] == "T":
        return 5
    return 0


def _fail(layout: str, value: str, message: str) -> Error:
    return Error(ErrorKind.INVALID, f"parsing time {_quote(value)}{message}", retryable=False)


def parse_time(layout: str, value: str, default: cal.Zone) -> tuple[int, int, cal.Zone]:
    """Go's ``time.ParseInLocation(layout, value, default)``: a value without a zone is in ``default``; a zone
    offset or abbreviation that ``default`` uses at that time gives ``default``, another gives a fixed zone."""
    original = value
    year, month, day, yday, hour, minute, sec, nsec = 0, -1, -1, -1, 0, 0, 0, 0
    am = pm = False
    z: cal.Zone | None = None
    zone_offset: int | None = None
    zone_name = ""
    pieces = chunks(layout)
    for index, (prefix, code, text, extra) in enumerate(pieces):
        try:
            value = _skip(value, prefix)
        except _Bad:
            raise _fail(layout, original, f" as {_quote(layout)}: cannot parse {_quote(value)} as {_quote(prefix)}") \
                from None
        if not code:
            if value:
                raise _fail(layout, original, f": extra text: {_quote(value)}")
            break
        hold, out_of_range = value, ""
        try:
            if code == "year":
                if len(value) < 2 or not _digits(value[:2]):
                    raise _Bad
                year, value = int(value[:2]), value[2:]
                year += 1900 if year >= 69 else 2000
            elif code == "long_year":
                if len(value) < 4 or not _digits(value[:4]):
                    raise _Bad
                year, value = int(value[:4]), value[4:]
            elif code in ("month", "long_month"):
                month, value = _lookup(_SHORT_MONTHS if code == "month" else _LONG_MONTHS, value)
                month += 1
            elif code in ("num_month", "zero_month"):
                month, value = _getnum(value, code == "zero_month")
                if not 1 <= month <= 12:
                    out_of_range = "month"
            elif code in ("weekday", "long_weekday"):
                _, value = _lookup(_SHORT_DAYS if code == "weekday" else _LONG_DAYS, value)
            elif code in ("day", "under_day", "zero_day"):
                if code == "under_day" and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, code == "zero_day")
            elif code in ("under_yday", "zero_yday"):
                if code == "under_yday":
                    for _ in range(2):
                        if value[:1] == " ":
                            value = value[1:]
                yday, value = _getnum(value, code == "zero_yday", 3)
            elif code == "hour":
                hour, value = _getnum(value, False)
                if hour >= 24:
                    out_of_range = "hour"
            elif code in ("hour12", "zero_hour12"):
                hour, value = _getnum(value, code == "zero_hour12")
                if hour > 12:
                    out_of_range = "hour"
            elif code in ("minute", "zero_minute"):
                minute, value = _getnum(value, code == "zero_minute")
                if minute >= 60:
                    out_of_range = "minute"
            elif code in ("second", "zero_second"):
                sec, value = _getnum(value, code == "zero_second")
                if sec >= 60:
                    out_of_range = "second"
                elif len(value) >= 2 and value[0] in ".," and _digit(value[1]) \
                        and pieces[index + 1][1] not in ("frac0", "frac9"):
                    # a fraction of a second that the layout does not ask for: Go reads it anyway
                    n = 2
                    while n < len(value) and _digit(value[n]):
                        n += 1
                    nsec, value = _nanos(value, n), value[n:]
            elif code in ("PM", "pm"):
                word = value[:2]
                if word == ("PM" if code == "PM" else "pm"):
                    pm = True
                elif word == ("AM" if code == "PM" else "am"):
                    am = True
                else:
                    raise _Bad
                value = value[2:]
            elif code.startswith("iso") and value[:1] == "Z":
                value, z = value[1:], cal.UTC
            elif code.startswith(("iso", "num_")) and code.endswith("tz"):
                colon = "colon" in code
                if code.endswith("short_tz"):
                    need, parts = 3, (value[1:3], "00", "00")
                elif "seconds" in code:
                    need = 9 if colon else 7
                    if len(value) < need or (colon and (value[3] != ":" or value[6] != ":")):
                        raise _Bad
                    parts = (value[1:3], value[4:6], value[7:9]) if colon else (value[1:3], value[3:5], value[5:7])
                else:
                    need = 6 if colon else 5
                    if len(value) < need or (colon and value[3] != ":"):
                        raise _Bad
                    parts = (value[1:3], value[4:6] if colon else value[3:5], "00")
                if len(value) < need or not all(len(p) == 2 and _digits(p) for p in parts):
                    raise _Bad
                hh, mm, ss = (int(p) for p in parts)
                if hh > 24:
                    out_of_range = "time zone offset hour"
                if mm > 60:
                    out_of_range = "time zone offset minute"
                if ss > 60:
                    out_of_range = "time zone offset second"
                sign, value = value[0], value[need:]
                if sign not in "+-":
                    raise _Bad
                zone_offset = (hh * 3600 + mm * 60 + ss) * (-1 if sign == "-" else 1)
            elif code == "tz":
                if value[:3] == "UTC":
                    value, z = value[3:], cal.UTC
                else:
                    n = _tz_name_len(value)
                    if not n:
                        raise _Bad
                    zone_name, value = value[:n], value[n:]
            elif code == "frac0":
                n = 1 + extra[1]
                if len(value) < n:
                    raise _Bad
                nsec, value = _nanos(value, n), value[n:]
            elif code == "frac9":
                if len(value) >= 2 and value[0] in ".," and _digit(value[1]):
                    n = 1
                    while n < len(value) and _digit(value[n]):
                        n += 1
                    nsec, value = _nanos(value, n), value[n:]
        except _Bad:
            raise _fail(layout, original, f" as {_quote(layout)}: cannot parse {_quote(hold)} as {_quote(text)}") \
                from None
        if out_of_range:
            raise _fail(layout, original, f": {out_of_range} out of range")
    if pm and hour < 12:
        hour += 12
    elif am and hour == 12:
        hour = 0
    if yday >= 0:
        m = d = 0
        if cal.is_leap(year):
            if yday == 60:
                m, d = 2, 29
            elif yday > 60:
                yday -= 1
        if not 1 <= yday <= 365:
            raise _fail(layout, original, ": day-of-year out of range")
        if not m:
            m, d = 1, yday
            while d > cal.days_in(m, 2001):
                d -= cal.days_in(m, 2001)
                m += 1
        if month >= 0 and month != m:
            raise _fail(layout, original, ": day-of-year does not match month")
        if day >= 0 and day != d:
            raise _fail(layout, original, ": day-of-year does not match day")
        month, day = m, d
    else:
        month = 1 if month < 0 else month
        day = 1 if day < 0 else day
    if not 1 <= day <= cal.days_in(month, year):
        raise _fail(layout, original, ": day out of range")
    if z is not None:
        return (*cal.make(year, month, day, hour, minute, sec, nsec, z), z)
    if zone_offset is not None:
        s, n = cal.make(year, month, day, hour, minute, sec, nsec, cal.UTC)
        s -= zone_offset
        offset, name = default.lookup(s)
        if offset == zone_offset and (not zone_name or name == zone_name):
            return s, n, default
        return s, n, cal.Zone(zone_name, zone_offset)
    if zone_name:
        s, n = cal.make(year, month, day, hour, minute, sec, nsec, cal.UTC)
        for guess in _candidate_offsets(default, s):
            if default.lookup(s - guess) == (guess, zone_name):
                return s - guess, n, default
        offset = 0
        if len(zone_name) > 3 and zone_name[:3] == "GMT":
            offset = int(zone_name[3:]) * 3600
        return s, n, cal.Zone(zone_name, offset)
    return (*cal.make(year, month, day, hour, minute, sec, nsec, default), default)


def _candidate_offsets(z: cal.Zone, sec: int) -> list[int]:
    """Offsets ``z`` uses around ``sec`` (this instant and half a year either side: standard and summer time)."""
    seen: list[int] = []
    for probe in (sec, sec - 182 * 86_400, sec + 182 * 86_400):
        off = z.lookup(probe)[0]
        if off not in seen:
            seen.append(off)
    return seen
