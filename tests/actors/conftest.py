"""Fixtures for local-host tests: a node with only the built-in local host, on a virtual clock.

Every node test takes ``autojump_clock`` (pytest-trio hands any Clock fixture to ``trio.run``), so a test that
waits for something that never comes fails fast on a timeout instead of hanging, and deadlines are exact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio.testing

import pidflow


@pytest.fixture
async def node(autojump_clock: trio.testing.MockClock) -> AsyncIterator[pidflow.Node]:
    async with pidflow.open_node() as node:
        yield node
