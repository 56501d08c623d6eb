"""The Starlette app of one ``http.service``: its routers' endpoints and its static handlers, from the entries.

Design note. Every endpoint becomes one Starlette ``Route`` at its full path (the router's prefix joined with the
endpoint's path), with the router's CORS around its handler; routes are ordered most specific first (a literal
segment before a ``{param}``, a ``{param}`` before a ``{rest...}``), so ``/orders/new`` wins over
``/orders/{id}`` whatever the declaration order. A router with CORS also gets an ``OPTIONS`` route over its
whole prefix, after the endpoints, that answers preflights (an endpoint's own route only matches its method). The
static handlers are ``Mount``\\s of ``StaticFiles`` in a second router that the first falls back to, so a path
that an endpoint has with another method is 405, not a static 404. Unknown paths are 404, wrong methods 405,
both as JSON with the request id; the outermost layer is the request id (``_middleware.RequestIdMiddleware``).

Rejected: one ``Mount`` per router: a router at ``/api`` would swallow every path under it, so two routers with
nested prefixes (``/api`` and ``/api/public``) or a router and a static handler at ``/`` could not coexist, and
an endpoint at the router's own prefix (``/api``) would not match.
"""

from __future__ import annotations

import os
import re
import stat
from collections import Counter
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..entries import Entry, qualify
from ..errors import Error, ErrorKind
from ._handlers import EndpointApp, error_response
from ._middleware import RequestIdMiddleware, middleware_config, request_counts, request_id_of

if TYPE_CHECKING:
    from .._host import NodePort

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}$")
_COLON_PARAM = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)$")


# -- path templates ------------------------------------------------------------------------------------------------
def parse_template(path: Any, what: str = "path") -> tuple[str, tuple[int, ...]]:
    """A seed path template (``/orders/{id}``, ``/files/{rest...}``; ``/orders/:id`` too) as a Starlette path
    (``/orders/{id}``, ``/files/{rest:path}``) and its specificity key (per segment: 0 literal, 1 parameter,
    2 rest); INVALID naming ``what`` when it is malformed."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise Error(ErrorKind.INVALID, f"{what} must be a string starting with '/', got {path!r}")
    if any(c in path for c in "?#") or any(c.isspace() for c in path):
        raise Error(ErrorKind.INVALID, f"{what} {path!r}: a path may not contain spaces, '?' or '#'")
    segments = path.split("/")[1:]
    out, key, names = [], [], set()
    for i, segment in enumerate(segments):
        colon = _COLON_PARAM.match(segment)
        if colon:
            segment = "{" + colon[1] + "}"
        match = _PARAM.match(segment)
        if match is None:
            if "{" in segment or "}" in segment:
                raise Error(ErrorKind.INVALID, f"{what} {path!r}: bad segment {segment!r} (a parameter is a whole "
                                               "segment: {name} or, last, {name...})")
            out.append(segment)
            key.append(0)
            continue
        name, rest = match[1], bool(match[2])
        if name in names:
            raise Error(ErrorKind.INVALID, f"{what} {path!r}: parameter {name!r} appears twice")
        names.add(name)
        if rest and i != len(segments) - 1:
            raise Error(ErrorKind.INVALID, f"{what} {path!r}: {{{name}...}} must be the last segment")
        out.append("{" + name + (":path}" if rest else "}"))
        key.append(2 if rest else 1)
    return "/" + "/".join(out), tuple(key)


def check_prefix(prefix: Any, what: str) -> str:
    """A router prefix or static mount path: ``""`` or ``/...`` without parameters; returned without a trailing
    ``/`` (``/`` is ``""``)."""
    if prefix in (None, ""):
        return ""
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise Error(ErrorKind.INVALID, f"{what} must be a path starting with '/', got {prefix!r}")
    if any(c in prefix for c in "{}?#:") or any(c.isspace() for c in prefix):
        raise Error(ErrorKind.INVALID, f"{what} {prefix!r}: a prefix is a plain path (no parameters, spaces, "
                                       "'?', '#' or ':')")
    return prefix.rstrip("/")


def full_path(prefix: str, path: str) -> str:
    """The router's prefix joined with an endpoint's path (``/api`` + ``/`` is ``/api``)."""
    if path == "/" and prefix:
        return prefix
    return prefix + path


def route_key(method: str, path: str) -> tuple[str, str]:
    """What makes two endpoints the same route: the method and the path with parameter names erased."""
    starlette_path, _ = parse_template(path)
    return method.upper(), re.sub(r"\{[A-Za-z0-9_]+(:path)?\}", lambda m: "{...}" if m[1] else "{}", starlette_path)


# -- entries -------------------------------------------------------------------------------------------------------
def meta_ref(entry: Entry, key: str) -> str | None:
    """``meta.<key>`` as an entry id qualified with the entry's namespace, or None."""
    value = entry.meta.get(key)
    return qualify(value, entry.namespace) if isinstance(value, str) and value else None


def static_directory(entry: Entry) -> str:
    """``directory`` resolved against the declaring YAML file's folder."""
    base = entry.file.parent if entry.file is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, str(entry.spec["directory"])))


# -- static files ----------------------------------------------------------------------------------------------------
class StaticApp(StaticFiles):
    """``StaticFiles`` with the seed's ``static_options``: an index file for directory URLs (any name), SPA mode
    (the index for every path that is no file) and a ``Cache-Control`` value on the files it serves."""

    def __init__(self, directory: str, *, index: str | None, spa: bool, cache: str | None) -> None:
        super().__init__(directory=directory, html=False)
        self.index = index
        self.spa = spa
        self.cache = cache

    async def _file(self, path: str, scope: Scope) -> Response | None:
        full, found = await anyio.to_thread.run_sync(self.lookup_path, path)
        if found is not None and stat.S_ISREG(found.st_mode):
            return self.file_response(full, found, scope)
        return None

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.index and scope["method"] in ("GET", "HEAD"):
            _, found = await anyio.to_thread.run_sync(self.lookup_path, path)
            if found is not None and stat.S_ISDIR(found.st_mode):
                response = await self._file(os.path.join(path, self.index), scope)
                if response is not None:
                    if not scope["path"].endswith("/"):  # relative links in the index need the slash
                        url = URL(scope=scope)
                        return RedirectResponse(url=url.replace(path=url.path + "/"))
                    return self._cached(response)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or not self.spa or not self.index:
                raise
            fallback = await self._file(self.index, scope)
            if fallback is None:
                raise
            response = fallback
        return self._cached(response)

    def _cached(self, response: Response) -> Response:
        if self.cache and response.status_code in (200, 304):
            response.headers["Cache-Control"] = self.cache
        return response


def _static_app(entry: Entry) -> ASGIApp:
    options = entry.spec.get("static_options") or {}
    config, problems = middleware_config(entry.spec, endpoints=False)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: " + "; ".join(problems))
    app = StaticApp(static_directory(entry), index=options.get("index"), spa=bool(options.get("spa", False)),
                    cache=options.get("cache"))
    return config.wrap(app)


# -- the app ---------------------------------------------------------------------------------------------------------
async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    rid = request_id_of(request.scope)
    if exc.status_code == 404:
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed for {request.url.path}"
    else:
        message = exc.detail
    return error_response(exc.status_code, message, rid, headers=dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal server error", request_id_of(request.scope))


class _Preflight:
    """What the catch-all ``OPTIONS`` route of a router with CORS runs inside its CORS middleware, which answers a
    preflight; any other ``OPTIONS`` request is 404 (no endpoint has that method there)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(status_code=404)


class _PreflightRoute(Route):
    """Matches ``OPTIONS`` requests only: for any other method it is no match at all (not the partial match that
    would make every unknown path under the prefix a 405)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("method") != "OPTIONS":
            return Match.NONE, {}
        return super().matches(scope)


@attrs.frozen
class ServerEntries:
    """What one server serves: its routers, each with its endpoints and their function entries, and its static
    handlers, in declaration order (``_kinds`` finds them)."""

    routers: tuple[tuple[Entry, tuple[tuple[Entry, Entry], ...]], ...] = ()
    statics: tuple[Entry, ...] = ()


def build_app(node: "NodePort", entries: ServerEntries, server_id: str | None = None) -> ASGIApp:
    """The ASGI app of a server's routers and static handlers (handlers compiled or imported now: a broken one
    fails here, naming its entry); its answers are counted under ``server_id`` (``_middleware.request_counts``)."""
    routes: list[tuple[tuple[int, ...], Route]] = []
    preflights: list[tuple[int, Route]] = []
    for router, endpoints in entries.routers:
        config, problems = middleware_config(router.spec)
        if problems:
            raise Error(ErrorKind.INVALID, f"entry {router.id}: " + "; ".join(problems))
        prefix = check_prefix(router.spec.get("prefix"), "prefix")
        for endpoint, func in endpoints:
            path, key = parse_template(full_path(prefix, str(endpoint.spec["path"])))
            app = config.wrap(EndpointApp(node, endpoint, func, config))
            routes.append((key, Route(path, app, methods=[str(endpoint.spec["method"]).upper()],
                                      name=endpoint.id)))
        if config.cors is not None:
            for path in (prefix or "/", prefix + "/{_pidflow_rest:path}"):
                preflights.append((-len(prefix), _PreflightRoute(path, config.wrap(_Preflight()), methods=["OPTIONS"])))
    routes.sort(key=lambda item: item[0])
    preflights.sort(key=lambda item: item[0])
    statics: list[tuple[int, BaseRoute]] = []
    for static in entries.statics:
        mount = check_prefix(static.spec.get("path"), "path")
        statics.append((-len(mount), Mount(mount, app=_static_app(static), name=static.id)))
    statics.sort(key=lambda item: item[0])
    app = Starlette(routes=[r for _, r in routes] + [r for _, r in preflights],
                    exception_handlers={HTTPException: _http_error, Exception: _internal_error})
    # paths no endpoint has (with any method) fall through to the static handlers, then 404
    app.router.default = Router(routes=[r for _, r in statics])
    counts = request_counts(node).setdefault(server_id, Counter()) if server_id is not None else None
    return RequestIdMiddleware(app, counts)
