"""Fixtures of the observer tests: ``examples/mixed_tree`` under ``pidflow run --observe`` (``observed_app``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from observed_app import RunningApp, start, stop
from pidflow.temporal_host._devserver import DevServer


@pytest.fixture(scope="module")
def mixed_tree(dev_server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One running app per test module (its workflow id is fixed: two at once would share the workflow)."""
    app = start(dev_server, tmp_path_factory.mktemp("mixed_tree_state"))
    try:
        yield app
        app.assert_running()  # whatever the tests did, the observer never stopped the node
    finally:
        stop(app, dev_server)
