"""Fixtures for tests that need a real Temporal server.

One dev server per test session (starting one takes well under a second, but a session-wide one keeps the suite
fast and mirrors temporalio's own test suite); every test gets its own task queue so that workers and workflows
of different tests never meet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from pidflow.temporal_host._aio import AsyncioThread, open_asyncio_thread
from pidflow.temporal_host._devserver import DevServer

@pytest.fixture
async def aio() -> AsyncIterator[AsyncioThread]:
    async with open_asyncio_thread() as thread:
        yield thread


@pytest.fixture
async def client(aio: AsyncioThread, dev_server: DevServer) -> Client:
    """A client created on (and only usable from) the ``aio`` loop: call it through ``aio.run``."""
    return await aio.run(Client.connect, dev_server.address)
