"""The observer: a node's processes, supervision trees and events as a JSON API with server-sent events, a web
page, Prometheus metrics and the ``pidflow ps --url`` / ``pidflow tree --url`` commands; the ``observer`` entry
kind starts it with the node (``pidflow run APP --observe 127.0.0.1:PORT`` does too).

Layout: ``_kinds`` (the entry kind; the address and token rules), ``_api`` (the Starlette app: endpoints, event
stream, token check), ``_metrics`` (``/metrics``: the node's numbers and temporalio's, re-exported), ``_service``
(the running observer on hypercorn, as ``pidflow.http`` serves), ``static/`` (the web page). The records it serves
are the node's (``pidflow._introspection``). See ``docs/observer.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._kinds import KIND as KIND
from ._kinds import KINDS as KINDS
from ._service import TOKEN_ENV as TOKEN_ENV

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from starlette.types import ASGIApp

    from ..node import Node
    from ._service import Observer


async def start_observer(node: "Node", addr: Any = "127.0.0.1:0", *, token: str | None = None) -> "Observer":
    """Serve the observer of a running ``node`` on ``addr`` (``host:port``; a bare port is on 127.0.0.1; port 0
    a free one); listening once this returns (``.url``, ``.port``; ``await .stop()``). A ``token`` is required when
    ``addr`` is not a loopback address; with one, every API and metrics request needs it."""
    from ._service import start_observer as start

    return await start(node, addr, token=token)


def check_address(addr: Any, token: str | None, option: str) -> None:
    """INVALID when ``addr`` is not an address, or is not a loopback address and there is no token (naming
    ``option``, where the token is given): what :func:`start_observer` checks, before anything starts."""
    from ._service import check_exposure, observer_addr

    check_exposure(observer_addr(addr)[0], token, option)


def asgi_app(node: "Node", *, token: str | None = None) -> "ASGIApp":
    """The observer's ASGI app, to mount in an ASGI app of your own served on the node's trio loop. Its event
    streams end when their clients go (not when you stop serving: cancel them with your server)."""
    from ._api import build_app

    return build_app(node, token=token)[0]


def metrics_registry(node: "Node") -> "CollectorRegistry":
    """The node's Prometheus registry, what ``/metrics`` serves: register metrics of your own on it."""
    from ._metrics import metrics_registry as registry

    return registry(node)


def enable_temporal_metrics() -> None:
    """Have temporalio report its client and worker metrics to the observer's ``/metrics`` (installs its default
    runtime, once per Python process). Call it before ``open_node``: clients connected earlier keep the runtime
    they had. ``pidflow run`` does it when the app is observed."""
    from ._metrics import enable_temporal_metrics as enable

    enable()


__all__ = ["KIND", "KINDS", "TOKEN_ENV", "asgi_app", "check_address", "enable_temporal_metrics", "metrics_registry",
           "start_observer"]
