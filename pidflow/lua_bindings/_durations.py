"""Durations as Lua users write them, in the two conventions the Lua API has.

* Spawn options and ``process.cancel`` (the workflow spec's convention): a number is **milliseconds**, a string is
  ``"100ms"``, ``"1h30m"`` ...: :func:`parse_duration`, float seconds.
* The ``time`` module (the seed runtime's, which is Go's): a number is **nanoseconds**, a string is what Go's
  ``time.ParseDuration`` reads (``"1h30m"``, ``"-1.5s"``, ``"300us"``; no days): :func:`parse_go_duration`, integer
  nanoseconds, and :func:`format_go_duration`, Go's ``Duration.String`` (``"1h30m0s"``).
"""

from __future__ import annotations

from typing import Any

from .._duration import parse_duration as _parse
from ..errors import Error, ErrorKind
from ._values import PREVIEW, lua_type_name


def parse_duration(value: Any) -> float:
    """Seconds from a Lua duration (a number of **milliseconds**, or a string such as ``"1h30m"``)."""
    return _parse(value, number_unit=1e-3)


_NS_PER_UNIT = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}
_MAX = 1 << 63
#: The longest duration string read (Go has no limit): parsing runs on the node's event loop, ~1 s per MiB.
MAX_TEXT = 65536
_DIGITS = "0123456789"


def _cut(text: str) -> str:
    # Go's messages quote the whole text: cut short here (a 4 MiB argument must not make a 4 MiB message)
    return text if len(text) <= PREVIEW else text[:PREVIEW - 3] + "..."


def _invalid(text: str, why: str = "invalid duration") -> Error:
    return Error(ErrorKind.INVALID, f'time: {why} "{_cut(text)}"', retryable=False)


def parse_go_duration(text: Any) -> int:
    """Nanoseconds of a Go duration string: a sign, then decimal numbers each with a unit (``ns``, ``us``/``µs``,
    ``ms``, ``s``, ``m``, ``h``), e.g. ``"1h30m"``, ``"1.5s"``, ``"-2m3.5s"``; ``"0"`` alone needs no unit.
    Anything else, or beyond the 64-bit range, raises INVALID with Go's message (``time: invalid duration "x"``)."""
    if not isinstance(text, str):
        raise Error(ErrorKind.INVALID, f"time: a duration string expected, got {lua_type_name(text)}",
                    retryable=False)
    # (by index: a slice of the rest per component would be quadratic in a long string)
    n, neg, i = len(text), False, 0
    if n > MAX_TEXT:
        raise _invalid(text, f"duration longer than {MAX_TEXT} characters")
    if text[:1] in ("-", "+"):
        neg, i = text[0] == "-", 1
    if text[i:] == "0":
        return 0
    if i == n:
        raise _invalid(text)
    total = 0
    while i < n:
        j = i
        while j < n and text[j] in _DIGITS:
            j += 1
        digits = text[i:j].lstrip("0")
        if len(digits) > 19:   # (Go's leadingInt: an overflow; and Python's int() refuses long digit strings)
            raise _invalid(text)
        whole, has_whole, i = int(digits or "0"), j > i, j
        if whole > _MAX:
            raise _invalid(text)
        frac, scale, has_frac = 0, 1.0, False
        if text[i:i + 1] == ".":
            i += 1
            j = i
            while j < n and text[j] in _DIGITS:
                if frac * 10 + 9 < _MAX:   # digits beyond 63 bits of precision are read and ignored (as Go does)
                    frac, scale = frac * 10 + int(text[j]), scale * 10
                j += 1
            has_frac, i = j > i, j
        if not has_whole and not has_frac:
            raise _invalid(text)
        j = i
        while j < n and text[j] not in _DIGITS and text[j] != ".":
            j += 1
        if j == i:
            raise _invalid(text, "missing unit in duration")
        unit = _NS_PER_UNIT.get(text[i:j])
        if unit is None:
            raise _invalid(text, f'unknown unit "{_cut(text[i:j])}" in duration')
        i = j
        # the fraction as Go computes it (a float64 product), so that both runtimes agree to the nanosecond
        v = whole * unit + (int(frac * (unit / scale)) if frac else 0)
        total += v
        if total > _MAX:
            raise _invalid(text)
    if not neg and total == _MAX:
        raise _invalid(text)
    return -total if neg else total


def _frac(u: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of ``u / 10**prec`` without trailing zeros (and no dot if zero), and the rest."""
    digits, printed = "", False
    for _ in range(prec):
        u, digit = divmod(u, 10)
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
    return ("." + digits if printed else ""), u


def format_go_duration(ns: Any) -> str:
    """Go's ``Duration.String``: ``"1h30m0s"``, ``"1.5s"``, ``"250ms"``, ``"1.5µs"``, ``"0s"``."""
    if type(ns) is not int:
        raise Error(ErrorKind.INVALID, f"time: an integer number of nanoseconds expected, got {lua_type_name(ns)}")
    u, sign = (-ns, "-") if ns < 0 else (ns, "")
    if u < 1_000_000_000:
        if u == 0:
            return "0s"
        prec, unit = (0, "ns") if u < 1_000 else (3, "\u00b5s") if u < 1_000_000 else (6, "ms")
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _frac(u, 9)
    minutes, secs = divmod(secs, 60)
    out = f"{secs}{frac}s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        out = f"{minutes}m" + out
        if hours:
            out = f"{hours}h" + out
    return sign + out
