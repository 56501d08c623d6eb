"""Fixtures of the HTTP server tests: an app (see ``http_apps``) served by a real node on a free port
(``addr: 127.0.0.1:0``), with httpx as the client."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
import pytest

import pidflow
import pidflow.http
from http_apps import handlers
from pidflow.entries import Registry


@pytest.fixture
def serving(tmp_path: Path) -> Callable[..., Any]:
    """``async with serving(registry) as (node, client)``: the node runs, its one server listens, ``client`` is an
    httpx client with the server's URL as base."""
    handlers.reset()

    @asynccontextmanager
    async def serve(registry: Registry, **client_options: Any) -> AsyncIterator[tuple[pidflow.Node, httpx.AsyncClient]]:
        async with pidflow.open_node(registry, state_dir=tmp_path / "state") as node:
            async with httpx.AsyncClient(base_url=pidflow.http.server_url(node), timeout=30,
                                         **client_options) as client:
                yield node, client

    return serve
