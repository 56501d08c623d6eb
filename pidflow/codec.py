"""The one codec for payloads that cross a host boundary (local <-> Temporal, node <-> node).

Payloads are JSON text (UTF-8, compact, keys in their order), so that workflow inputs, signals, results and
failures read as text in the Temporal UI and CLI. What JSON cannot hold by itself travels as an object with one
key, its tag:

============================================  ==================================================================
value                                          JSON
============================================  ==================================================================
:class:`~pidflow.Pid`                          ``{"$pid": "{app:worker|order-1}"}``
:class:`~pidflow.Error`                        ``{"$error": {"kind": "NOT_FOUND", "message": "...", "retryable": false,
                                               "details": ...}}`` (``details`` only when set)
``bytes`` (a Lua string that is not UTF-8)     ``{"$bytes": "<base64>"}``
a dict with a key that is not a string, or     ``{"$map": [[key, value], ...]}`` (a Lua table with number keys that
whose only key starts with ``$``               is not a list; ``{"$pid": "x"}`` sent as data stays a dict)
NaN, infinities                                ``{"$float": "nan"}``, ``"inf"``, ``"-inf"``
============================================  ==================================================================

Everything else is plain JSON. Integers stay integers and floats stay floats: a float is always written with a
``.`` or an exponent (``1.0``, ``1e+16``) and read back as a float, an integer never has one. Integers must fit
in 64 bits (Lua's range; INVALID otherwise, at send time); tuples become lists, sets sorted lists.

Local-to-local sends pass Python objects by reference and never pay for encoding; anything that leaves the node
is checked here, at send time, so an unencodable payload fails the sender with INVALID instead of being lost
later.

Design note. Until issue 10 payloads were msgpack (``binary/msgpack``, extension type 1 a PID and 2 an error):
compact and fast, but opaque bytes in the UI. :func:`decode_msgpack` still reads them, so histories recorded then
replay. ``json.dumps`` alone with a ``default`` hook was tried and rejected: it writes integer dict keys as
strings without a word (a Lua table ``{[1] = "a", [5] = "b"}`` would come back with the keys ``"1"`` and
``"5"``), so a walk in Python first builds what JSON can hold; json's C encoder and decoder do the rest.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any, Callable

import msgpack

from ._pid import Pid
from .errors import Error, ErrorKind

ENCODING = "json/plain"
#: The encoding of payloads written before issue 10 (decoded, never written).
MSGPACK_ENCODING = "binary/msgpack"

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what msgpack took: Lua integers, and unsigned 64-bit
_MAX_DEPTH = 200  # Lua takes 100; two Python frames a level

PID_TAG = "$pid"
ERROR_TAG = "$error"
BYTES_TAG = "$bytes"
MAP_TAG = "$map"
FLOAT_TAG = "$float"


# -- encoding ---------------------------------------------------------------------------------------------------------
def _float(value: float) -> Any:
    if value - value == 0.0:  # finite (inf - inf and nan - nan are nan)
        return value
    return {FLOAT_TAG: "nan" if value != value else ("inf" if value > 0 else "-inf")}


_SCALARS = frozenset({str, bool, type(None), int, float})
_NUMBERS = frozenset({int, float, bool})


def _scalars_ok(values: Any, types: set[type]) -> bool:
    """Whether scalars of ``types`` (a subset of ``_SCALARS``) need nothing: integers in range, floats finite.
    Checked at C speed where the types allow it; False sends the caller to the item-by-item walk (which then
    tags or raises), so a false "no" only costs time."""
    if int in types:
        if types <= _NUMBERS:
            if not (_INT_MIN <= min(values) and max(values) <= _INT_MAX):  # floats among them: checked below
                return False
        elif not all(_INT_MIN <= v <= _INT_MAX for v in values if type(v) is int):
            return False
    if float in types:
        if types <= _NUMBERS:
            total = sum(values)  # nan or inf when one is (or when finite ones overflow: then the walk decides)
            return bool(total - total == 0.0)
        return all(v - v == 0.0 for v in values if type(v) is float)
    return True


def _walk(value: Any, depth: int) -> Any:
    """``value`` as something ``json.dumps`` writes faithfully: ``value`` itself when nothing in it needs a tag,
    else a copy of the containers on the way to what does."""
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
        raise ValueError(f"integer {value} does not fit in 64 bits")
    if t is float:
        return _float(value)
    if depth > _MAX_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_DEPTH} levels (a cycle?)")
    depth += 1
    if t is list or t is tuple:
        return _walk_list(value, depth)
    if t is dict:
        return _walk_dict(value, depth)
    if t is Pid:
        return {PID_TAG: str(value)}
    special = _SPECIAL.get(t)
    if special is None:
        special = _SPECIAL[t] = _special_for(value)
    return special(value, depth)


def _walk_list(value: Any, depth: int) -> Any:
    if len(value) > 16:  # long lists of plain numbers or strings: checked at C speed
        types = set(map(type, value))
        if types <= _SCALARS and _scalars_ok(value, types):
            return value
    out = None
    for i, item in enumerate(value):
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if _INT_MIN <= item <= _INT_MAX:
                continue
        elif t is float:
            if item - item == 0.0:
                continue
        walked = _walk(item, depth)
        if walked is not item:
            if out is None:
                out = list(value)
            out[i] = walked
    return value if out is None else out


def _walk_dict(value: dict[Any, Any], depth: int) -> Any:
    out = None
    for key, item in value.items():
        if type(key) is not str:
            return {MAP_TAG: [[_walk(k, depth), _walk(v, depth)] for k, v in value.items()]}
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if _INT_MIN <= item <= _INT_MAX:
                continue
        elif t is float:
            if item - item == 0.0:
                continue
        walked = _walk(item, depth)
        if walked is not item:
            if out is None:
                out = dict(value)
            out[key] = walked
    if len(value) == 1 and key[:1] == "$":  # would read as a tag
        return {MAP_TAG: [[key, (value if out is None else out)[key]]]}
    return value if out is None else out


def _error(value: Error, depth: int) -> Any:
    wire: dict[str, Any] = {"kind": value.kind.value, "message": value.message, "retryable": value.retryable}
    if value.details is not None:
        wire["details"] = _walk(value.details, depth)
    return {ERROR_TAG: wire}


def _bytes(value: Any, depth: int) -> Any:
    return {BYTES_TAG: base64.b64encode(value).decode("ascii")}


def _set(value: Any, depth: int) -> Any:
    return [_walk(item, depth) for item in sorted(value)]


_SPECIAL: dict[type, Callable[[Any, int], Any]] = {
    Error: _error, bytes: _bytes, bytearray: _bytes, memoryview: _bytes, set: _set, frozenset: _set,
}


def _special_for(value: Any) -> Callable[[Any, int], Any]:
    """How to walk a value of another type: an Error (subclass), a str/int/float enum, a dict or list subclass.
    Depends on the type only, so :func:`_walk` keeps it by type."""
    if isinstance(value, Error):
        return _error
    if isinstance(value, str):
        return lambda v, depth: str.__str__(v)
    if isinstance(value, int):
        return lambda v, depth: _walk(int(v), depth)
    if isinstance(value, float):
        return lambda v, depth: _float(float(v))
    if isinstance(value, dict):
        return _walk_dict
    if isinstance(value, (list, tuple)):
        return _walk_list
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes
    if isinstance(value, (set, frozenset)):
        return _set
    raise TypeError(f"cannot encode {type(value).__name__}")


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False).encode


def encode(value: Any, *, what: str = "payload") -> bytes:
    """``value`` as JSON text (UTF-8 bytes): exactly the data of the ``json/plain`` payload that carries it.
    Raise INVALID naming ``what`` and the reason if it cannot cross a boundary."""
    try:
        return _dumps(_walk(value, 0)).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise Error(ErrorKind.INVALID, f"{what} cannot be encoded: {exc}") from None


def join(parts: list[bytes]) -> bytes:
    """The JSON array of already encoded values (what ``encode(list_of_values)`` would give), without encoding
    anything again."""
    return b"[" + b",".join(parts) + b"]"


# -- decoding ---------------------------------------------------------------------------------------------------------
def _map(pairs: list[list[Any]]) -> dict[Any, Any]:
    return {(tuple(key) if type(key) is list else key): value for key, value in pairs}


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_TAGS: dict[str, Callable[[Any], Any]] = {
    PID_TAG: Pid.parse,
    ERROR_TAG: Error.from_dict,
    BYTES_TAG: lambda text: base64.b64decode(text, validate=True),
    MAP_TAG: _map,
    FLOAT_TAG: _FLOATS.__getitem__,
}


def _object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        for key, value in obj.items():
            tag = _TAGS.get(key)
            if tag is not None:
                return tag(value)
    return obj


_loads = json.JSONDecoder(object_hook=_object).decode


def decode(data: bytes | str) -> Any:
    """The value :func:`encode` wrote. Raise INVALID if ``data`` is not JSON or a tag is malformed."""
    try:
        return _loads(data if isinstance(data, str) else str(data, "utf-8"))
    except (ValueError, TypeError, KeyError, Error, RecursionError) as exc:
        message = exc.message if isinstance(exc, Error) else str(exc)
        raise Error(ErrorKind.INVALID, f"payload is not pidflow JSON: {message}") from None


# -- msgpack, as written before issue 10 ----------------------------------------------------------------------------
_EXT_PID = 1
_EXT_ERROR = 2


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_PID:
        return Pid.parse(data.decode())
    if code == _EXT_ERROR:
        return Error.from_dict(msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False))
    return msgpack.ExtType(code, data)


def decode_msgpack(data: bytes) -> Any:
    """A ``binary/msgpack`` payload of pidflow before issue 10 (PIDs and errors as extension types 1 and 2)."""
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


def encode_msgpack(value: Any) -> bytes:
    """The old encoding, for tests that build payloads as pidflow before issue 10 wrote them."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Pid):
            return msgpack.ExtType(_EXT_PID, str(obj).encode())
        if isinstance(obj, Error):
            return msgpack.ExtType(_EXT_ERROR, msgpack.packb(obj.to_dict(), default=default, use_bin_type=True))
        if isinstance(obj, (set, frozenset)):
            return sorted(obj)
        raise TypeError(f"cannot encode {type(obj).__name__}")

    packed: bytes = msgpack.packb(value, default=default, use_bin_type=True)
    return packed


def roundtrip(value: Any, *, what: str = "payload") -> Any:
    """What the receiver on the other side of a boundary will see (tuples become lists, and so on)."""
    return decode(encode(value, what=what))
