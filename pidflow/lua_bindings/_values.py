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
* :class:`~pidflow.Pid` -> its string, ``{host|id}`` or ``{host@node|id}`` (so ``==``, table keys and ``..`` work
  in Lua as on any string). The way back is a string like any other: a PID that Lua puts in a payload or a
  result reaches Python as a ``str`` (``Pid.parse`` it where a :class:`~pidflow.Pid` is needed); the ``process``
  module parses the PIDs it is given itself.
* :class:`~pidflow.Error` <-> an error object with ``err:kind()``, ``err:message()``, ``err:retryable()``,
  ``err:details()``, ``err:stack()`` and ``tostring(err) == err:message()`` (see ``_core_values.lua``).
* Functions, coroutines and userdata do not convert (INVALID), nor do values nested deeper than 100 levels.
* Dict keys must be strings, numbers (not NaN), booleans or PIDs (PIDs become their strings; INVALID otherwise: Lua has no None key, and a
  NaN key would raise inside Lua where nothing protects the push); a ``str`` with lone surrogates is INVALID.
* With ``deterministic=True`` dict keys are ordered canonically (numbers, then strings), so converted values do
  not depend on Lua's per-process string hash seed.

Memory. Python builds Lua values outside any protected Lua call, where a failing allocation aborts the
interpreter. So before a table or a large string goes into the state, its size is checked against what the
state's ``max_memory`` leaves (after a full collection if needed): a value that does not fit raises
:class:`OverMemory` and nothing is pushed; the driver ends the process with a memory error.
"""

from __future__ import annotations

from typing import Any

import lupa.lua54 as lupa

from .._pid import Pid
from ..errors import Error, ErrorKind

_MAX_DEPTH = 100
_lua_type = lupa.lua_type
# Bytes a Lua state spends, beyond their contents, on a string, a table and a table slot (generous: a table
# built by rawsets is rehashed as it grows, old and new parts side by side). Strings up to _SMALL bytes are not
# checked one by one at the top level: the state's reserve covers them (see _runtime.MEMORY_RESERVE).
_STRING, _TABLE, _SLOT, _SMALL = 40, 96, 80, 256
# A table of at most this many entries comes from Lua with its contents, in one call (classify, _core_values.lua).
_SMALL_TABLE = 32


class OverMemory(Error):
    """A value that does not fit in what the Lua state's ``max_memory`` leaves (internal: the driver ends the
    process with its memory error; nothing was pushed)."""

    def __init__(self, need: int) -> None:
        super().__init__(ErrorKind.INTERNAL, f"a value of about {need} bytes does not fit in the Lua memory limit",
                         retryable=False)
        self.need = need


def as_pid(value: Any) -> Pid:
    """A PID from a converted Lua value: a Pid, or its string form; anything else is INVALID."""
    return Pid.parse(value)


def _decode(b: bytes) -> str | bytes:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b


def _key_order(k: Any) -> tuple[int, Any, str]:
    return (0, k, "") if isinstance(k, (int, float)) else (1, 0, str(k))


class Values:
    """Converter bound to one Lua state: ``core`` is its :class:`~._runtime.Runtime` (the core's functions,
    fetched on first use, and ``lua``)."""

    __slots__ = ("_core", "_table_from", "_deterministic", "_limit")

    def __init__(self, core: Any, *, deterministic: bool = False) -> None:
        # Tables are read only through Lua calls (classify, flat_map, unpack): indexing a Lua table from Python
        # is wrong inside coroutines.
        self._core = core
        self._table_from = core.lua.table_from
        self._deterministic = deterministic
        self._limit = core.max_memory

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

    def fit(self, need: int) -> None:
        """Raise :class:`OverMemory` unless ``need`` more bytes fit under ``max_memory`` (collecting garbage first
        if that makes the difference)."""
        lua = self._core.lua
        if lua.get_memory_used() + need > self._limit:
            self._core.collect()
            if lua.get_memory_used() + need > self._limit:
                raise OverMemory(need)

    # -- Python -> Lua
    def to_lua(self, value: Any, _depth: int = 0) -> Any:
        """The Lua value of ``value`` (rules above); INVALID if it cannot cross, :class:`OverMemory` if it does not
        fit. A top-level ``bytes`` result is checked but pushed by the caller (as an argument or a result)."""
        if value is None or value is True or value is False or type(value) is float:
            return value
        t = type(value)
        if t is int:
            if not -(2**63) <= value < 2**63:
                raise Error(ErrorKind.INVALID, f"integer {value} does not fit in a Lua integer (64-bit)")
            return value
        if t is Pid:   # a sender on every message: before the other checks
            return _PID_TEXT.get(value) or pid_text(value)
        if isinstance(value, str):
            try:
                b = value.encode("utf-8")
            except UnicodeEncodeError:
                raise Error(ErrorKind.INVALID, "a string with lone surrogates (not valid Unicode) cannot be passed "
                            "to Lua") from None
            if _depth == 0 and len(b) > _SMALL:
                self.fit(len(b) + _STRING)
            return b
        if isinstance(value, (bytes, bytearray, memoryview)):
            b = bytes(value)
            if _depth == 0 and len(b) > _SMALL:
                self.fit(len(b) + _STRING)
            return b
        if _depth > _MAX_DEPTH:
            raise Error(ErrorKind.INVALID, f"value nested deeper than {_MAX_DEPTH} levels (a cycle?)")
        if isinstance(value, dict):
            d = _depth + 1
            items = {}
            size = _TABLE
            for k, v in value.items():
                if v is None:
                    continue
                lk, lv = self._key(k, d), self.to_lua(v, d)
                items[lk] = lv
                size += _SLOT
                if type(lk) is bytes:
                    size += len(lk) + _STRING
                if type(lv) is bytes:
                    size += len(lv) + _STRING
            self.fit(size)
            return self._table_from(items)
        if isinstance(value, (list, tuple)):
            if not value:
                return self._lua_call(self._core.empty_array)
            d = _depth + 1
            array = [self.to_lua(v, d) for v in value]
            size = _TABLE + _SLOT * len(array)
            for v in array:
                if type(v) is bytes:
                    size += len(v) + _STRING
            self.fit(size)
            return self._table_from(array)
        if isinstance(value, Pid):  # (a subclass)
            return pid_text(value)
        if isinstance(value, Error):
            details = None if value.details is None else self.to_lua(value.details, _depth + 1)
            message = value.message.encode("utf-8", "replace")
            size = len(message) + (len(details) if type(details) is bytes else 0)
            if size > _SMALL:
                self.fit(size + _TABLE + 2 * _STRING)
            return self._lua_call(self._core.make_error, value.kind.value.encode(), message, value.retryable, details)
        if isinstance(value, (bool, int, float)):  # subclasses (IntEnum, numpy-free floats)
            return self.to_lua(bool(value) if isinstance(value, bool) else (int(value) if isinstance(value, int) else float(value)), _depth)
        if _lua_type(value) is not None:  # already a Lua object
            return value
        raise Error(ErrorKind.INVALID, f"a {type(value).__name__} cannot be passed to Lua")

    def _key(self, key: Any, depth: int) -> Any:
        """A dict key: a string, a number (not NaN), a boolean or a PID."""
        if type(key) is float and key != key:
            raise Error(ErrorKind.INVALID, "a dict with a NaN key cannot be passed to Lua")
        if isinstance(key, (str, bytes, int, float, Pid)):   # bool is an int
            return self.to_lua(key, depth)
        raise Error(ErrorKind.INVALID, f"a dict with a {type(key).__name__} key cannot be passed to Lua (keys are "
                    "strings, numbers, booleans or PIDs)")

    def _lua_call(self, fn: Any, *args: Any) -> Any:
        """One of the core's constructors (a protected call: running out of memory raises, it does not abort)."""
        try:
            return fn(*args)
        except lupa.LuaMemoryError:
            raise OverMemory(_TABLE) from None

    # -- Lua -> Python
    def from_lua(self, value: Any, _depth: int = 0) -> Any:
        t = type(value)
        if value is None or t is bool or t is int or t is float:
            return value
        if t is bytes:
            return _decode(value)
        kind = _lua_type(value)
        if kind != "table":
            raise Error(ErrorKind.INVALID, f"a Lua {lua_type_name(value)} cannot be converted to data")
        if _depth > _MAX_DEPTH:
            raise Error(ErrorKind.INVALID, f"Lua table nested deeper than {_MAX_DEPTH} levels (a cycle?)")
        tag, *rest = self._core.classify(value)
        d = _depth + 1
        if tag == b"array":
            n = rest[0]
            # (a small table came with its values: one call into Lua, see classify in _core_values.lua)
            return [self.from_lua(v, d) for v in (rest[1:] if n <= _SMALL_TABLE else self._items(value, n))]
        if tag == b"map":
            out: dict[Any, Any] = {}
            n = rest[0]
            if n <= _SMALL_TABLE:
                items, n = rest[1:], 2 * n
            else:
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
        kind_, message, retryable, details = (rest + [None] * 4)[:4]
        # A message that is not UTF-8 keeps its bytes as escapes: an Error's message is text.
        text = message.decode("utf-8", "backslashreplace") if isinstance(message, bytes) else str(message)
        return Error(kind_.decode(), text,
                     retryable=retryable, details=self.from_lua(details, d))


# ---------------------------------------------------------------- naming values and arguments in error messages

_LUA_TYPES = {type(None): "nil", bool: "boolean", int: "number", float: "number", str: "string", bytes: "string",
              dict: "table", list: "table", Pid: "string"}
# lupa hands a coroutine that has not started to Python as a function (its class is not exported): a thread
_COROUTINE = "_LuaCoroutineFunction"
#: How much of a string an error message quotes.
PREVIEW = 60


def lua_type_name(value: Any) -> str:
    """The Lua type of a value, raw (a lupa object) or converted (a converted error is a table), for messages."""
    name = _LUA_TYPES.get(type(value))
    if name is not None:
        return name
    if type(value).__name__ == _COROUTINE:
        return "thread"
    return _lua_type(value) or ("table" if isinstance(value, (dict, list, Error)) else type(value).__name__)


def preview(text: str | bytes, limit: int = PREVIEW) -> str:
    """A string for a message: quoted, cut to about ``limit`` characters (a 4 MiB argument, a 4 MiB message)."""
    if isinstance(text, bytes):
        text = text[:4 * limit].decode("utf-8", "replace")
    if len(text) > limit:
        return repr(text[:limit - 3]) + "..."
    return repr(text)


def describe(value: Any) -> str:
    """What an argument error says it got: the Lua type, and a short preview of a string (``string 'ab'``)."""
    if isinstance(value, (str, bytes)):
        return f"string {preview(value)}"
    return lua_type_name(value)


class ArgNames:
    """What the arguments of a Python function made for Lua are to its caller, so that a value that cannot cross
    names the call and the argument: ``process.send: argument #3: a Lua function cannot be converted to data``.

    ``call`` is the call's name as Lua code writes it (or a function of the raw arguments that returns it: one
    Python function behind several calls); ``labels`` says what each leading Python parameter is: an int is the
    caller's argument number, a string a description ("options"); parameters past them continue the numbering
    after the last int (none: the Python position is the Lua one)."""

    __slots__ = ("call", "labels")
    _cache: dict[tuple[Any, tuple[int | str, ...]], "ArgNames"] = {}

    def __init__(self, call: Any, labels: tuple[int | str, ...]) -> None:
        self.call = call
        self.labels = labels

    @classmethod
    def of(cls, call: Any, labels: tuple[int | str, ...] = ()) -> "ArgNames":
        """One shared record per (call, labels): a process keeps a reference, not a copy."""
        key = (call, labels)
        names = cls._cache.get(key)
        if names is None:
            names = cls._cache[key] = cls(call, labels)
        return names

    def label(self, i: int) -> str:
        """What Python parameter ``i`` (0-based) is to the caller."""
        labels = self.labels
        if i < len(labels):
            x = labels[i]
        else:
            last = labels[-1] if labels else 0
            x = (last if isinstance(last, int) else 0) + i - len(labels) + 1
        return f"argument #{x}" if isinstance(x, int) else x

    def error(self, args: tuple[Any, ...], exc: Error, values: "Values") -> Error:
        """``exc`` (the conversion of ``args`` failed) naming the call and the first argument that does not cross."""
        call = self.call if type(self.call) is str else self.call(args)
        for i, arg in enumerate(args):
            try:
                values.from_lua(arg)
            except Error as found:
                return argument_error(found, call, self.label(i))
        return argument_error(exc, call, "an argument")


def argument_error(exc: Error, call: str, argument: str) -> Error:
    """``exc`` (about the value of ``argument`` given to ``call``) naming both: ``call: argument: message``."""
    return Error(exc.kind, f"{call}: {argument}: {exc.message}", retryable=exc.retryable,
                 details={"argument": argument})


_PIDS: dict[bytes | str, Pid] = {}
_PID_TEXT: dict[Pid, bytes] = {}


def pid_text(pid: Pid) -> bytes:
    """A PID's Lua value, its string (made once per distinct PID: a sender crosses on every message; bounded)."""
    text = _PID_TEXT.get(pid)
    if text is None:
        if len(_PID_TEXT) >= 4096:
            _PID_TEXT.clear()
        text = _PID_TEXT[pid] = str(pid).encode()
    return text


def pid_of(text: bytes | str) -> Pid:
    """PIDs cross from Lua on every reply (``msg:from()``): parse each distinct one once (bounded cache)."""
    pid = _PIDS.get(text)
    if pid is None:
        if len(_PIDS) >= 4096:
            _PIDS.clear()
        pid = _PIDS[text] = Pid.parse(text.decode() if isinstance(text, bytes) else text)
    return pid
