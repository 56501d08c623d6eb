"""What a local Lua process lets into its mailboxes: the gate the driver puts on each mailbox it reads.

Two rules, checked when an item is delivered (``Mailbox.gate``), in the sender's call:

* A message must be able to cross into Lua (the value rules of ``_values``): otherwise the *sender's* ``send``
  fails with INVALID, instead of the receiver failing when it converts the message. Only data a Lua process can
  receive is walked, so Python-to-Python messages cost nothing.
* Queued bytes count against the receiver's ``max_memory``, as Erlang's ``max_heap_size`` counts the message
  queue: when queued bytes plus the Lua heap go past it, the receiver ends with a memory error and the item is
  dropped, so a process that does not read its inbox cannot grow the node without bound.

The size is an estimate of what the item will cost in the Lua state (the same constants as ``_values``), made
with one walk that also validates (:func:`item_size`); the gate itself is ``LuaProcess._admit``, whose hot path
(a scalar payload, far from the limit) walks nothing. The process keeps one total: it is recomputed down when
the driver takes an item while others remain queued, and reset to zero when all its mailboxes are drained, so
estimates never drift (a process that keeps up with its inbox, the common case, never re-walks). Events (EXIT
results ...) are counted but never refused: they come from the system, not from a sender that could handle the
error.
"""

from __future__ import annotations

from typing import Any

from .._events import Event, Message
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._values import _MAX_DEPTH, _SLOT, _STRING, _TABLE

_SCALAR = 16
_INT_MIN, _INT_MAX = -(2**63), 2**63
#: The estimated size of a message with a scalar payload, without its topic.
SCALAR_MESSAGE = _TABLE + _STRING + _SCALAR


def payload_size(value: Any, depth: int = 0) -> int:
    """The estimated Lua size of ``value``; INVALID if it cannot be passed to Lua."""
    t = type(value)
    if value is None or t is bool or t is float:
        return _SCALAR
    if t is int:
        if not _INT_MIN <= value < _INT_MAX:
            raise Error(ErrorKind.INVALID, f"integer {value} does not fit in a Lua integer (64-bit)")
        return _SCALAR
    if t is str:
        if not value.isascii():
            try:
                return len(value.encode("utf-8")) + _STRING
            except UnicodeEncodeError:
                raise Error(ErrorKind.INVALID, "a string with lone surrogates (not valid Unicode) cannot be passed "
                            "to Lua") from None
        return len(value) + _STRING
    if t is bytes:
        return len(value) + _STRING
    if depth > _MAX_DEPTH:
        raise Error(ErrorKind.INVALID, f"value nested deeper than {_MAX_DEPTH} levels (a cycle?)")
    if t is dict:
        size = _TABLE
        for k, v in value.items():
            if v is None:
                continue
            if type(k) is float and k != k:
                raise Error(ErrorKind.INVALID, "a dict with a NaN key cannot be passed to Lua")
            if not isinstance(k, (str, bytes, int, float, Pid)):
                raise Error(ErrorKind.INVALID, f"a dict with a {type(k).__name__} key cannot be passed to Lua "
                            "(keys are strings, numbers, booleans or PIDs)")
            size += _SLOT + payload_size(k, depth + 1) + payload_size(v, depth + 1)
        return size
    if t is list or t is tuple:
        size = _TABLE
        for v in value:
            size += _SLOT + payload_size(v, depth + 1)
        return size
    if t is Pid:
        return _TABLE
    if isinstance(value, Error):
        return _TABLE + len(value.message) + 2 * _STRING + (0 if value.details is None else
                                                             payload_size(value.details, depth + 1))
    if isinstance(value, (bool, int, float)):   # subclasses
        return payload_size(bool(value) if isinstance(value, bool) else
                            (int(value) if isinstance(value, int) else float(value)), depth)
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return payload_size(str(value) if isinstance(value, str) else bytes(value), depth)
    if isinstance(value, dict):
        return payload_size(dict(value), depth)
    raise Error(ErrorKind.INVALID, f"a {type(value).__name__} cannot be passed to Lua")


def item_size(item: Any, strict: bool = True) -> int:
    """The estimated Lua size of a mailbox item (a Message, an Event, or a listener's bare payload). ``strict``
    raises INVALID for a payload that cannot cross; otherwise such an item counts as small."""
    try:
        if type(item) is Message:
            return _TABLE + len(item.topic) + _STRING + payload_size(item.data)
        if type(item) is Event:
            result = item.result
            if result is None:
                return _TABLE
            return _TABLE + payload_size(result.value) + (0 if result.error is None else payload_size(result.error))
        return payload_size(item)
    except Error:
        if strict and type(item) is not Event:
            raise
        return _TABLE
