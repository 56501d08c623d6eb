"""Lua <-> Python values.

Rules (both directions, applied recursively; the same in local processes and workflows):

* ``nil`` <-> ``None``; booleans; Lua integers <-> ``int`` (64-bit; a larger Python int is INVALID); Lua floats
  <-> ``float`` (``math.type`` is kept: ``1.0`` stays a float).
* Lua strings are bytes: valid UTF-8 becomes ``str``, anything else ``bytes``. ``str`` and ``bytes`` both become
  Lua strings (so ``b"abc"`` comes back as ``"abc"``).
* A table is a **list** when every key is an integer >= 1 and the largest key ``n`` is at most twice the number
  of keys; it becomes a list of length ``n`` with ``None`` in the holes. Any other non-empty table is a dict
  (string keys become ``str``, numeric keys stay numbers).
* The **empty table is a dict** (``{}``), as ``cjson`` encodes it; an empty Python list becomes an empty table
  marked as an array (shared metatable), so ``[]`` survives a round trip, and ``json.encode`` writes ``[]``.
* A ``None`` inside a dict is dropped (Lua tables cannot hold nil); tuples become lists.
* :class:`~pidflow.Pid` <-> a table with the shared pid metatable (``tostring`` -> ``{host|id}``, ``==`` compares
  that form). Where a PID is expected, Lua may pass the string form instead (:func:`as_pid`).
* :class:`~pidflow.Error` <-> an error object with ``err:kind()``, ``err:message()``, ``err:retryable()``,
  ``err:details()`` and ``tostring(err) == "KIND: message"``.
* Functions, coroutines and userdata do not convert (INVALID), nor do values nested deeper than 100 levels.
* With ``deterministic=True`` dict keys are ordered canonically (numbers, then strings), so converted values do
  not depend on Lua's per-process string hash seed.
"""

from __future__ import annotations

from typing import Any

import lupa.lua54 as lupa

from .._pid import Pid
from ..errors import Error, ErrorKind

_MAX_DEPTH = 100
_lua_type = lupa.lua_type


def as_pid(value: Any) -> Pid:
    """A PID from a converted Lua value: a Pid, or its string form; anything else is INVALID."""
    return Pid.parse(value)


def _decode(b: bytes) -> str | bytes:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b


def _key_order(k: Any) -> tuple:
    return (0, k, "") if isinstance(k, (int, float)) else (1, 0, str(k))


class Values:
    """Converter bound to one Lua state: ``core`` is its :class:`~._runtime.Runtime` (the core's functions,
    fetched on first use, and ``lua``)."""

    __slots__ = ("_core", "_table_from", "_deterministic", "_pids")

    def __init__(self, core: Any, *, deterministic: bool = False) -> None:
        # Tables are read only through Lua calls (classify, flat_map, unpack): indexing a Lua table from Python
        # is wrong inside coroutines.
        self._core = core
        self._table_from = core.lua.table_from
        self._deterministic = deterministic
        # Lua pid objects of the PIDs this process saw last (senders it replies to): made once, not per message.
        self._pids: dict[Pid, Any] | None = None

    def _items(self, t: Any, n: int) -> list[Any]:
        out: list[Any] = []
        for i in range(1, n + 1, 4096):
            j = min(n, i + 4095)
            r = self._core.unpack(t, i, j)
            if j == i:
                out.append(r)
            else:
                out.extend(r)
        return out

    # -- Python -> Lua
    def to_lua(self, value: Any, _depth: int = 0) -> Any:
        if value is None or value is True or value is False or type(value) is float:
            return value
        if type(value) is int:
            if not -(2**63) <= value < 2**63:
                raise Error(ErrorKind.INVALID, f"integer {value} does not fit in a Lua integer (64-bit)")
            return value
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if _depth > _MAX_DEPTH:
            raise Error(ErrorKind.INVALID, f"value nested deeper than {_MAX_DEPTH} levels (a cycle?)")
        if isinstance(value, dict):
            d = _depth + 1
            return self._table_from({self.to_lua(k, d): self.to_lua(v, d) for k, v in value.items() if v is not None})
        if isinstance(value, (list, tuple)):
            if not value:
                return self._core.empty_array()
            d = _depth + 1
            return self._table_from([self.to_lua(v, d) for v in value])
        if isinstance(value, Pid):
            pids = self._pids
            if pids is None:
                pids = self._pids = {}
            lua_pid = pids.get(value)
            if lua_pid is None:
                if len(pids) >= 64:
                    pids.clear()
                lua_pid = pids[value] = self._core.make_pid(str(value).encode())
            return lua_pid
        if isinstance(value, Error):
            details = None if value.details is None else self.to_lua(value.details, _depth + 1)
            return self._core.make_error(value.kind.value.encode(), value.message.encode(), value.retryable, details)
        if isinstance(value, (bool, int, float)):  # subclasses (IntEnum, numpy-free floats)
            return self.to_lua(bool(value) if isinstance(value, bool) else (int(value) if isinstance(value, int) else float(value)))
        if _lua_type(value) is not None:  # already a Lua object
            return value
        raise Error(ErrorKind.INVALID, f"a {type(value).__name__} cannot be passed to Lua")

    # -- Lua -> Python
    def from_lua(self, value: Any, _depth: int = 0) -> Any:
        t = type(value)
        if value is None or t is bool or t is int or t is float:
            return value
        if t is bytes:
            return _decode(value)
        kind = _lua_type(value)
        if kind != "table":
            raise Error(ErrorKind.INVALID, f"a Lua {kind or t.__name__} cannot be converted to data")
        if _depth > _MAX_DEPTH:
            raise Error(ErrorKind.INVALID, f"Lua table nested deeper than {_MAX_DEPTH} levels (a cycle?)")
        tag, *rest = self._core.classify(value)
        d = _depth + 1
        if tag == b"array":
            return [self.from_lua(v, d) for v in self._items(value, rest[0])]
        if tag == b"map":
            out = {}
            flat, n = self._core.flat_map(value)
            items = self._items(flat, n)
            for i in range(0, n, 2):
                key, v = self.from_lua(items[i], d), items[i + 1]
                if isinstance(key, (list, dict)):
                    raise Error(ErrorKind.INVALID, "a Lua table with table keys cannot be converted to data")
                out[key] = self.from_lua(v, d)
            if self._deterministic and len(out) > 1:
                out = {k: out[k] for k in sorted(out, key=_key_order)}
            return out
        if tag == b"pid":
            return pid_of(rest[0])
        kind_, message, retryable, details = (rest + [None] * 4)[:4]
        return Error(kind_.decode(), _decode(message) if isinstance(message, bytes) else str(message),
                     retryable=retryable, details=self.from_lua(details, d))


_PIDS: dict[bytes | str, Pid] = {}


def pid_of(text: bytes | str) -> Pid:
    """PIDs cross from Lua on every reply (``msg:from()``): parse each distinct one once (bounded cache)."""
    pid = _PIDS.get(text)
    if pid is None:
        if len(_PIDS) >= 4096:
            _PIDS.clear()
        pid = _PIDS[text] = Pid.parse(text.decode() if isinstance(text, bytes) else text)
    return pid
