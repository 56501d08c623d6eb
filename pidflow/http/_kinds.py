"""The HTTP entry kinds: ``http.service`` (a server, started with the node), ``http.router`` (a prefix and
middleware), ``http.endpoint`` (a method, a path template and the function entry that handles it) and
``http.static`` (a directory served under a path).

Everything that can be checked without running is checked at load, each problem naming its key: the address,
timeouts and lifecycle of a server; a router's prefix and middleware; an endpoint's method and path template; a
static handler's directory and options. The entries they name are references (``meta.server`` an
``http.service``, ``meta.router`` an ``http.router``, ``func`` a function entry), and two endpoints with the same
method and path on one server, or two static handlers at one path, are reported on the later one.

This module also finds a server's entries (its routers with their endpoints, its static handlers) and builds its
app once per node (:func:`server_app`), for the ``http.service`` builder and for ``pidflow.http.asgi_app``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .._kind import Key, Kind, Reference
from ..entries import Entry, Registry, qualify
from ..errors import Error
from . import _middleware, _server
from ._middleware import middleware_config
from ._routes import (
    METHODS,
    ServerEntries,
    build_app,
    check_prefix,
    full_path,
    meta_ref,
    parse_template,
    route_key,
    static_directory,
)
from ._server import HttpServer, check_service, service_config, start_server

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .._host import NodePort

SERVICE = "http.service"
ROUTER = "http.router"
ENDPOINT = "http.endpoint"
STATIC = "http.static"
STATIC_OPTIONS = ("index", "cache", "spa")

log = logging.getLogger("pidflow")


# -- which entries belong to a server ---------------------------------------------------------------------------------
def routers_of(registry: Registry, server_id: str) -> list[Entry]:
    return [e for e in registry.of_kind(ROUTER) if meta_ref(e, "server") == server_id]


def endpoints_of(registry: Registry, router_id: str) -> list[Entry]:
    return [e for e in registry.of_kind(ENDPOINT) if meta_ref(e, "router") == router_id]


def statics_of(registry: Registry, server_id: str) -> list[Entry]:
    return [e for e in registry.of_kind(STATIC) if meta_ref(e, "server") == server_id]


def server_of_endpoint(registry: Registry, endpoint: Entry) -> str | None:
    router_id = meta_ref(endpoint, "router")
    router = registry.find(router_id) if router_id else None
    return meta_ref(router, "server") if router is not None and router.kind == ROUTER else None


def server_entries(registry: Registry, server_id: str) -> ServerEntries:
    routers = tuple(
        (router, tuple((endpoint, registry.get(qualify(str(endpoint.spec["func"]), endpoint.namespace)))
                       for endpoint in endpoints_of(registry, router.id)))
        for router in routers_of(registry, server_id))
    return ServerEntries(routers=routers, statics=tuple(statics_of(registry, server_id)))


def server_ids(registry: Registry) -> list[str]:
    return [entry.id for entry in registry.of_kind(SERVICE)]


def server_app(node: "NodePort", server_id: str) -> "ASGIApp":
    """The ASGI app of ``server_id`` (built once per node: the server and ``asgi_app`` share it)."""
    built: dict[str, ASGIApp] = node.resources.setdefault("pidflow.http.apps", {})
    app = built.get(server_id)
    if app is None:
        app = built[server_id] = build_app(node, server_entries(node.registry, server_id), server_id)
    return app


def _meta_problems(entry: Entry, key: str) -> list[str]:
    value = entry.meta.get(key)
    if value is None:
        return [f"meta.{key} is required (the entry id of the {'http.service' if key == 'server' else 'http.router'} "
                "it belongs to)"]
    if not isinstance(value, str) or not value:
        return [f"meta.{key} must be an entry id, got {value!r}"]
    return []


def _problem(fn: Callable[..., object], *args: object) -> list[str]:
    try:
        fn(*args)
    except Error as exc:
        return [exc.message]
    return []


# -- http.router -------------------------------------------------------------------------------------------------------
def _check_router(entry: Entry) -> list[str]:
    problems = _meta_problems(entry, "server")
    if "prefix" in entry.spec:
        problems += _problem(check_prefix, entry.spec["prefix"], "prefix")
    problems += middleware_config(entry.spec)[1]
    return problems


def _router_references(entry: Entry) -> list[Reference]:
    server = meta_ref(entry, "server")
    return [Reference("meta.server", server, kinds=(SERVICE,))] if server else []


# -- http.endpoint -----------------------------------------------------------------------------------------------------
def _check_endpoint(entry: Entry) -> list[str]:
    spec = entry.spec
    problems = _meta_problems(entry, "router")
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        problems.append(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if "path" in spec:
        problems += _problem(parse_template, spec["path"], "path")
    func = spec.get("func")
    if func is not None and (not isinstance(func, str) or not func):
        problems.append(f"func must be the entry id of a function (function.lua, function.py), got {func!r}")
    return problems


def _endpoint_references(entry: Entry) -> list[Reference]:
    refs = []
    router = meta_ref(entry, "router")
    if router:
        refs.append(Reference("meta.router", router, kinds=(ROUTER,)))
    func = entry.spec.get("func")
    if isinstance(func, str) and func:
        refs.append(Reference("func", qualify(func, entry.namespace), roles=("function",)))
    return refs


def _route_of(registry: Registry, endpoint: Entry) -> tuple[str, str, str] | None:
    """(server, method, full path with parameter names erased), or None when the entry's problems are reported
    elsewhere."""
    server = server_of_endpoint(registry, endpoint)
    router = registry.find(meta_ref(endpoint, "router") or "")
    method, path = endpoint.spec.get("method"), endpoint.spec.get("path")
    if server is None or router is None or not isinstance(method, str) or not isinstance(path, str):
        return None
    try:
        prefix = check_prefix(router.spec.get("prefix"), "prefix")
        return (server, *route_key(method, full_path(prefix, path)))
    except Error:
        return None


def _check_endpoint_graph(entry: Entry, registry: Registry) -> list[str]:
    """A route (method and full path) that an endpoint declared earlier on the same server has already."""
    mine = _route_of(registry, entry)
    if mine is None:
        return []
    router = registry.get(meta_ref(entry, "router") or "")
    full = full_path(check_prefix(router.spec.get("prefix"), "prefix"), str(entry.spec["path"]))
    for other in registry.of_kind(ENDPOINT):
        if other.id == entry.id:
            return []
        if _route_of(registry, other) == mine:
            return [f"duplicate route: {mine[1]} {full} on server {mine[0]} is endpoint {other.id}'s already"]
    return []


# -- http.static -------------------------------------------------------------------------------------------------------
def _check_static(entry: Entry) -> list[str]:
    spec = entry.spec
    problems = _meta_problems(entry, "server")
    if "path" in spec:
        problems += _problem(check_prefix, spec["path"], "path")
        if spec["path"] == "":
            problems.append("path must be a path starting with '/', got ''")
    directory = spec.get("directory")
    if directory is not None:
        if not isinstance(directory, str) or not directory:
            problems.append(f"directory must be a folder (relative to this YAML file), got {directory!r}")
        elif not os.path.isdir(static_directory(entry)):
            problems.append(f"directory {static_directory(entry)} does not exist or is not a folder")
    options = spec.get("static_options", {})
    if not isinstance(options, Mapping):
        problems.append(f"static_options must be a mapping of {', '.join(STATIC_OPTIONS)}, got {options!r}")
        options = {}
    problems.extend(f"static_options: unknown key {key!r} (known: {', '.join(STATIC_OPTIONS)})"
                    for key in options if key not in STATIC_OPTIONS)
    index = options.get("index")
    if index is not None and (not isinstance(index, str) or not index or index.startswith("/") or ".." in index):
        problems.append(f"static_options.index must be a file name inside the directory, got {index!r}")
    if "cache" in options and (not isinstance(options["cache"], str) or "\n" in options["cache"]):
        problems.append(f"static_options.cache must be a Cache-Control value, got {options['cache']!r}")
    if "spa" in options and not isinstance(options["spa"], bool):
        problems.append(f"static_options.spa must be true or false, got {options['spa']!r}")
    if options.get("spa") is True and index is None:
        problems.append("static_options.spa needs static_options.index (the file every other path answers with)")
    problems += middleware_config(spec, endpoints=False)[1]
    return problems


def _check_static_graph(entry: Entry, registry: Registry) -> list[str]:
    server = meta_ref(entry, "server")
    try:
        mount = check_prefix(entry.spec.get("path"), "path")
    except Error:
        return []
    for other in statics_of(registry, server or ""):
        if other.id == entry.id:
            return []
        try:
            if check_prefix(other.spec.get("path"), "path") == mount:
                return [f"path {mount or '/'} on server {server} is static handler {other.id}'s already"]
        except Error:
            continue
    return []


# -- http.service ------------------------------------------------------------------------------------------------------
async def _service(node: "NodePort", entry: Entry) -> HttpServer | None:
    """None unless ``lifecycle.auto_start`` (the routes can still be mounted with ``pidflow.http.asgi_app``);
    else the server, listening."""
    config = service_config(entry)
    if not config.auto_start:
        log.info("http.service %s is not started (lifecycle.auto_start is false)", entry.id,
                 extra={"entry": entry.id})
        return None
    return await start_server(node, entry.id, config, server_app(node, entry.id), what=SERVICE)


# -- the keys, for docs/entries.md -------------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return f"{value:g}s"


_MIDDLEWARE_DOCS = {
    "request_id": "X-Request-ID kept or generated, echoed, in the handler's context (always on; listing it changes "
                  "nothing)",
    "cors": "CORS headers, preflights answered before routing",
    "body_limit": "a bigger request body is 413 (endpoints only)",
    "timeout": "a handler still running after the duration is terminated, 504 (endpoints only)",
}
_OPTION_DOCS = {
    "cors.allow.origins": ("allowed origins, comma-separated; https://*.example.com patterns", None),
    "cors.allow.methods": ("allowed methods, comma-separated", None),
    "cors.allow.headers": ("allowed request headers, comma-separated", None),
    "cors.expose.headers": ("response headers the browser may read, comma-separated", None),
    "cors.allow.credentials": ("allow cookies and credentials", None),
    "cors.max.age": ("seconds a browser may cache a preflight answer", None),
    "cors.allow.private.network": ("answer private-network preflights", None),
    "body_limit.max": ("the largest request body: bytes, or 64KB, 10MB, 1GB (KB = 1024 bytes)",
                       f"{_middleware.DEFAULT_BODY_LIMIT // 2**20}MB"),
    "timeout.duration": ("how long a handler may run", "none"),
}


def _option_keys(middleware: tuple[str, ...]) -> tuple[Key, ...]:
    """``options``' keys, from the middleware's own table (an option without a doc line shows as undocumented)."""
    keys = []
    for name in middleware:
        for option in sorted(_middleware.OPTIONS[name]):
            key = f"{name}.{option}"
            doc, default = _OPTION_DOCS.get(key, ("", None))
            if default is None and name == "cors":
                default = _middleware._CORS_DEFAULTS[option] or "none"
            keys.append(Key(key, "string, number or boolean", doc, default=default))
    return tuple(keys)


def _middleware_keys(middleware: tuple[str, ...]) -> tuple[Key, ...]:
    return (
        Key("middleware", "list of names", "middleware to apply, in any order: " + "; ".join(
            f"{name}: {_MIDDLEWARE_DOCS.get(name, '')}" for name in middleware), default="[]"),
        Key("options", "mapping", "middleware options, one key each, written with its dots "
                                  "(`cors.allow.origins: \"*\"`), for middleware listed in middleware",
            default="{}",
            keys=_option_keys(middleware)),
    )


_ROUTER_MIDDLEWARE = tuple(sorted(_middleware.OPTIONS))
_STATIC_MIDDLEWARE = tuple(n for n in _ROUTER_MIDDLEWARE if n not in _middleware.ENDPOINT_ONLY)
_SERVER_META = Key("server", "entry id", "the http.service it belongs to", required=True)

SERVICE_KEYS = (
    Key("addr", "host:port", "where it listens: :8080 (every interface), 127.0.0.1:8080, [::1]:8080; port 0 picks "
                             "a free port", required=True),
    Key("timeouts", "mapping", "connection timeouts (durations; 0 disables one)", default="{}",
        keys=(Key("read", "duration", "the longest wait for data from a client, on each read", default="none"),
              Key("idle", "duration", "how long an idle keep-alive connection stays open",
                  default=_seconds(_server.DEFAULT_IDLE_TIMEOUT)),
              Key("write", "duration", "accepted for the seed runtime's YAML, no effect (hypercorn has none)",
                  default="none"))),
    Key("lifecycle", "mapping", "when it starts and how long starting and stopping may take", default="{}",
        keys=(Key("auto_start", "boolean", "start with the node (else its routes are only for asgi_app)",
                  default="false"),
              Key("start_timeout", "duration", "how long the app's ASGI startup may take",
                  default=_seconds(_server.DEFAULT_START_TIMEOUT)),
              Key("stop_timeout", "duration", "how long in-flight requests get to finish when it stops",
                  default=_seconds(_server.DEFAULT_STOP_TIMEOUT)))),
)
ROUTER_KEYS = (
    Key("prefix", "path", "a plain path joined before every endpoint's path (/api + /orders = /api/orders)",
        default="none (/)"),
    *_middleware_keys(_ROUTER_MIDDLEWARE),
)
ENDPOINT_KEYS = (
    Key("method", " | ".join(METHODS), "the HTTP method, any case (GET answers HEAD too)", required=True),
    Key("path", "path template", "/orders/{id}, a rest of the path /files/{path...} (last segment), or the seed's "
                                 "/orders/:id", required=True),
    Key("func", "entry id", "the handler, a function.lua or function.py entry run as a process per request",
        required=True),
)
STATIC_KEYS = (
    Key("path", "path", "where it is mounted (/, /assets)", required=True),
    Key("directory", "path", "the folder to serve, relative to the YAML file", required=True),
    Key("static_options", "mapping", "how files are served", default="{}",
        keys=(Key("index", "file name", "the file a directory URL answers with (index.html)", default="none"),
              Key("cache", "string", "the Cache-Control value of the files it serves", default="none"),
              Key("spa", "boolean", "every path that is no file answers with the index; needs index",
                  default="false"))),
    *_middleware_keys(_STATIC_MIDDLEWARE),
)

KINDS = (
    Kind(name=SERVICE, keys=SERVICE_KEYS, check=check_service, service=_service,
         description="An HTTP server (hypercorn on the node's trio loop) serving its routers' endpoints and its "
                     "static handlers (see [http.md](http.md))."),
    Kind(name=ROUTER, keys=ROUTER_KEYS, meta_keys=(_SERVER_META,), check=_check_router,
         references=_router_references,
         description="A group of endpoints of one server under a prefix, with middleware."),
    Kind(name=ENDPOINT, keys=ENDPOINT_KEYS,
         meta_keys=(Key("router", "entry id", "the http.router it belongs to", required=True),),
         check=_check_endpoint, references=_endpoint_references, check_graph=_check_endpoint_graph,
         description="One route: a method and a path template, handled by a function entry run as a process per "
                     "request."),
    Kind(name=STATIC, keys=STATIC_KEYS, meta_keys=(_SERVER_META,), check=_check_static,
         references=_router_references, check_graph=_check_static_graph,
         description="Static files of a folder, served under a path of one server (after the endpoints)."),
)
