"""One HTTP request and the response its handler builds: the one object the server, the handler process and the
Lua ``http`` module share.

The server (``_server``/``_routes``) makes an :class:`Exchange` per request, after routing and after reading the
body within the body limit, and runs the handler as a process whose task has :data:`CURRENT` set to it. The Lua
``http`` module (``http.request()``, ``http.response()``) and Python handlers read the request from it and write
the response into it; the server then answers with :meth:`Exchange.to_response` unless the handler returned a
response of its own. Keeping the response state here, not in Lua, means a handler that fails half-way still has
a well-defined answer (the server's 500) and no Lua value crosses back into the server.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import Response

from .._api import _current as _api_current
from ..errors import Error, ErrorKind

#: The exchange of the HTTP request the running handler process serves (set in the handler's own task).
CURRENT: contextvars.ContextVar["Exchange"] = contextvars.ContextVar("pidflow.http.exchange")
#: The key of an error's ``details`` that asks the server to answer with that status instead of 500 (e.g. the Lua
#: ``req:body_json()`` on a body that is not JSON: INVALID with ``{http_status = 400}``).
HTTP_STATUS_DETAIL = "http_status"


def current_exchange(what: str = "http.request()") -> "Exchange":
    """The running handler's exchange; UNAVAILABLE outside an HTTP handler, naming the call. A process that the
    handler spawned inherits :data:`CURRENT` with its task's context, so an exchange with an ``owner`` is only
    the owner's (and the functions it calls)."""
    exchange = CURRENT.get(None)
    if exchange is not None:
        owner = exchange.owner
        if owner is None:
            return exchange
        api = _api_current.get(None)
        if api is not None and api.pid() == owner:
            return exchange
    raise Error(ErrorKind.UNAVAILABLE, f"{what} is only available in an HTTP handler "
                "(a function entry an http.endpoint names)")


@attrs.define(eq=False)
class Exchange:
    """A request (read-only once the handler runs) and the response being built."""

    request: Request
    #: The whole request body, read by the server before the handler started (bounded by the body limit).
    body: bytes
    #: ``{name}`` parameters of the endpoint's path template, as strings.
    path_params: dict[str, str]
    #: The request id (``X-Request-ID`` from the client, or generated); also in the handler's context.
    request_id: str
    #: The PID of the handler process, set by that process (None: any task with :data:`CURRENT` may use it).
    owner: Any = None
    status: int = 200
    #: Response headers in order (a name may repeat); content type apart, so that a later set replaces it.
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    content_type: str | None = None
    chunks: list[bytes] = attrs.field(factory=list)
    #: True once the handler used the response (set a status or header, wrote): the server then answers with it
    #: instead of encoding the handler's return value.
    touched: bool = False

    # -- response building (what http.response() methods call) ---------------------------------------------------
    def set_status(self, status: int) -> None:
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise Error(ErrorKind.INVALID, f"status must be an integer from 100 to 599, got {status!r}")
        self.status = status
        self.touched = True

    def set_header(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise Error(ErrorKind.INVALID, f"set_header takes a header name and a string value, got {name!r}, "
                        f"{value!r}")
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise Error(ErrorKind.INVALID, f"header {name!r}: a name or value may not contain a line break")
        if name.lower() == "content-type":
            self.content_type = value
        else:
            self.headers.append((name, value))
        self.touched = True

    def write(self, data: str | bytes) -> None:
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes):
            raise Error(ErrorKind.INVALID, f"write takes a string, got {type(data).__name__}")
        self.chunks.append(data)
        self.touched = True

    def write_json(self, value: Any) -> None:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise Error(ErrorKind.INVALID, f"write_json: the value cannot be encoded as JSON: {exc}") from None
        if self.content_type is None:
            self.content_type = "application/json"
        self.write(text)

    def to_response(self) -> Response:
        response = Response(b"".join(self.chunks), status_code=self.status, media_type=self.content_type)
        for name, value in self.headers:
            response.headers.append(name, value)
        return response
