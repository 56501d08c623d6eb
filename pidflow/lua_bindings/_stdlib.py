"""The built-in Lua modules: channel, json, uuid, crypto, ctx (errors and funcs: ``_errors_module``,
``_funcs_module``; time: ``_time_module``).

Each is a factory registered with :func:`register_module`; Lua parts are small chunks run with their Python
helpers as ``...``. ``process`` and ``workflow`` are registered by the hosts.
"""

from __future__ import annotations

import json as _json
from typing import Any

from .._pid import Pid
from ..errors import Error, ErrorKind
from ._modules import ModuleContext, register_module

# ---------------------------------------------------------------- channel


def _channel(ctx: ModuleContext) -> Any:
    return ctx.channel_module


# ---------------------------------------------------------------- json


def _jsonable(value: Any) -> Any:
    if isinstance(value, Pid):
        return str(value)
    if isinstance(value, Error):
        return value.to_dict()
    if isinstance(value, bytes):
        raise Error(ErrorKind.INVALID, "json.encode: a string that is not valid UTF-8 cannot be encoded")
    raise Error(ErrorKind.INVALID, f"json.encode: a {type(value).__name__} cannot be encoded")


def _json_encode(value: Any) -> str:
    try:
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_jsonable)
    except ValueError as exc:
        raise Error(ErrorKind.INVALID, f"json.encode: {exc}") from None


def _json_decode(text: Any) -> Any:
    if not isinstance(text, (str, bytes)):
        raise Error(ErrorKind.INVALID, f"json.decode expects a string, got {type(text).__name__}")
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise Error(ErrorKind.INVALID, f"json.decode: {exc}") from None


def _json_module(ctx: ModuleContext) -> Any:
    return ctx.table(encode=ctx.function(_json_encode), decode=ctx.function(_json_decode))


# ---------------------------------------------------------------- uuid, crypto


def _uuid(ctx: ModuleContext) -> Any:
    return ctx.table(v4=ctx.function(ctx.backend.uuid4))


def _crypto(ctx: ModuleContext) -> Any:
    def random_bytes(n: Any) -> bytes:
        if type(n) is not int or not 0 <= n <= 1 << 20:
            raise Error(ErrorKind.INVALID, f"crypto.random_bytes expects an integer count in 0..1048576, got {n!r}")
        return ctx.backend.random_bytes(n)

    return ctx.table(random_bytes=ctx.function(random_bytes))


# ---------------------------------------------------------------- ctx


def _ctx(ctx: ModuleContext) -> Any:
    data = ctx.backend.context
    return ctx.table(get=ctx.function(lambda key: data.get(key)), all=ctx.function(lambda: dict(data)))


for _name, _factory in {
    "channel": _channel, "json": _json_module, "uuid": _uuid, "crypto": _crypto,
    "ctx": _ctx,
}.items():
    # (channel is the core's table, json two pure functions: built once per pooled state, see register_module)
    register_module(_name, _factory, per_state=_name in ("channel", "json"))

from . import _errors_module, _funcs_module  # noqa: E402,F401  (register errors and funcs)
from . import _time_module  # noqa: E402,F401  (registers time)
