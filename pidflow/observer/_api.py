"""The observer's Starlette app: the JSON API, the event stream, the metrics and the web page's files.

Design note. Every answer is built from the node's introspection records (``node.processes``,
``node.process_info``, ``node.tree``, ``node.observe``: ``pidflow._introspection``) through their ``to_json()``,
so the API, the page, the terminal commands and the metrics never disagree. Each endpoint runs inside
:func:`_endpoint`, which checks the token and turns every failure into a JSON answer: a pidflow error by its kind
(INVALID 400, NOT_FOUND 404, ...), anything else 500, logged; an exception never leaves a handler, so a broken
request cannot reach the server, let alone the node.

The event stream is a subscription (``node.observe()``) read by Starlette's ``StreamingResponse``, which cancels
it when the client disconnects; its ``finally`` unsubscribes. A subscription is bounded (it drops its oldest
events when a client does not keep up); the stream then says how many it lost (``event: dropped``), so that a
client knows to read the state again.

Rejected: a token for actions only. The process list names every entry, host, name and workflow id of a
system, which is already worth protecting; one rule for every API request is also easier to get right.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._duration import parse_duration
from .._mailbox import Mailbox
from .._pid import Pid
from ..errors import Error, ErrorKind

if TYPE_CHECKING:
    from .._introspection import ObserverEvent
    from ..node import Node

log = logging.getLogger("pidflow")

STATIC = Path(__file__).parent / "static"
#: Seconds between keep-alive comments on a quiet event stream.
KEEPALIVE = 15.0
#: The status of each error kind; any other kind is 500.
_STATUS = {ErrorKind.INVALID: 400, ErrorKind.NOT_FOUND: 404, ErrorKind.ALREADY_EXISTS: 409,
           ErrorKind.TIMEOUT: 504, ErrorKind.UNAVAILABLE: 503}


def pid_path(pid: "Pid | str") -> str:
    """A PID as the path segment the API takes (``/api/processes/`` + this)."""
    return quote(str(pid), safe="")


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str), status_code=status,
                    media_type="application/json", headers=headers)


def _error(status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": message, "kind": kind}, status, headers)


class Streams:
    """The open event streams' subscriptions: closed all at once when the observer stops."""

    def __init__(self) -> None:
        self._open: set[Mailbox[Any]] = set()
        self.closed = False

    def add(self, mailbox: Mailbox[Any]) -> None:
        self._open.add(mailbox)

    def discard(self, mailbox: Mailbox[Any]) -> None:
        self._open.discard(mailbox)

    def close(self) -> None:
        self.closed = True
        for mailbox in list(self._open):
            mailbox.close()

    def __len__(self) -> int:
        return len(self._open)


Handler = Callable[[Request], Awaitable[Response]]


def _endpoint(token: str | None, handler: Handler) -> Handler:
    """``handler`` behind the token check, with every failure answered as JSON (see the module's note)."""

    async def endpoint(request: Request) -> Response:
        if token is not None and not _authorized(request, token):
            return _error(401, "this observer needs its token: 'Authorization: Bearer <token>' or ?token=",
                          ErrorKind.PERMISSION_DENIED.value, headers={"WWW-Authenticate": "Bearer"})
        try:
            return await handler(request)
        except Error as exc:
            status = _STATUS.get(exc.kind)
            if status is None:
                log.error("observer: %s %s failed: %s", request.method, request.url.path, exc)
                status = 500
            return _error(status, exc.message, exc.kind.value)
        except Exception:
            log.exception("observer: %s %s failed", request.method, request.url.path)
            return _error(500, "internal server error", ErrorKind.INTERNAL.value)

    return endpoint


def _authorized(request: Request, token: str) -> bool:
    given = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
    if given is None:
        given = request.query_params.get("token")
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit():
        raise Error(ErrorKind.INVALID, f"?{name}= must be a whole number >= 0, got {text!r}")
    return int(text)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise Error(ErrorKind.INVALID, f"the request body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Error(ErrorKind.INVALID, f"the request body must be a JSON object, got {type(value).__name__}")
    return value


class _Api:
    """The endpoints, bound to one node."""

    def __init__(self, node: "Node", streams: Streams, keepalive: float) -> None:
        self.node = node
        self.streams = streams
        self.keepalive = keepalive

    def pid(self, request: Request) -> Pid:
        """The path's PID; INVALID (400) when it is not one, NOT_FOUND (404) when it belongs to another node."""
        text = request.path_params["pid"]
        pid = Pid.parse(text)
        if pid.node is not None and pid.node != self.node.name:
            raise Error(ErrorKind.NOT_FOUND, f"{pid} is a process of node {pid.node}, not of {self.node.name}")
        return pid

    def _known(self, pid: Pid) -> None:
        """NOT_FOUND when the node knows ``pid`` is not running (an unknown host too)."""
        if self.node.route(pid).is_alive(pid) is False:
            raise Error(ErrorKind.NOT_FOUND, f"no such process {pid}")

    async def processes(self, request: Request) -> Response:
        offset = _int_param(request, "offset", 0) or 0
        limit = _int_param(request, "limit", None)
        host = request.query_params.get("host") or None
        every = self.node.processes(host=host)
        page = every[offset:] if limit is None else every[offset:offset + limit]
        return _json({"total": len(every), "offset": offset, "limit": limit,
                      "processes": [info.to_json() for info in page]})

    async def process(self, request: Request) -> Response:
        info = await self.node.process_info(self.pid(request))
        return _json(info.to_json())

    async def tree(self, request: Request) -> Response:
        return _json({"tree": [node.to_json() for node in self.node.tree()]})

    async def send(self, request: Request) -> Response:
        pid = self.pid(request)
        body = await _body(request)
        topic = body.get("topic")
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, f"send needs a non-empty string topic, got {topic!r}")
        self._known(pid)
        self.node.process.send_nowait(pid, topic, body.get("data"))
        return _json({"sent": True}, 202)

    async def terminate(self, request: Request) -> Response:
        pid = self.pid(request)
        reason = (await _body(request)).get("reason")
        if reason is not None and not isinstance(reason, str):
            raise Error(ErrorKind.INVALID, f"reason must be a string, got {reason!r}")
        message = "terminated through the observer" + (f": {reason}" if reason else "")
        if not await self.node.terminate(pid, Error(ErrorKind.TERMINATED, message)):
            raise Error(ErrorKind.NOT_FOUND, f"no such process {pid}")
        return _json({"terminated": True})

    async def cancel(self, request: Request) -> Response:
        pid = self.pid(request)
        deadline = parse_duration((await _body(request)).get("deadline", 5.0), number_unit=1.0, what="deadline")
        if not await self.node.process.cancel(pid, deadline):
            raise Error(ErrorKind.NOT_FOUND, f"no such process {pid}")
        return _json({"cancelled": True})

    async def events(self, request: Request) -> Response:
        if self.streams.closed:
            raise Error(ErrorKind.UNAVAILABLE, "the observer is stopping")
        mailbox = self.node.observe()
        self.streams.add(mailbox)
        return _ClosingStream(self._stream(mailbox), media_type="text/event-stream",
                                 # Connection: close: once the stream ends (the observer stops), the
                                 # connection goes too, instead of idling until the server's keep-alive timeout
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                          "Connection": "close"})

    async def _stream(self, mailbox: "Mailbox[ObserverEvent]") -> AsyncIterator[str]:
        reported = 0
        try:
            yield ": subscribed\n\n"  # the headers and a first line go out at once: the client knows it is on
            while True:
                with trio.move_on_after(self.keepalive) as waited:
                    try:
                        event = await mailbox.receive()
                    except trio.EndOfChannel:
                        return  # the observer stops
                if waited.cancelled_caught:
                    yield ": keep-alive\n\n"
                    continue
                dropped = getattr(mailbox, "dropped", 0)
                if dropped > reported:
                    yield f"event: dropped\ndata: {json.dumps({'dropped': dropped - reported})}\n\n"
                    reported = dropped
                data = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"), default=str)
                yield f"event: {event.kind}\ndata: {data}\n\n"
        except Exception:  # the headers are out: all that is left is to end the stream (the client reconnects)
            log.exception("observer: the event stream failed")
        finally:
            self.streams.discard(mailbox)
            self.node.unobserve(mailbox)

    async def metrics(self, request: Request) -> Response:
        from ._metrics import CONTENT_TYPE, render

        return Response(render(self.node), media_type=CONTENT_TYPE)


class _ClosingStream(StreamingResponse):
    """A StreamingResponse that closes its generator however the response ends: Starlette leaves it open when the
    client goes away mid-write, and the generator's cleanup (unsubscribing) would then wait for the garbage
    collector, which warns."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with contextlib.aclosing(self.body_iterator):  # type: ignore[type-var]
            await super().__call__(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(404, f"no route for {request.method} {request.url.path}", ErrorKind.NOT_FOUND.value)
    if exc.status_code == 405:
        return _error(405, f"method {request.method} is not allowed for {request.url.path}", ErrorKind.INVALID.value)
    return _error(exc.status_code, str(exc.detail))


def build_app(node: "Node", *, token: str | None = None, keepalive: float = KEEPALIVE) -> tuple[Starlette, Streams]:
    """The observer's app for ``node`` and its open event streams (to end them when it stops)."""
    streams = Streams()
    api = _Api(node, streams, keepalive)

    def route(path: str, handler: Handler, method: str = "GET") -> Route:
        return Route(path, _endpoint(token, handler), methods=[method])

    routes: list[Any] = [
        route("/api/processes", api.processes),
        route("/api/processes/{pid:path}/send", api.send, "POST"),
        route("/api/processes/{pid:path}/terminate", api.terminate, "POST"),
        route("/api/processes/{pid:path}/cancel", api.cancel, "POST"),
        route("/api/processes/{pid:path}", api.process),
        route("/api/tree", api.tree),
        route("/api/events", api.events),
        route("/metrics", api.metrics),
    ]
    if STATIC.is_dir():  # the web page (no data in it: served without the token)
        routes.append(Mount("/", app=StaticFiles(directory=STATIC, html=True), name="static"))
    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
    return app, streams
