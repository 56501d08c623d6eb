"""Session-wide fixtures: one real Temporal dev server per test session (started on first use, on free ports,
stopped at the end), and a fresh task queue per test so that tests never see each other's workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pidflow.temporal_host._devserver import DevServer
from pidflow.temporal_host._service import DEFAULT_SEARCH_ATTRIBUTES, DEV_DYNAMIC_CONFIG

SEARCH_ATTRIBUTES = {**DEFAULT_SEARCH_ATTRIBUTES, "PidflowEntry": "Keyword", "PidflowHost": "Keyword"}


@pytest.fixture(scope="session")
def dev_server() -> Iterator[DevServer]:
    server = DevServer(search_attributes=SEARCH_ATTRIBUTES, dynamic_config=DEV_DYNAMIC_CONFIG)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def task_queue(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def temporal_address(dev_server: DevServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point nodes opened in this test at the session's dev server (``temporal.client`` without address)."""
    monkeypatch.setenv("PIDFLOW_TEMPORAL_ADDRESS", dev_server.address)
    return dev_server.address
