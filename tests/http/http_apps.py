"""Helpers of the HTTP server tests: apps built from entry dicts beside ``apps/`` (Python handlers in
``apps/pidflow_http_handlers.py``, Lua handlers and static files there too)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pidflow.entries import Registry, from_dicts

APPS = Path(__file__).resolve().parent / "apps"
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))

import pidflow_http_handlers as handlers  # noqa: E402,F401  (the module the function.py entries import)


def server(**extra: Any) -> dict[str, Any]:
    return {"name": "gw", "kind": "http.service", "addr": "127.0.0.1:0", "lifecycle": {"auto_start": True}, **extra}


def router(name: str = "api", prefix: str = "/api", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "http.router", "meta": {"server": "gw"}, "prefix": prefix, **extra}


def py_endpoint(name: str, method: str, path: str, handler: str, router: str = "api") -> list[dict[str, Any]]:
    """A ``function.py`` entry for ``handler`` (in pidflow_http_handlers) and the endpoint that routes to it."""
    return [{"name": f"{name}_fn", "kind": "function.py", "source": f"pidflow_http_handlers:{handler}"},
            {"name": name, "kind": "http.endpoint", "meta": {"router": router}, "method": method, "path": path,
             "func": f"{name}_fn"}]


def lua_endpoint(name: str, http_method: str, path: str, source: str, router: str = "api",
                 **extra: Any) -> list[dict[str, Any]]:
    """A ``function.lua`` entry of ``apps/SOURCE`` (``extra``: its other keys) and the endpoint that routes to it."""
    return [{"name": f"{name}_fn", "kind": "function.lua", "source": f"file://{source}", **extra},
            {"name": name, "kind": "http.endpoint", "meta": {"router": router}, "method": http_method, "path": path,
             "func": f"{name}_fn"}]


def app(*specs: dict[str, Any] | list[dict[str, Any]]) -> Registry:
    """A registry of the given entry dicts (lists are flattened), as if declared in a YAML file in ``apps/``."""
    flat: list[dict[str, Any]] = []
    for spec in specs:
        flat.extend(spec if isinstance(spec, list) else [spec])
    return from_dicts("app", flat, base=APPS)
