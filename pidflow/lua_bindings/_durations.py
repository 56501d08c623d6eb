"""Durations as Lua users write them: numbers are milliseconds, strings are Go-style ("100ms", "1h30m")."""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import Error, ErrorKind

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(value: Any) -> float:
    """Seconds from a duration: a number of **milliseconds**, or a string of number+unit parts (ns, us, ms, s, m,
    h, d), e.g. ``"1h30m"``, ``"1.5s"``, ``"0"``. Negative, non-finite or malformed values raise INVALID naming
    the value."""
    if isinstance(value, bool):
        raise Error(ErrorKind.INVALID, f"invalid duration {value!r}: expected milliseconds or a string like '5s'")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise Error(ErrorKind.INVALID, f"invalid duration {value!r}: must be a finite number of milliseconds >= 0")
        return value / 1000.0
    if isinstance(value, str):
        text = value.strip()
        if text == "0":
            return 0.0
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m[1]) * _UNITS[m[2]]
            pos = m.end()
        if text and pos == len(text):
            return total
    raise Error(ErrorKind.INVALID, f"invalid duration {value!r}: expected milliseconds or a string like '100ms', '5s', '1h30m'")
