"""The observer on a node in this process (pidflow/observer/_kinds.py, _service.py, _api.py): the ``observer``
entry kind, the address and token rules, the event stream's lifetime, errors that never reach the node, and the
metrics of HTTP servers."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

import pidflow
from observed_app import open_events, process_path
from pidflow.entries import from_dicts
from pidflow.errors import Error, ErrorKind
from pidflow.http._server import ServiceConfig, start_server
from pidflow.observer import metrics_registry, start_observer
from pidflow.observer._api import build_app
from pidflow.observer._service import Observer

TOKEN_VAR = "PIDFLOW_TEST_OBSERVER_TOKEN"


def _observer(**spec: Any) -> dict[str, Any]:
    return {"name": "observer", "kind": "observer", **spec}


async def _idle(_: Any = None) -> None:
    await trio.sleep_forever()


async def _crash(_: Any = None) -> None:
    raise RuntimeError("boom")


async def _until(predicate: Any) -> None:
    with trio.fail_after(30):
        while not predicate():
            await trio.sleep(0.01)


async def test_an_observer_entry_starts_with_the_node_and_every_request_needs_its_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, "s3cret")
    registry = from_dicts("app", [_observer(addr="127.0.0.1:0", token=f"env:{TOKEN_VAR}")])
    async with pidflow.open_node(registry, state_dir=tmp_path) as node:
        observer = node.services["app:observer"]
        assert isinstance(observer, Observer) and observer.pid is None
        async with httpx.AsyncClient(base_url=observer.url, timeout=30) as client:
            assert (await client.get("/api/processes")).status_code == 401
            assert (await client.get("/api/processes", headers={"Authorization": "Bearer wrong"})).status_code == 401
            page = (await client.get("/api/processes", headers={"Authorization": "Bearer s3cret"})).json()
            assert str(node.process.pid()) in [p["pid"] for p in page["processes"]]
        url = observer.url
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(httpx.ConnectError):  # stopped with the node
            await client.get(url + "/api/tree")


@pytest.mark.parametrize(("spec", "problem"), [
    ({"addr": "0.0.0.0:9900"}, "reachable from other machines: give a token"),
    ({"addr": ":9900"}, "reachable from other machines: give a token"),
    ({"addr": "not an address"}, "addr must be 'host:port'"),
    ({"addr": "127.0.0.1:99999"}, "the port must be a number from 0 to 65535"),
    ({"token": 7}, "token must be a non-empty string or env:NAME"),
    ({"token": "env:"}, "token must be a non-empty string or env:NAME"),
    ({"port": 9900}, "unknown key 'port'"),
])
def test_an_observer_entry_is_checked_at_load(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(Error, match=problem) as raised:
        from_dicts("app", [_observer(**spec)])
    assert raised.value.kind is ErrorKind.INVALID


def test_an_observer_entry_on_a_loopback_address_or_with_a_token_loads() -> None:
    for spec in ({}, {"addr": 9900}, {"addr": "localhost:9900"}, {"addr": "[::1]:9900"},
                 {"addr": "0.0.0.0:9900", "token": "env:X"}):
        from_dicts("app", [_observer(**spec)])


async def test_an_unset_token_variable_fails_the_start_naming_it(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_VAR, raising=False)
    registry = from_dicts("app", [_observer(token=f"env:{TOKEN_VAR}")])
    with pytest.raises(Error, match=f"the environment variable {TOKEN_VAR} is not set"):
        async with pidflow.open_node(registry, state_dir=tmp_path):
            pass


async def test_an_observer_bound_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        with pytest.raises(Error, match="needs a token") as raised:
            await start_observer(node, "0.0.0.0:0")
        assert raised.value.kind is ErrorKind.INVALID
        observer = await start_observer(node, "0.0.0.0:0", token="t")
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.get(f"http://127.0.0.1:{observer.port}/api/tree",
                                          headers={"Authorization": "Bearer t"})
            assert answer.json() == {"tree": []}
        finally:
            await observer.stop()


async def test_a_port_in_use_fails_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        async with pidflow.open_node(None, state_dir=tmp_path) as node:
            with pytest.raises(Error, match="the observer pidflow:observer cannot listen on") as raised:
                await start_observer(node, taken.getsockname()[1])
            assert raised.value.kind is ErrorKind.UNAVAILABLE


async def test_the_event_stream_tells_spawns_crashes_and_exits_and_ends_when_the_client_goes(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        observer = await start_observer(node)
        seen: list[tuple[str, Any]] = []
        async with open_events(observer.url) as stream:
            assert (await stream.next()) == (":", "subscribed")
            assert node.observer_counters()["observers"] == 1
            pid = await node.process.spawn(_crash)
            with trio.fail_after(30):
                while not any(event == "exit" for event, _ in seen):
                    item = await stream.next()
                    assert item is not None
                    seen.append(item)
        await _until(lambda: node.observer_counters()["observers"] == 0)  # unsubscribed when the client left
        await observer.stop()
    assert [event for event, data in seen if data["pid"] == str(pid)] == ["spawn", "crash", "exit"]
    crash, exit_ = (data for event, data in seen if event in ("crash", "exit"))
    assert crash["details"]["error"]["message"] == "RuntimeError: boom" and crash["entry"].endswith("_crash")
    assert (exit_["details"]["kind"], exit_["details"]["error"]["kind"]) == ("INTERNAL", "INTERNAL")


async def test_a_quiet_event_stream_gets_keep_alive_comments(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        app, streams = build_app(node, keepalive=0.01)
        server = await start_server(node, "test.observer", ServiceConfig(host="127.0.0.1", port=0), app, what="test")
        try:
            async with open_events(server.url) as stream:
                assert await stream.next() == (":", "subscribed")
                assert await stream.next() == (":", "keep-alive")
                assert await stream.next() == (":", "keep-alive")
        finally:
            streams.close()
            await server.stop()


async def test_stopping_the_observer_ends_its_open_event_streams(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        observer = await start_observer(node)
        async with open_events(observer.url) as stream:
            assert await stream.next() == (":", "subscribed")
            with trio.fail_after(30):
                await observer.stop()
                assert await stream.next() is None  # the server ended the stream and closed the connection
        assert node.observer_counters()["observers"] == 0


async def test_a_failing_handler_answers_500_and_the_next_request_is_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        observer = await start_observer(node)
        pid = await node.process.spawn(_idle)
        async with httpx.AsyncClient(base_url=observer.url, timeout=30) as client:
            def broken() -> None:
                raise RuntimeError("the tree is on fire")

            monkeypatch.setattr(node, "tree", broken)
            with caplog.at_level(logging.ERROR, logger="pidflow"):
                answer = await client.get("/api/tree")
            assert (answer.status_code, answer.json()) == (500, {"error": "internal server error",
                                                                 "kind": "INTERNAL"})
            assert "the tree is on fire" in caplog.text  # logged with its traceback, not sent to the client
            monkeypatch.undo()
            assert (await client.get("/api/tree")).status_code == 200
            assert (await client.get(process_path(str(pid)))).json()["status"] == "waiting"
        await observer.stop()


async def test_terminate_and_cancel_of_a_process_that_ended_are_404(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path) as node:
        observer = await start_observer(node)
        pid = str(await node.process.spawn(_idle))
        async with httpx.AsyncClient(base_url=observer.url, timeout=30) as client:
            assert (await client.post(process_path(pid, "terminate"))).json() == {"terminated": True}
            for action in ("terminate", "cancel", "send"):
                answer = await client.post(process_path(pid, action), json={"topic": "t"})
                assert (answer.status_code, answer.json()["kind"]) == (404, "NOT_FOUND"), action
            assert (await client.get(process_path(pid))).status_code == 404
        await observer.stop()


def _http_requests(text: str) -> dict[tuple[str, str, str], float]:
    family = next(f for f in text_string_to_metric_families(text) if f.name == "pidflow_http_requests")
    return {(s.labels["server"], s.labels["method"], s.labels["status"]): s.value for s in family.samples}


async def test_metrics_count_the_requests_of_the_nodes_http_servers(tmp_path: Path) -> None:
    apps = Path(__file__).resolve().parents[1] / "http" / "apps"
    registry = from_dicts("app", [
        {"name": "gw", "kind": "http.service", "addr": "127.0.0.1:0", "lifecycle": {"auto_start": True}},
        {"name": "api", "kind": "http.router", "meta": {"server": "gw"}, "prefix": "/api"},
        {"name": "ok_fn", "kind": "function.lua", "source": "file://lua_ok.lua"},
        {"name": "ok", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET", "path": "/ok",
         "func": "ok_fn"},
        _observer(),
    ], base=apps)
    async with pidflow.open_node(registry, state_dir=tmp_path) as node:
        observer = node.services["app:observer"]
        async with httpx.AsyncClient(timeout=30) as client:
            metrics = observer.url + "/metrics"
            assert _http_requests((await client.get(metrics)).text) == {}
            served = pidflow.http.server_url(node)
            assert [(await client.get(served + path)).status_code for path in ("/api/ok", "/api/ok", "/nope")] \
                == [200, 200, 404]
            assert _http_requests((await client.get(metrics)).text) == {
                ("app:gw", "GET", "200"): 2.0, ("app:gw", "GET", "404"): 1.0}


async def test_each_node_has_its_own_metrics_registry(tmp_path: Path) -> None:
    async with pidflow.open_node(None, state_dir=tmp_path / "a") as a, \
            pidflow.open_node(None, state_dir=tmp_path / "b") as b:
        assert metrics_registry(a) is metrics_registry(a)
        assert metrics_registry(a) is not metrics_registry(b)
        await a.process.spawn(_idle)

        def spawns(node: pidflow.Node) -> float | None:
            return metrics_registry(node).get_sample_value("pidflow_spawns_total")

        assert (spawns(a), spawns(b)) == (1.0, 0.0)
