"""Durations as users write them: ``"100ms"``, ``"5s"``, ``"1h30m"``, ``"1.5s"``, or plain numbers.

Plain numbers mean milliseconds in Lua and in entry YAML (the workflow spec's convention) and seconds in Python
(trio's convention); callers say which. Everything inside pidflow is float seconds.
"""

from __future__ import annotations

import datetime
import math
import re

from .errors import Error, ErrorKind

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")
_FORMS = "use milliseconds or a string like '100ms', '5s', '1h30m'"


def parse_duration(value: object, *, number_unit: float = 1e-3, what: str = "duration") -> float:
    """Return seconds. ``number_unit`` is the size in seconds of a plain number (1e-3: ms, 1.0: seconds).
    Negative, non-finite or malformed values raise INVALID naming ``what`` and the value."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise Error(ErrorKind.INVALID, f"invalid {what} {value!r}: must be finite")
        seconds = float(value) * number_unit
    elif isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            seconds += float(m[1]) * _UNITS[m[2]]
            pos = m.end()
        if text != "0" and (not text or pos != len(text)):
            raise Error(ErrorKind.INVALID, f"invalid {what} {_shown(value)}: {_FORMS}")
    else:
        raise Error(ErrorKind.INVALID, f"invalid {what} {_shown(value)}: {_FORMS}")
    if seconds < 0:
        raise Error(ErrorKind.INVALID, f"invalid {what} {_shown(value)}: must not be negative")
    return seconds


def _shown(value: object) -> str:
    """A value in a message, cut short (a 4 MiB string must not make a 4 MiB message)."""
    text = repr(value) if not isinstance(value, str) or len(value) <= 200 else repr(value[:200])
    return text if len(text) <= 80 else text[:77] + "..."
