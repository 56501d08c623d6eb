"""HTTP entry points: the ``http.service``, ``http.router``, ``http.endpoint`` and ``http.static`` entry kinds
(hypercorn serving Starlette routes on the node's trio loop; every request's handler runs as a process), and the
Lua ``http`` module that handlers read the request and build the response with.

Layout: ``_exchange`` (one request and the response its handler builds: what the server, the handler process
and the Lua module share), ``_middleware`` (middleware as entry data, the request id), ``_handlers`` (a handler
run as a process; the error answers), ``_routes`` (the Starlette app of a server, from its entries), ``_server``
(the hypercorn service), ``_kinds`` (the entry kinds), ``_lua_module`` (the Lua ``http`` module). See
``docs/http.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Error, ErrorKind
from . import _lua_module  # noqa: F401  (registers the Lua http module)
from ._exchange import HTTP_STATUS_DETAIL as HTTP_STATUS_DETAIL
from ._exchange import Exchange as Exchange
from ._exchange import current_exchange as current_exchange
from ._kinds import KINDS as KINDS
from ._kinds import server_app as _server_app
from ._kinds import server_ids as _server_ids
from ._server import HttpServer as HttpServer

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .._host import NodePort
    from ..node import Node


def _server_id(node: "NodePort", server: str | None) -> str:
    servers = _server_ids(node.registry)
    if server is None:
        if len(servers) != 1:
            raise Error(ErrorKind.INVALID, f"the app has {len(servers)} http.service entries"
                        + (f" ({', '.join(servers)}): name one" if servers else ""))
        return servers[0]
    if server not in servers:
        raise Error(ErrorKind.NOT_FOUND, f"no http.service {server!r} in the app"
                    + (f" (it has {', '.join(servers)})" if servers else ""), details={"entry": server})
    return server


def asgi_app(node: "NodePort", server: str | None = None) -> "ASGIApp":
    """The ASGI app of an ``http.service``'s routes and static handlers (``server``: its entry id; None when the
    app has exactly one), to mount in an ASGI app of your own (``Mount("/pf", app=asgi_app(node))``). It is the
    app the server itself serves, with the same request ids, middleware and error answers, and it works whether
    or not the service was started (``lifecycle.auto_start: false`` declares routes to mount only). Serve it on
    the node's trio loop, while the node runs: its handlers are processes of the node."""
    return _server_app(node, _server_id(node, server))


def running_server(node: "Node", server: str | None = None) -> HttpServer:
    """The running ``http.service`` (``server``: its entry id; None when the app has exactly one):
    ``.url`` (``http://127.0.0.1:54321``), ``.port`` (the bound port, for ``addr: "127.0.0.1:0"``), ``.urls``.
    NOT_FOUND when it was not started (``lifecycle.auto_start`` is not true)."""
    server_id = _server_id(node, server)
    running = node.services.get(server_id)
    if not isinstance(running, HttpServer):
        raise Error(ErrorKind.NOT_FOUND, f"http.service {server_id} is not running (start it with the node: "
                    "lifecycle.auto_start: true)", details={"entry": server_id})
    return running


def server_url(node: "Node", server: str | None = None) -> str:
    """Where the running ``http.service`` listens: ``http://127.0.0.1:54321`` (see :func:`running_server`)."""
    return running_server(node, server).url


__all__ = ["HTTP_STATUS_DETAIL", "Exchange", "HttpServer", "KINDS", "asgi_app", "current_exchange",
           "running_server", "server_url"]
