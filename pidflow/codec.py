"""The one codec for payloads that cross a host boundary (local <-> Temporal, node <-> node).

msgpack with two extension types, so PIDs and errors survive the trip as themselves. Local-to-local sends pass
Python objects by reference and never pay for encoding; anything that leaves the node is checked here, at send
time, so an unencodable payload fails the sender with INVALID instead of being lost later.
"""

from __future__ import annotations

from typing import Any

import msgpack

from ._pid import Pid
from .errors import Error, ErrorKind

_EXT_PID = 1
_EXT_ERROR = 2


def _default(obj: Any) -> Any:
    if isinstance(obj, Pid):
        return msgpack.ExtType(_EXT_PID, str(obj).encode())
    if isinstance(obj, Error):
        return msgpack.ExtType(_EXT_ERROR, msgpack.packb(obj.to_dict(), default=_default, use_bin_type=True))
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_PID:
        return Pid.parse(data.decode())
    if code == _EXT_ERROR:
        return Error.from_dict(msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False))
    return msgpack.ExtType(code, data)


def encode(value: Any, *, what: str = "payload") -> bytes:
    """Encode ``value``; raise INVALID naming ``what`` and the offending type if it cannot cross a boundary."""
    try:
        return msgpack.packb(value, default=_default, use_bin_type=True, strict_types=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Error(ErrorKind.INVALID, f"{what} cannot be encoded with msgpack: {exc}") from None


def decode(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


def roundtrip(value: Any, *, what: str = "payload") -> Any:
    """What the receiver on the other side of a boundary will see (tuples become lists, and so on)."""
    return decode(encode(value, what=what))
