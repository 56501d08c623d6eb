"""The embedded dev server: finding the CLI, starting, readiness, failure reporting, stopping."""

from __future__ import annotations

import asyncio
import os

import pytest
import temporalio.api.operatorservice.v1 as osv1
import temporalio.api.workflowservice.v1 as wsv1
from temporalio.client import Client

from pidflow import Error, ErrorKind
from pidflow.temporal_host._devserver import DevServer, find_temporal_binary


def test_find_temporal_binary_returns_an_executable() -> None:
    path = find_temporal_binary()
    assert path.name == "temporal" and os.access(path, os.X_OK)


def test_session_server_registers_search_attributes(dev_server: DevServer) -> None:
    async def listed() -> dict[str, int]:
        client = await Client.connect(dev_server.address)
        resp = await client.operator_service.list_search_attributes(
            osv1.ListSearchAttributesRequest(namespace="default")
        )
        return dict(resp.custom_attributes)

    custom = asyncio.run(listed())
    assert {"PidflowEntry", "PidflowHost"} <= set(custom)


def test_start_serves_extra_namespaces_and_stop_ends_the_process(tmp_path) -> None:
    server = DevServer(namespaces=["orders"], db_filename=tmp_path / "state.db")
    address = server.start()
    try:
        proc_pid = server.pid
        assert server.running and address == server.address

        async def describe() -> str:
            client = await Client.connect(address, namespace="orders")
            resp = await client.workflow_service.describe_namespace(wsv1.DescribeNamespaceRequest(namespace="orders"))
            return resp.namespace_info.name

        assert asyncio.run(describe()) == "orders"
        assert (tmp_path / "state.db").exists()
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(proc_pid, 0)
    server.stop()  # idempotent


def test_async_context_manager_starts_and_stops() -> None:
    async def main() -> bool:
        async with DevServer() as server:
            await Client.connect(server.address)
            proc = server._proc
        return proc.poll() is not None

    assert asyncio.run(main())


def test_invalid_search_attribute_is_rejected_before_starting() -> None:
    with pytest.raises(Error, match="search attribute 'Bad' has type 'Str'") as info:
        DevServer(search_attributes={"Bad": "Str", "1x": "Int"})
    assert info.value.kind is ErrorKind.INVALID
    assert "'1x' is not an identifier" in str(info.value)


def test_server_that_dies_during_startup_reports_its_log(tmp_path) -> None:
    server = DevServer(db_filename=tmp_path / "missing-dir" / "state.db", startup_timeout=20)
    with pytest.raises(Error, match="exited with code") as info:
        server.start()
    assert info.value.kind is ErrorKind.UNAVAILABLE
    assert "log tail:" in str(info.value)
    assert not server.running


def test_start_inside_a_running_asyncio_loop_is_refused() -> None:
    async def main() -> None:
        DevServer().start()

    with pytest.raises(Error, match="inside asyncio use 'async with DevServer"):
        asyncio.run(main())
