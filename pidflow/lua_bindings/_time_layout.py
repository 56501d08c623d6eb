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


#: The longest layout (and value) ``t:format``/``time.parse`` take, in bytes: each field of a layout is a Python
#: object while it is used (a 4 MiB layout of 2**21 fields would hold hundreds of MiB outside the Lua state's
#: ``max_memory``), and no real layout comes near.
MAX_LAYOUT = 65536


def chunks(layout: str) -> tuple[tuple[str, str, str, Any], ...]:
    """The layout as (literal prefix, code, field text, extra) pieces; the last piece has code "". Short layouts
    (every real one) are cached."""
    return _cached_chunks(layout) if len(layout) <= 256 else _chunks(layout)


def _chunks(layout: str) -> tuple[tuple[str, str, str, Any], ...]:
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


_cached_chunks = functools.lru_cache(maxsize=512)(_chunks)


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
#
# The parser walks the value with an index: slicing off the rest once per field would copy the value once per
# field, quadratic in a long value (and it runs on the node's event loop). Callers cap the lengths anyway
# (MAX_LAYOUT: the chunks of a long layout are a Python object each).


class _Bad(Exception):
    """A value does not match its layout field (Go's errBad); ``args[0]``, when given, is where it stopped."""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digit(c: str) -> bool:
    return "0" <= c <= "9" and len(c) == 1


def _digits(s: str) -> bool:
    return bool(s) and all("0" <= c <= "9" for c in s)


def _getnum(s: str, i: int, fixed: bool, most: int = 2) -> tuple[int, int]:
    """Go's getnum/getnum3: the number of up to ``most`` digits at ``s[i]`` (exactly ``most`` if ``fixed``) and the
    index after it."""
    n = 0
    while n < most and _digit(s[i + n:i + n + 1]):
        n += 1
    if not n or (fixed and n < most):
        raise _Bad
    return int(s[i:i + n]), i + n


def _lookup(names: list[str], s: str, i: int) -> tuple[int, int]:
    for k, name in enumerate(names):
        if s[i:i + len(name)].lower() == name.lower() and len(s) - i >= len(name):
            return k, i + len(name)
    raise _Bad


def _skip(value: str, i: int, prefix: str) -> int:
    """Go's skip: the layout's literal ``prefix`` at ``value[i]`` (a run of spaces matches any run, or none at the
    end); the index after it. ``_Bad(where)`` says where it stopped, as Go's message quotes the rest from there."""
    j, n, m = 0, len(prefix), len(value)
    while j < n:
        c = prefix[j]
        if c == " ":
            if i < m and value[i] != " ":
                raise _Bad(i)
            while j < n and prefix[j] == " ":
                j += 1
            while i < m and value[i] == " ":
                i += 1
            continue
        if i >= m or value[i] != c:
            raise _Bad(i)
        i += 1
        j += 1
    return i


def _nanos(value: str, i: int, n: int) -> int:
    """The fraction ``value[i + 1:i + n]`` (after its separator ``value[i]``) in nanoseconds."""
    if value[i:i + 1] not in (".", ","):
        raise _Bad
    digits = value[i + 1:i + min(n, 10)]
    if not _digits(digits):
        raise _Bad
    nanos: int = int(digits) * 10 ** (9 - len(digits))
    return nanos


def _digit_run(value: str, i: int) -> int:
    """The index after the run of digits at ``value[i]``."""
    m = len(value)
    while i < m and _digit(value[i]):
        i += 1
    return i


def _signed_offset_len(value: str, i: int) -> int:
    if value[i:i + 1] not in ("+", "-"):
        return 0
    j = _digit_run(value, i + 1)
    hours = value[i + 1:j].lstrip("0")   # (Go's leadingInt: leading zeros are fine; an overflow is no offset)
    if j == i + 1 or len(hours) > 2 or int(hours or "0") > 12:
        return 0
    return j - i


def _tz_name_len(value: str, i: int) -> int:
    """Go's parseTimeZone: the length of a zone abbreviation at ``value[i]``, 0 if none."""
    rest = len(value) - i
    if rest < 3:
        return 0
    if value[i:i + 4] in ("ChST", "MeST"):
        return 4
    if value[i:i + 3] == "GMT":
        return 3 + _signed_offset_len(value, i + 3)
    if value[i] in "+-":
        return _signed_offset_len(value, i)
    upper = 0
    while upper < min(rest, 6) and "A" <= value[i + upper] <= "Z":
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[i + 3] == "T" or value[i:i + 4] == "WITA"):
        return 4
    if upper == 5 and value[i + 4] == "T":
        return 5
    return 0


def _fail(layout: str, value: str, message: str) -> Error:
    return Error(ErrorKind.INVALID, f"parsing time {_quote(value)}{message}", retryable=False)


def parse_time(layout: str, value: str, default: cal.Zone) -> tuple[int, int, cal.Zone]:
    """Go's ``time.ParseInLocation(layout, value, default)``: a value without a zone is in ``default``; a zone
    offset or abbreviation that ``default`` uses at that time gives ``default``, another gives a fixed zone."""
    year, month, day, yday, hour, minute, sec, nsec = 0, -1, -1, -1, 0, 0, 0, 0
    am = pm = False
    z: cal.Zone | None = None
    zone_offset: int | None = None
    zone_name = ""
    size = len(value)
    i = 0   # where the rest of the value starts
    pieces = chunks(layout)
    for index, (prefix, code, text, extra) in enumerate(pieces):
        try:
            i = _skip(value, i, prefix)
        except _Bad as exc:
            raise _fail(layout, value, f" as {_quote(layout)}: cannot parse {_quote(value[exc.args[0]:])} as "
                                       f"{_quote(prefix)}") from None
        if not code:
            if i < size:
                raise _fail(layout, value, f": extra text: {_quote(value[i:])}")
            break
        hold, out_of_range = i, ""
        try:
            if code in ("year", "long_year"):
                n = 2 if code == "year" else 4
                digits = value[i:i + n]
                if len(digits) < n or not _digits(digits):
                    raise _Bad
                year, i = int(digits), i + n
                if code == "year":
                    year += 1900 if year >= 69 else 2000
            elif code in ("month", "long_month"):
                month, i = _lookup(_SHORT_MONTHS if code == "month" else _LONG_MONTHS, value, i)
                month += 1
            elif code in ("num_month", "zero_month"):
                month, i = _getnum(value, i, code == "zero_month")
                if not 1 <= month <= 12:
                    out_of_range = "month"
            elif code in ("weekday", "long_weekday"):
                _, i = _lookup(_SHORT_DAYS if code == "weekday" else _LONG_DAYS, value, i)
            elif code in ("day", "under_day", "zero_day"):
                if code == "under_day" and value[i:i + 1] == " ":
                    i += 1
                day, i = _getnum(value, i, code == "zero_day")
            elif code in ("under_yday", "zero_yday"):
                if code == "under_yday":
                    for _ in range(2):
                        if value[i:i + 1] == " ":
                            i += 1
                yday, i = _getnum(value, i, code == "zero_yday", 3)
            elif code == "hour":
                hour, i = _getnum(value, i, False)
                if hour >= 24:
                    out_of_range = "hour"
            elif code in ("hour12", "zero_hour12"):
                hour, i = _getnum(value, i, code == "zero_hour12")
                if hour > 12:
                    out_of_range = "hour"
            elif code in ("minute", "zero_minute"):
                minute, i = _getnum(value, i, code == "zero_minute")
                if minute >= 60:
                    out_of_range = "minute"
            elif code in ("second", "zero_second"):
                sec, i = _getnum(value, i, code == "zero_second")
                if sec >= 60:
                    out_of_range = "second"
                elif size - i >= 2 and value[i] in ".," and _digit(value[i + 1]) \
                        and pieces[index + 1][1] not in ("frac0", "frac9"):
                    # a fraction of a second that the layout does not ask for: Go reads it anyway
                    n = _digit_run(value, i + 1) - i
                    nsec, i = _nanos(value, i, n), i + n
            elif code in ("PM", "pm"):
                word = value[i:i + 2]
                if word == ("PM" if code == "PM" else "pm"):
                    pm = True
                elif word == ("AM" if code == "PM" else "am"):
                    am = True
                else:
                    raise _Bad
                i += 2
            elif code.startswith("iso") and value[i:i + 1] == "Z":
                i, z = i + 1, cal.UTC
            elif code.startswith(("iso", "num_")) and code.endswith("tz"):
                w = value[i:i + 9]   # (the longest offset: -07:00:00)
                colon = "colon" in code
                if code.endswith("short_tz"):
                    need, parts = 3, (w[1:3], "00", "00")
                elif "seconds" in code:
                    need = 9 if colon else 7
                    if len(w) < need or (colon and (w[3] != ":" or w[6] != ":")):
                        raise _Bad
                    parts = (w[1:3], w[4:6], w[7:9]) if colon else (w[1:3], w[3:5], w[5:7])
                else:
                    need = 6 if colon else 5
                    if len(w) < need or (colon and w[3] != ":"):
                        raise _Bad
                    parts = (w[1:3], w[4:6] if colon else w[3:5], "00")
                if len(w) < need or not all(len(p) == 2 and _digits(p) for p in parts):
                    raise _Bad
                hh, mm, ss = (int(p) for p in parts)
                if hh > 24:
                    out_of_range = "time zone offset hour"
                if mm > 60:
                    out_of_range = "time zone offset minute"
                if ss > 60:
                    out_of_range = "time zone offset second"
                sign, i = w[0], i + need
                if sign not in "+-":
                    raise _Bad
                zone_offset = (hh * 3600 + mm * 60 + ss) * (-1 if sign == "-" else 1)
            elif code == "tz":
                if value[i:i + 3] == "UTC":
                    i, z = i + 3, cal.UTC
                else:
                    n = _tz_name_len(value, i)
                    if not n:
                        raise _Bad
                    zone_name, i = value[i:i + n], i + n
            elif code == "frac0":
                n = 1 + extra[1]
                if size - i < n:
                    raise _Bad
                nsec, i = _nanos(value, i, n), i + n
            elif code == "frac9":
                if size - i >= 2 and value[i] in ".," and _digit(value[i + 1]):
                    n = _digit_run(value, i + 1) - i
                    nsec, i = _nanos(value, i, n), i + n
        except _Bad:
            raise _fail(layout, value, f" as {_quote(layout)}: cannot parse {_quote(value[hold:])} as "
                                       f"{_quote(text)}") from None
        if out_of_range:
            raise _fail(layout, value, f": {out_of_range} out of range")
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
            raise _fail(layout, value, ": day-of-year out of range")
        if not m:
            m, d = 1, yday
            while d > cal.days_in(m, 2001):
                d -= cal.days_in(m, 2001)
                m += 1
        if month >= 0 and month != m:
            raise _fail(layout, value, ": day-of-year does not match month")
        if day >= 0 and day != d:
            raise _fail(layout, value, ": day-of-year does not match day")
        month, day = m, d
    else:
        month = 1 if month < 0 else month
        day = 1 if day < 0 else day
    if not 1 <= day <= cal.days_in(month, year):
        raise _fail(layout, value, ": day out of range")
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
            offset = int(zone_name[3] + (zone_name[4:].lstrip("0") or "0")) * 3600   # (at most 12: see above)
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
