"""The running observer: hypercorn serving the observer's app on the node's trio loop, as an ``http.service``
does (``pidflow.http._server``: the socket is bound before the start returns, so a port in use fails the start,
and ``addr: 127.0.0.1:0`` picks a free port).

Stopping ends the open event streams first (their subscriptions are closed), so that hypercorn's graceful stop
does not wait on them until its timeout.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import Error, ErrorKind
from ..http._server import HttpServer, ServiceConfig, parse_addr, start_server

if TYPE_CHECKING:
    from .._pid import Pid
    from ..node import Node
    from ._api import Streams

#: How long in-flight requests get when the observer stops (event streams end at once).
STOP_TIMEOUT = 5.0
DEFAULT_ADDR = "127.0.0.1:0"
#: Where ``pidflow run --observe`` and ``pidflow ps/tree --url`` read the token when not given as an option.
TOKEN_ENV = "PIDFLOW_OBSERVER_TOKEN"


def observer_addr(addr: Any) -> tuple[str, int]:
    """``host:port`` as for ``http.service``, or a bare port (``9900``, on 127.0.0.1): ``(host, port)``;
    INVALID otherwise."""
    if isinstance(addr, int) and not isinstance(addr, bool):
        addr = str(addr)
    if isinstance(addr, str) and addr.isdigit():
        addr = f"127.0.0.1:{addr}"
    return parse_addr(addr)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, option: str) -> None:
    """INVALID, naming ``option``, when ``host`` is not a loopback address and there is no token: whoever reaches
    the observer can terminate processes."""
    if not token and not is_loopback(host):
        raise Error(ErrorKind.INVALID, f"the observer on {host} is reachable from other machines: it needs a token "
                                       f"({option}), or bind it to 127.0.0.1")


@attrs.define(eq=False)
class Observer:
    """A running observer (what ``node.services[entry_id]`` holds for an ``observer`` entry). ``url``:
    ``http://127.0.0.1:54321``; ``port``: the bound port."""

    entry_id: str
    server: HttpServer
    streams: "Streams"
    #: The observer is not a process.
    pid: "Pid | None" = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self) -> None:
        """End the event streams, stop accepting, let other requests finish (within 5 seconds), then return."""
        self.streams.close()
        await self.server.stop()


async def start_observer(node: "Node", addr: Any = DEFAULT_ADDR, *, token: str | None = None,
                         entry_id: str = "pidflow:observer", token_option: str | None = None) -> Observer:
    """Serve the observer of ``node`` (a running node) on ``addr`` (``host:port``, or a bare port on 127.0.0.1);
    listening once this returns. ``token``: required when ``addr`` is not a loopback address (INVALID naming
    ``token_option`` otherwise); then every API and metrics request needs it. UNAVAILABLE when the port is
    taken. Stop it with ``await observer.stop()`` (an ``observer`` entry is stopped with the node)."""
    from ._api import build_app
    from ._metrics import enable_temporal_metrics

    if token is not None and (not isinstance(token, str) or not token):
        raise Error(ErrorKind.INVALID, f"the observer's token must be a non-empty string, got {token!r}")
    host, port = observer_addr(addr)
    check_exposure(host, token, token_option or f"--observe-token or {TOKEN_ENV}")
    enable_temporal_metrics()
    app, streams = build_app(node, token=token)
    config = ServiceConfig(host=host, port=port, auto_start=True, stop_timeout=STOP_TIMEOUT)
    server = await start_server(node, entry_id, config, app, what="the observer")
    return Observer(entry_id, server, streams)
