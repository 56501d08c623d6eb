"""The ``cluster`` fixture: real ``pidflow run --node`` children (``cluster_nodes``) on the session's dev server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_nodes import APP, Cluster


@pytest.fixture
def cluster(temporal_address: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    sys.path.insert(0, str(APP))
    made = Cluster(temporal_address, tmp_path)
    try:
        yield made
    finally:
        sys.path.remove(str(APP))
        for node in made.nodes:
            node.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(made.logs())


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
