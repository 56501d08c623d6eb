"""The HTTP server against real requests (pidflow/http/_server.py, _routes.py, _handlers.py): handlers as
processes, request ids, every bad input and its answer (the next request is always served), concurrency and the
graceful stop."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import trio

import pidflow
import pidflow.http
from http_apps import app, handlers, lua_endpoint, py_endpoint, router, server
from pidflow.errors import ErrorKind


async def test_a_python_handler_is_a_process_with_the_request_id_in_its_context(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("hello", "GET", "/hello/{name}", "hello"))) as (_, client):
        answer = await client.get("/api/hello/ada", params={"q": "x"}, headers={"X-Request-ID": "req-abc"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["name"] == "ada" and body["query"] == "x"
        assert body["request_id"] == "req-abc" == answer.headers["X-Request-ID"]
        pidflow.Pid.parse(body["pid"])  # a PID: the handler ran as a process


async def test_a_request_id_is_generated_when_absent_or_unusable(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("hello", "GET", "/hello/{name}", "hello"))) as (_, client):
        first = await client.get("/api/hello/a")
        second = await client.get("/api/hello/b")
        bad = await client.get("/api/hello/c", headers={"X-Request-ID": "has spaces; " + "x" * 300})
        ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"], bad.headers["X-Request-ID"]]
        assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
        assert [r.json()["request_id"] for r in (first, second, bad)] == ids


async def test_sync_handlers_none_and_own_responses(serving: Any) -> None:
    registry = app(server(), router(), py_endpoint("s", "GET", "/sync", "sync_hello"),
                   py_endpoint("n", "DELETE", "/nothing", "nothing"), py_endpoint("c", "GET", "/custom", "custom"),
                   py_endpoint("b", "PUT", "/built/{id}", "built"))
    async with serving(registry) as (_, client):
        assert (await client.get("/api/sync")).json() == {"sync": True}
        nothing = await client.delete("/api/nothing")
        assert nothing.status_code == 204 and nothing.content == b""
        custom = await client.get("/api/custom")
        assert (custom.status_code, custom.text, custom.headers["X-Custom"]) == (418, "teapot", "1")
        assert "X-Request-ID" in custom.headers
        built = await client.put("/api/built/7")
        assert (built.status_code, built.headers["X-Built"], built.json()) == (201, "yes", {"built": True, "id": "7"})


async def test_a_lua_function_handler_answers_json(serving: Any) -> None:
    async with serving(app(server(), router(), lua_endpoint("ok", "GET", "/ok", "lua_ok.lua"))) as (_, client):
        answer = await client.get("/api/ok")
        assert (answer.status_code, answer.json()) == (200, {"ok": True, "answer": 42})
        assert answer.headers["content-type"] == "application/json"


async def test_unknown_route_is_404_and_wrong_method_405_as_json(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("hello", "GET", "/hello/{name}", "hello"))) as (_, client):
        missing = await client.get("/api/nothing/here", headers={"X-Request-ID": "r404"})
        assert missing.status_code == 404
        assert missing.json() == {"error": "no route for GET /api/nothing/here", "request_id": "r404"}
        wrong = await client.post("/api/hello/ada")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "method POST is not allowed for /api/hello/ada"
        assert set(wrong.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
        assert (await client.get("/api/hello/ada")).status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
async def test_an_invalid_json_body_is_400_and_the_next_request_is_served(serving: Any, body: bytes) -> None:
    async with serving(app(server(), router(), py_endpoint("echo", "POST", "/echo", "echo_json"))) as (_, client):
        bad = await client.post("/api/echo", content=body, headers={"X-Request-ID": "r400"})
        assert bad.status_code == 400
        answer = bad.json()
        assert answer["kind"] == "INVALID" and answer["request_id"] == "r400"
        assert answer["error"].startswith("the request body is not JSON")
        good = await client.post("/api/echo", json={"a": [1, 2]})
        assert (good.status_code, good.json()) == (200, {"got": {"a": [1, 2]}})


async def test_an_error_with_http_status_sets_the_status(serving: Any) -> None:
    registry = app(server(), router(), py_endpoint("c", "POST", "/conflict", "conflict"),
                   lua_endpoint("s", "POST", "/status", "lua_status.lua"))
    async with serving(registry) as (_, client):
        conflict = await client.post("/api/conflict")
        assert conflict.status_code == 409
        assert conflict.json()["error"] == "order 7 exists" and conflict.json()["kind"] == "CONFLICT"
        status = await client.post("/api/status")
        assert status.status_code == 422
        assert status.json()["error"] == "quantity must be positive" and status.json()["kind"] == "INVALID"


async def test_a_body_over_the_limit_is_413_and_the_next_request_is_served(serving: Any) -> None:
    registry = app(server(), router(middleware=["body_limit"], options={"body_limit.max": 100}),
                   py_endpoint("size", "POST", "/size", "echo_body"))

    async def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 40  # no Content-Length: the limit is found while reading

    async with serving(registry) as (_, client):
        at_limit = await client.post("/api/size", content=b"x" * 100)
        assert (at_limit.status_code, at_limit.json()) == (200, {"size": 100})
        declared = await client.post("/api/size", content=b"x" * 101)
        assert declared.status_code == 413
        assert declared.json()["error"] == "the request body is over the limit of 100 bytes"
        streamed = await client.post("/api/size", content=chunks())
        assert streamed.status_code == 413
        assert (await client.post("/api/size", content=b"ok")).json() == {"size": 2}


# httpx leaves its body iterator unclosed when the server answers before it has sent the whole body
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_the_default_body_limit_applies_without_the_middleware(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("size", "POST", "/size", "echo_body"))) as (_, client):
        assert (await client.post("/api/size", content=b"x" * (10 * 1024 * 1024 + 1))).status_code == 413


async def test_a_lua_error_is_500_without_internals_and_logged_with_file_line(serving: Any,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="pidflow")
    registry = app(server(), router(), lua_endpoint("bug", "GET", "/bug", "lua_fail.lua", method="handler"),
                   lua_endpoint("ok", "GET", "/ok", "lua_ok.lua"))
    async with serving(registry) as (_, client):
        failed = await client.get("/api/bug", headers={"X-Request-ID": "r500"})
        assert failed.status_code == 500
        assert failed.json() == {"error": "internal server error", "request_id": "r500"}
        assert (await client.get("/api/ok")).status_code == 200
    crash = [r.getMessage() for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crash) == 1 and "entry app:bug_fn" in crash[0] and "lua_fail.lua:3:" in crash[0]
    tied = [r for r in caplog.records if getattr(r, "request_id", None) == "r500"]
    assert len(tied) == 1 and "-> 500" in tied[0].getMessage() and "app:bug_fn" in tied[0].getMessage()


async def test_a_python_exception_is_500_without_internals_and_logged_with_its_traceback(
        serving: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="pidflow")
    registry = app(server(), router(), py_endpoint("bug", "GET", "/bug", "fail"),
                   py_endpoint("bad", "GET", "/bad", "not_json"), py_endpoint("ok", "GET", "/ok", "sync_hello"))
    async with serving(registry) as (_, client):
        failed = await client.get("/api/bug")
        assert failed.status_code == 500 and "secret" not in failed.text
        assert failed.json() == {"error": "internal server error", "request_id": failed.headers["X-Request-ID"]}
        not_json = await client.get("/api/bad")
        assert not_json.status_code == 500 and not_json.json()["error"] == "internal server error"
        assert (await client.get("/api/ok")).status_code == 200
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError: secret internal detail" in text and "pidflow_http_handlers.py\", line" in text
    assert "returned a value that is not JSON" in text


async def test_a_handler_past_its_timeout_is_504_and_its_process_is_terminated(serving: Any) -> None:
    registry = app(server(), router(middleware=["timeout"], options={"timeout.duration": "200ms"}),
                   py_endpoint("stuck", "GET", "/stuck", "forever"),
                   lua_endpoint("slow", "GET", "/slow", "lua_slow.lua", modules=["time"]),
                   py_endpoint("ok", "GET", "/ok", "sync_hello"))
    async with serving(registry) as (node, client):
        async with trio.open_nursery() as nursery:
            answers: list[httpx.Response] = []

            async def ask() -> None:
                answers.append(await client.get("/api/stuck", headers={"X-Request-ID": "r504"}))

            nursery.start_soon(ask)
            await handlers.STATE["started"].wait()
            pid = handlers.STATE["pids"][0]
            await node.process.monitor(pid)
            exit_event = await node.process.events().receive()
        assert answers[0].status_code == 504
        assert answers[0].json() == {"error": "the handler did not answer within 0.2s", "request_id": "r504"}
        assert exit_event.from_ == pid and exit_event.result.error.kind is ErrorKind.TIMEOUT
        assert (await client.get("/api/slow")).status_code == 504  # a Lua handler in time.sleep too
        assert (await client.get("/api/ok")).status_code == 200


async def test_200_concurrent_requests_are_all_answered(serving: Any) -> None:
    registry = app(server(), router(), py_endpoint("n", "GET", "/n/{n}", "echo_n"),
                   lua_endpoint("ok", "GET", "/ok", "lua_ok.lua"))
    async with serving(registry) as (_, client):
        answers: dict[int, httpx.Response] = {}

        async def ask(n: int) -> None:
            path = f"/api/n/{n}" if n % 2 else "/api/ok"
            answers[n] = await client.get(path, headers={"X-Request-ID": f"req-{n}"})

        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(ask, n)
    assert sorted(answers) == list(range(200))
    assert all(a.status_code == 200 for a in answers.values())
    for n, answer in answers.items():
        expected = {"n": n, "request_id": f"req-{n}"} if n % 2 else {"ok": True, "answer": 42}
        assert answer.json() == expected and answer.headers["X-Request-ID"] == f"req-{n}"


async def test_a_handler_spawns_a_local_process_and_awaits_its_reply(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("ask", "POST", "/ask", "ask_worker"))) as (_, client):
        answer = await client.post("/api/ask", json={"n": 21}, headers={"X-Request-ID": "r-ask"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["reply"] == {"double": 42, "request_id": "r-ask"}  # the child inherited the context
        assert body["from_child"] is True


async def test_a_lua_handler_is_a_process_that_spawns_with_context(serving: Any) -> None:
    registry = app(server(), router(),
                   lua_endpoint("spawns", "GET", "/spawns", "lua_spawn.lua", method="handler", modules=["ctx"]),
                   {"name": "echo_child", "kind": "process.lua", "source": "file://lua_spawn.lua",
                    "method": "echo_child", "modules": ["ctx"]})
    async with serving(registry) as (_, client):
        first = await client.get("/api/spawns", headers={"X-Request-ID": "r-lua-1"})
        second = await client.get("/api/spawns", headers={"X-Request-ID": "r-lua-2"})
    for answer, rid in ((first, "r-lua-1"), (second, "r-lua-2")):
        assert answer.status_code == 200
        body = answer.json()
        assert body["request_id"] == rid and body["child"] == {"request_id": rid, "extra": "yes"}
    assert pidflow.Pid.parse(first.json()["pid"]) != pidflow.Pid.parse(second.json()["pid"])


async def test_graceful_stop_lets_an_in_flight_request_finish_then_refuses(tmp_path: Any) -> None:
    handlers.reset()
    registry = app(server(), router(), py_endpoint("slow", "GET", "/slow", "slow"))
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with trio.open_nursery() as nursery:
            async with pidflow.open_node(registry, state_dir=tmp_path) as node:
                url = pidflow.http.server_url(node)

                async def ask() -> None:
                    answers.append(await client.get(url + "/api/slow"))

                nursery.start_soon(ask)
                await handlers.STATE["started"].wait()
            # the node stopped (server first): the request in flight got its answer
            assert [(a.status_code, a.json()) for a in answers] == [(200, {"slow": "done"})]
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/api/slow")


async def test_a_stop_does_not_wait_past_stop_timeout_for_a_stuck_handler(tmp_path: Any) -> None:
    handlers.reset()
    registry = app(server(lifecycle={"auto_start": True, "stop_timeout": "300ms"}), router(),
                   py_endpoint("stuck", "GET", "/stuck", "forever"))
    outcome: list[Any] = []
    async with httpx.AsyncClient(timeout=30) as client:
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                async with pidflow.open_node(registry, state_dir=tmp_path) as node:
                    url = pidflow.http.server_url(node)

                    async def ask() -> None:
                        try:
                            outcome.append(await client.get(url + "/api/stuck"))
                        except httpx.HTTPError as exc:
                            outcome.append(exc)

                    nursery.start_soon(ask)
                    await handlers.STATE["started"].wait()
    assert handlers.STATE.get("ended") is True  # the handler process was ended with its request
    assert isinstance(outcome[0], httpx.HTTPError)  # the connection was closed without an answer
