"""The Lua ``http`` module: the request an HTTP handler serves and the response it builds, as the seed runtime has
them (``http.request()``, ``http.response()``, ``http.STATUS`` / ``METHOD`` / ``CONTENT`` / ``TRANSFER`` /
``ERROR``), plus the chained form the workflow spec's handler uses
(``return http.response():status(409):json({...})``).

Design. Nothing of the request or the response lives in Lua: both objects are empty tables with a shared
metatable, and every method asks the running handler's :class:`~pidflow.http._exchange.Exchange`
(``current_exchange()``, the ``CURRENT`` context variable the server sets in the handler process's task) through
one Python dispatcher. So a response object that the handler returns crosses back to Python as ``{}`` (the server
ignores the return value of a handler that touched its response), a handler that fails half-way leaves a
well-defined exchange behind, and ``http.request()`` outside a handler is UNAVAILABLE naming the call.

Differences from the seed (see docs/lua.md): the body is read by the server before the handler starts (within the
router's body limit), so ``http.request{timeout=}`` has nothing to bound and ``max_body`` only makes ``body()``
refuse a larger body; the response is buffered and sent when the handler ends (``flush()`` does nothing, no
"headers already sent" errors); accessors answer one value (``value``, or ``nil, err``), not ``value, nil``, so
``json.decode(req:body())`` works; ``header(name)`` ignores case. Not provided: ``stream()``,
``parse_multipart()``, ``set_transfer()``, ``write_event()`` (streaming and multipart).

Cost. ``require("http")`` runs one precompiled chunk and registers one Python function; the constant tables are
built on their first access. A process that does not require ``http`` pays nothing.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ..errors import Error, ErrorKind
from ..lua_bindings import ModuleContext, register_module
from ._exchange import HTTP_STATUS_DETAIL, Exchange, current_exchange

_HTTP_LUA = r"""
local op, setmt, make_error = ...
local type, error, tostring, select, getmetatable, rawget, rawset = type, error, tostring, select, getmetatable, rawget, rawset
local math_type, tointeger = math.type, math.tointeger

local REQ = {__name = "http.Request"}
REQ.__index = REQ
REQ.__tostring = function(r) return op("describe") or "http.Request" end
local RES = {__name = "http.Response"}
RES.__index = RES
RES.__tostring = function() return "http.Response" end

local function argerr(n, fname, expected, v)
  error("bad argument #" .. n .. " to '" .. fname .. "' (" .. expected .. " expected, got " .. type(v) .. ")", 3)
end
local function self_of(s, mt, fname, what)
  if getmetatable(s) ~= mt then
    error("bad self to '" .. fname .. "' (" .. what .. " expected, got " .. type(s) .. "; call it as obj:" ..
          fname .. "(...))", 3)
  end
end
local function req(s, fname) self_of(s, REQ, fname, "http.Request") end
local function res(s, fname) self_of(s, RES, fname, "http.Response") end
-- a string argument; numbers are taken as their text, as the seed's CheckString does
local function str(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  argerr(n, fname, "string", v)
end
local function int(v, n, fname)
  if math_type(v) == "integer" then return v end
  if math_type(v) == "float" and v == v // 1 and v >= -2^53 and v <= 2^53 then return tointeger(v) end
  argerr(n, fname, "integer", v)
end

function REQ:method() req(self, "method"); return op("method") end
function REQ:path() req(self, "path"); return op("path") end
function REQ:param(name) req(self, "param"); return op("param", str(name, 1, "param")) end
function REQ:params() req(self, "params"); return op("params") end
function REQ:query(name) req(self, "query"); return op("query", str(name, 1, "query")) end
function REQ:query_params() req(self, "query_params"); return op("query_params") end
function REQ:header(name) req(self, "header"); return op("header", str(name, 1, "header")) end
function REQ:content_type() req(self, "content_type"); return op("content_type") end
function REQ:content_length() req(self, "content_length"); return op("content_length") end
function REQ:host() req(self, "host"); return op("host") end
function REQ:remote_addr() req(self, "remote_addr"); return op("remote_addr") end
function REQ:body() req(self, "body"); return op("body", self._max) end
function REQ:body_json() req(self, "body_json"); return op("body_json", self._max) end
function REQ:has_body() req(self, "has_body"); return op("has_body") end
function REQ:accepts(ct) req(self, "accepts"); return op("accepts", str(ct, 1, "accepts")) end
function REQ:is_content_type(ct) req(self, "is_content_type"); return op("is_content_type", str(ct, 1, "is_content_type")) end

function RES:set_status(n) res(self, "set_status"); local _, err = op("set_status", int(n, 1, "set_status")); return err end
function RES:set_header(k, v)
  res(self, "set_header")
  local _, err = op("set_header", str(k, 1, "set_header"), str(v, 2, "set_header"))
  return err
end
function RES:set_content_type(t)
  res(self, "set_content_type")
  local _, err = op("set_header", "Content-Type", str(t, 1, "set_content_type"))
  return err
end
function RES:write(s) res(self, "write"); local _, err = op("write", str(s, 1, "write")); return err end
function RES:write_json(v) res(self, "write_json"); local _, err = op("write_json", v); return err end
function RES:flush() res(self, "flush") end
-- the chained form: each returns the response, and raises what the set_ form would return
local function chain(self, err)
  if err ~= nil then error(err, 0) end
  return self
end
function RES:status(n) res(self, "status"); return chain(self, select(2, op("set_status", int(n, 1, "status")))) end
function RES:header(k, v)
  res(self, "header")
  return chain(self, select(2, op("set_header", str(k, 1, "header"), str(v, 2, "header"))))
end
function RES:content_type(t)
  res(self, "content_type")
  return chain(self, select(2, op("set_header", "Content-Type", str(t, 1, "content_type"))))
end
function RES:json(v) res(self, "json"); return chain(self, select(2, op("write_json", v))) end
function RES:text(s) res(self, "text"); return chain(self, select(2, op("text", str(s, 1, "text")))) end

local M = {}
function M.request(options)
  local max
  if options ~= nil then
    if type(options) ~= "table" then argerr(1, "request", "table", options) end
    max = options.max_body
    if max ~= nil and (math_type(max) ~= "integer" or max <= 0) then
      return nil, make_error("INVALID", "http.request: options.max_body must be a positive integer (bytes), got " ..
                             tostring(max), false)
    end
    local timeout = options.timeout
    if timeout ~= nil and type(timeout) ~= "number" then
      return nil, make_error("INVALID", "http.request: options.timeout must be a number of milliseconds, got " ..
                             type(timeout), false)
    end
  end
  local _, err = op("request")
  if err ~= nil then return nil, err end
  return setmt({_max = max}, REQ)
end
function M.response()
  local _, err = op("response")
  if err ~= nil then return nil, err end
  return setmt({}, RES)
end

-- the constants, built on their first access
local function constants()
  rawset(M, "METHOD", {GET = "GET", POST = "POST", PUT = "PUT", DELETE = "DELETE", PATCH = "PATCH", HEAD = "HEAD",
    OPTIONS = "OPTIONS"})
  rawset(M, "STATUS", {OK = 200, CREATED = 201, ACCEPTED = 202, NO_CONTENT = 204, PARTIAL_CONTENT = 206,
    MOVED_PERMANENTLY = 301, FOUND = 302, SEE_OTHER = 303, NOT_MODIFIED = 304, TEMPORARY_REDIRECT = 307,
    PERMANENT_REDIRECT = 308, BAD_REQUEST = 400, UNAUTHORIZED = 401, PAYMENT_REQUIRED = 402, FORBIDDEN = 403,
    NOT_FOUND = 404, METHOD_NOT_ALLOWED = 405, NOT_ACCEPTABLE = 406, CONFLICT = 409, GONE = 410,
    UNPROCESSABLE = 422, TOO_MANY_REQUESTS = 429, INTERNAL_ERROR = 500, INTERNAL_SERVER_ERROR = 500,
    NOT_IMPLEMENTED = 501, BAD_GATEWAY = 502, SERVICE_UNAVAILABLE = 503, GATEWAY_TIMEOUT = 504,
    VERSION_NOT_SUPPORTED = 505})
  rawset(M, "CONTENT", {JSON = "application/json", FORM = "application/x-www-form-urlencoded",
    MULTIPART = "multipart/form-data", TEXT = "text/plain", STREAM = "application/octet-stream"})
  rawset(M, "TRANSFER", {CHUNKED = "chunked", SSE = "sse"})
  rawset(M, "ERROR", {PARSE_FAILED = "PARSE_FAILED", INVALID_STATE = "INVALID_STATE", WRITE_FAILED = "WRITE_FAILED",
    STREAM_ERROR = "STREAM_ERROR"})
end
local LAZY = {METHOD = true, STATUS = true, CONTENT = true, TRANSFER = true, ERROR = true}
return setmt(M, {__index = function(t, k)
  if LAZY[k] then constants(); return rawget(t, k) end
end})
"""


def _text(value: Any) -> str:
    """A Lua string argument (bytes, as the dispatcher is raw) as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _body(ex: Exchange, max_body: Any, call: str) -> bytes:
    if max_body is not None and len(ex.body) > max_body:
        raise Error(ErrorKind.INVALID, f"{call}: request body too large ({len(ex.body)} bytes, max_body "
                    f"{max_body})", retryable=False)
    return ex.body


def _body_json(ex: Exchange, max_body: Any) -> Any:
    body = _body(ex, max_body, "req:body_json()")
    if not body:
        raise Error(ErrorKind.INVALID, "req:body_json(): invalid JSON: the request has no body", retryable=False,
                    details={HTTP_STATUS_DETAIL: 400})
    try:
        return json.loads(body)
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError
        raise Error(ErrorKind.INVALID, f"req:body_json(): invalid JSON: {exc}", retryable=False,
                    details={HTTP_STATUS_DETAIL: 400}) from None


def _header(ex: Exchange, name: Any) -> str | None:
    values = ex.request.headers.getlist(_text(name))
    return ", ".join(values) if values else None


def _content_length(ex: Exchange) -> int:
    text = ex.request.headers.get("content-length")
    if text is not None and text.strip().isdigit():
        return int(text)
    return len(ex.body)


def _remote_addr(ex: Exchange) -> str:
    client = ex.request.client
    return f"{client.host}:{client.port}" if client else ""


def _accepts(ex: Exchange, content_type: Any) -> bool:
    wanted = _text(content_type)
    accept = ex.request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip()
        if media == wanted or media == "*/*":
            return True
    return False


def _status(ex: Exchange, status: Any) -> None:
    if not 100 <= status <= 599:
        raise Error(ErrorKind.INVALID, f"res:set_status: status must be from 100 to 599, got {status}",
                    retryable=False)
    ex.set_status(status)


def _set_header(ex: Exchange, name: Any, value: Any) -> None:
    name, value = _text(name), _text(value)
    if not name or "\r" in name or "\n" in name or "\r" in value or "\n" in value:
        raise Error(ErrorKind.INVALID, f"res:set_header: header {name!r}: a name must be non-empty and neither "
                    "may contain a line break", retryable=False)
    ex.set_header(name, value)


def _text_body(ex: Exchange, text: bytes) -> None:
    if ex.content_type is None:
        ex.content_type = "text/plain; charset=utf-8"
    ex.write(text)


_OPS: dict[bytes, Callable[..., Any]] = {
    b"request": lambda ex: True,
    b"response": lambda ex: True,
    b"describe": lambda ex: f"http.Request{{method={ex.request.method}, path={ex.request.url.path}}}",
    b"method": lambda ex: ex.request.method,
    b"path": lambda ex: ex.request.url.path,
    b"param": lambda ex, name: ex.path_params.get(_text(name)),
    b"params": lambda ex: dict(ex.path_params),
    b"query": lambda ex, name: next(iter(ex.request.query_params.getlist(_text(name))), None),
    b"query_params": lambda ex: {k: ",".join(ex.request.query_params.getlist(k))
                                 for k in ex.request.query_params.keys()},
    b"header": _header,
    b"content_type": lambda ex: ex.request.headers.get("content-type"),
    b"content_length": _content_length,
    b"host": lambda ex: ex.request.headers.get("host", ""),
    b"remote_addr": _remote_addr,
    b"body": lambda ex, max_body=None: _body(ex, max_body, "req:body()"),
    b"body_json": _body_json,
    b"has_body": lambda ex: len(ex.body) > 0,
    b"accepts": _accepts,
    b"is_content_type": lambda ex, ct: (ex.request.headers.get("content-type") or "").startswith(_text(ct)),
    b"set_status": _status,
    b"set_header": _set_header,
    b"write": lambda ex, data: ex.write(data),
    b"text": _text_body,
}
#: What the UNAVAILABLE error outside a handler names: the call that made the object.
_RESPONSE_OPS = frozenset({b"response", b"set_status", b"set_header", b"write", b"write_json", b"text"})


def _http(ctx: ModuleContext) -> Any:
    from_lua = ctx.from_lua

    def op(name: bytes, *args: Any) -> Any:
        """The one dispatcher every method calls (raw: Lua strings arrive as bytes, tables unconverted)."""
        ex = current_exchange("http.response()" if name in _RESPONSE_OPS else "http.request()")
        if name == b"write_json":
            return ex.write_json(from_lua(args[0]))
        return _OPS[name](ex, *args)

    return ctx.load_lua(_HTTP_LUA, "http", ctx.function(op, raw=True), ctx.core_setmetatable, ctx.make_error)


# per_state: everything is built here, and each call finds its request through current_exchange(); a pooled Lua
# state builds the module once (lua_bindings/_state_pool.py)
register_module("http", _http, per_state=True)
