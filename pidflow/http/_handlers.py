"""Running an endpoint's handler as a process, and the answers the server gives when it cannot.

Design note. Each request gets a fresh process on the node's default host (spawned through ``node.spawn``, so it
has a PID and the process API, and its context holds ``request_id``). Its body sets
:data:`~pidflow.http._exchange.CURRENT` to the request's :class:`Exchange` in its own task, runs the handler
(a ``function.lua`` as the process itself, through ``lua_bindings.local_process_body``, on a Lua state of the
entry's pool: reused from one request to the next and reset in between, see ``lua_bindings/_state_pool.py``; any
other function entry, ``function.py``, through ``node.function`` with the process's context), and records the
outcome in a :class:`_Run` that the request task waits on; the process's own end (its EXIT, its crash report on
logger ``pidflow`` with the Lua file:line or the Python traceback) is the host's, as for any process. A handler
that runs past the timeout is terminated and the client gets 504; a request task cancelled while it waits (the
client left, the graceful stop ran out) terminates its handler too, so no handler outlives its request.

Rejected: waiting for the handler's EXIT through a monitor (``node.exec``): every request would go through the
node's per-parent table of exit waiters, and the timeout needs the PID that ``exec`` does not give back.

Error mapping (every error answer is JSON ``{"error": message, "request_id": id}``, plus ``"kind"`` for an error
the handler raised on purpose):

- an :class:`~pidflow.errors.Error` whose ``details`` has ``http_status`` (400-599) answers with that status and
  its message, and ends the process normally (the Lua ``req:body_json()`` on a body that is not JSON raises
  INVALID with ``http_status = 400``; so does ``await request.json()`` in a Python handler);
- any other failure of the handler is 500 ``internal server error`` (no internals), logged;
- a handler still running after the router's ``timeout`` is 504; a body over the ``body_limit`` is 413.
"""

from __future__ import annotations

import json
import logging
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping

import attrs
import trio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from .._api import current
from .._host import SpawnRequest
from ..entries import Entry
from ..errors import Error, ErrorKind
from ..lua_bindings import KINDS as LUA_KINDS
from ..lua_bindings import local_process_body, lua_imports
from ._exchange import CURRENT, HTTP_STATUS_DETAIL, Exchange
from ._middleware import MiddlewareConfig, request_id_of

if TYPE_CHECKING:
    from .._host import NodePort
    from .._pid import Pid

log = logging.getLogger("pidflow")

#: The kinds whose entries run as the handler process itself, Lua functions (the others, ``function.py``, are
#: called from inside it).
LUA_FUNCTIONS = frozenset(kind.name for kind in LUA_KINDS if kind.function is not None)


def error_response(status: int, message: str, request_id: str, kind: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The JSON answer of every error the server gives."""
    body: dict[str, Any] = {"error": message, "request_id": request_id}
    if kind is not None:
        body["kind"] = kind
    return JSONResponse(body, status_code=status, headers=headers)


def http_status(error: Error) -> int | None:
    """The status an error asks for (``details.http_status``, 400-599), or None."""
    details = error.details
    status = details.get(HTTP_STATUS_DETAIL) if isinstance(details, dict) else None
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
        return status
    return None


class HandlerRequest(Request):
    """The Starlette request a Python handler gets: its body was read by the server (``await request.body()``
    returns it), and ``await request.json()`` on a body that is not JSON raises INVALID with ``http_status`` 400
    (so the client gets 400, not 500)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise Error(ErrorKind.INVALID, f"the request body is not JSON: {exc}", retryable=False,
                        details={HTTP_STATUS_DETAIL: 400}) from None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the already read body once, then the connection's own messages (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> MutableMapping[str, Any]:
        if pending:
            return pending.pop()
        return await receive()

    return replay


@attrs.define(eq=False, slots=True)
class _Run:
    """One request's handler run: the exchange it serves and how it ended."""

    exchange: Exchange
    done: trio.Event = attrs.field(factory=trio.Event)
    value: Any = None
    error: Error | None = None


Call = Callable[[Request], Awaitable[Any]]


def handler_call(node: "NodePort", func: Entry) -> Call:
    """How the handler process runs ``func`` (built once per endpoint: a Lua source is compiled, a Python module
    imported now, so that a broken handler fails the server's start)."""
    if func.kind in LUA_FUNCTIONS:
        body = local_process_body(node, func, lua_imports(func, node.registry), function=True)

        async def call_lua(request: Request) -> Any:
            return await body()  # no arguments: the seed's handler() reads the request from the http module

        return call_lua
    fn = node.function(func.id)

    async def call_function(request: Request) -> Any:
        return await fn(request, context=current().context)

    return call_function


def _process_main(call: Call, func_id: str) -> Callable[[_Run], Awaitable[None]]:
    async def main(run: _Run) -> None:
        # the exchange is this process's only: the processes it spawns inherit the variable, not the request
        run.exchange.owner = current().pid()
        CURRENT.set(run.exchange)
        try:
            run.value = await call(run.exchange.request)
        except Error as exc:
            run.error = exc
            if http_status(exc) is None:
                raise  # a crash: the host reports it (file:line, traceback) and the process ends with it
        except Exception as exc:
            run.error = Error.wrap(exc)
            raise
        except BaseException:
            run.error = Error(ErrorKind.TERMINATED, "the handler process was ended")
            raise
        finally:
            run.done.set()

    # the host's crash report names the process by its entry: the handler's function entry, not this closure
    main.__qualname__ = main.__name__ = func_id
    main.__module__ = ""
    return main


class EndpointApp:
    """The ASGI app of one ``http.endpoint``: read the body within the limit, run the handler as a process, answer
    with what it built or returned."""

    def __init__(self, node: "NodePort", endpoint: Entry, func: Entry, config: MiddlewareConfig) -> None:
        self.node = node
        self.endpoint_id = endpoint.id
        self.func_id = func.id
        self.limit = config.body_limit
        self.timeout = config.timeout
        self._main = _process_main(handler_call(node, func), func.id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = request_id_of(scope)
        try:
            body = await self._read_body(scope, receive)
        except ClientDisconnect:
            return  # the client left before its body was read: nobody to run the handler for
        if body is None:
            response = error_response(413, f"the request body is over the limit of {self.limit} bytes", rid)
        else:
            exchange = Exchange(request=HandlerRequest(scope, _replay(body, receive)), body=body,
                                path_params={k: str(v) for k, v in scope.get("path_params", {}).items()},
                                request_id=rid)
            response = await self._serve(exchange, scope)
        await response(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None when it is over the limit (by its Content-Length, or once read that far);
        ClientDisconnect when the client left first."""
        request = Request(scope, receive)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return None
        chunks, size = [], 0
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > self.limit:
                    return None
                chunks.append(chunk)
        return b"".join(chunks)

    async def _serve(self, exchange: Exchange, scope: Scope) -> Response:
        node, rid = self.node, exchange.request_id
        run = _Run(exchange)
        try:
            pid = await node.spawn(SpawnRequest(entry=self._main, input=run, context={"request_id": rid}))
        except Error as exc:  # the host is not running (the node is stopping)
            self._log(logging.WARNING, scope, rid, 503, f"the handler could not start: {exc}")
            return error_response(503, "the server is stopping", rid)
        timed_out = False
        try:
            with trio.move_on_after(self.timeout if self.timeout is not None else float("inf")) as waited:
                await run.done.wait()
            timed_out = waited.cancelled_caught
        finally:
            if not run.done.is_set():  # timed out, or this request was cancelled: the handler goes with it
                with trio.CancelScope(shield=True):
                    await node.terminate(pid, Error(ErrorKind.TIMEOUT if timed_out else ErrorKind.CANCELED,
                                                    f"http {self.endpoint_id}: request {rid} "
                                                    + ("timed out" if timed_out else "was abandoned")))
        if timed_out:
            self._log(logging.WARNING, scope, rid, 504, f"handler {self.func_id} (process {pid}) did not answer "
                                                        f"within {self.timeout:g}s and was terminated")
            return error_response(504, f"the handler did not answer within {self.timeout:g}s", rid)
        return self._answer(run, scope, pid)

    def _answer(self, run: _Run, scope: Scope, pid: "Pid") -> Response:
        exchange, rid = run.exchange, run.exchange.request_id
        error = run.error
        if error is not None:
            status = http_status(error)
            if status is not None:
                return error_response(status, error.message, rid, error.kind.value)
            # the crash report with file:line is the host's; this line ties it to the request
            self._log(logging.ERROR, scope, rid, 500, f"handler {self.func_id} (process {pid}) failed: {error}")
            return error_response(500, "internal server error", rid)
        if exchange.touched:
            return exchange.to_response()
        value = run.value
        if isinstance(value, Response):
            return value
        if value is None:
            return Response(status_code=204)
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            self._log(logging.ERROR, scope, rid, 500, f"handler {self.func_id} returned a value that is not JSON: "
                                                      f"{exc}")
            return error_response(500, "internal server error", rid)
        return Response(text, media_type="application/json")

    def _log(self, level: int, scope: Scope, rid: str, status: int, what: str) -> None:
        log.log(level, "http %s %s -> %d (endpoint %s, request id %s): %s", scope.get("method"), scope.get("path"),
                status, self.endpoint_id, rid, what,
                extra={"request_id": rid, "endpoint": self.endpoint_id, "http_status": status})
