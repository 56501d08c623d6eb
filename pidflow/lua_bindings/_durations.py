"""Durations as Lua users write them: numbers are milliseconds, strings are Go-style ("100ms", "1h30m")."""

from __future__ import annotations

from typing import Any

from .._duration import parse_duration as _parse


def parse_duration(value: Any) -> float:
    """Seconds from a Lua duration (a number of **milliseconds**, or a string such as ``"1h30m"``)."""
    return _parse(value, number_unit=1e-3)
