"""Routing and middleware of a server (pidflow/http/_routes.py, _middleware.py): specific routes first, nested
prefixes, CORS preflights and headers, ``asgi_app`` mounted in a user's Starlette app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import pidflow
import pidflow.http
from http_apps import app, lua_endpoint, py_endpoint, router, server
from pidflow.errors import Error, ErrorKind

CORS = {"middleware": ["cors"],
        "options": {"cors.allow.origins": "https://app.example.com,https://*.trusted.org",
                    "cors.allow.methods": "GET,POST", "cors.expose.headers": "X-Request-ID", "cors.max.age": 600}}


async def test_a_literal_segment_wins_over_a_parameter_whatever_the_order(serving: Any) -> None:
    registry = app(server(), router(), py_endpoint("by_id", "GET", "/orders/{name}", "hello"),
                   py_endpoint("new", "GET", "/orders/new", "sync_hello"),
                   py_endpoint("rest", "GET", "/files/{name...}", "hello"))
    async with serving(registry) as (_, client):
        assert (await client.get("/api/orders/new")).json() == {"sync": True}
        assert (await client.get("/api/orders/7")).json()["name"] == "7"
        assert (await client.get("/api/files/a/b/c.txt")).json()["name"] == "a/b/c.txt"


async def test_routers_with_nested_prefixes_and_an_endpoint_at_the_prefix(serving: Any) -> None:
    registry = app(server(), router(), router("public", "/api/public"),
                   py_endpoint("root", "GET", "/", "sync_hello"),
                   py_endpoint("hello", "GET", "/hello/{name}", "hello", router="public"),
                   lua_endpoint("ok", "GET", "/ok", "lua_ok.lua"))
    async with serving(registry) as (_, client):
        assert (await client.get("/api")).json() == {"sync": True}
        assert (await client.get("/api/public/hello/x")).json()["name"] == "x"
        assert (await client.get("/api/ok")).json()["ok"] is True


async def test_a_cors_preflight_is_answered_before_routing(serving: Any) -> None:
    registry = app(server(), router(**CORS), py_endpoint("echo", "POST", "/echo", "echo_json"))
    async with serving(registry) as (_, client):
        preflight = await client.options("/api/echo", headers={"Origin": "https://app.example.com",
                                                               "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST"
        assert preflight.headers["Access-Control-Max-Age"] == "600"
        pattern = await client.options("/api/echo", headers={"Origin": "https://a.trusted.org",
                                                             "Access-Control-Request-Method": "POST"})
        assert pattern.headers["Access-Control-Allow-Origin"] == "https://a.trusted.org"
        rejected = await client.options("/api/echo", headers={"Origin": "https://evil.example",
                                                              "Access-Control-Request-Method": "POST"})
        assert rejected.status_code == 400 and "Access-Control-Allow-Origin" not in rejected.headers
        actual = await client.post("/api/echo", json={"a": 1}, headers={"Origin": "https://app.example.com"})
        assert actual.json() == {"got": {"a": 1}}
        assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert actual.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
        # an OPTIONS that is no preflight, and other methods on unknown paths, are not the CORS route's
        assert (await client.options("/api/echo")).status_code == 404
        assert (await client.get("/api/unknown")).status_code == 404


async def test_a_router_without_cors_sends_no_cors_headers(serving: Any) -> None:
    async with serving(app(server(), router(), py_endpoint("echo", "POST", "/echo", "echo_json"))) as (_, client):
        preflight = await client.options("/api/echo", headers={"Origin": "https://app.example.com",
                                                               "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 405 and "Access-Control-Allow-Origin" not in preflight.headers


async def test_asgi_app_mounts_in_a_users_starlette_app(tmp_path: Any) -> None:
    async def own(request: Request) -> PlainTextResponse:
        return PlainTextResponse("mine")

    # the server is declared but not started: its routes are mounted in the user's app only
    registry = app(server(lifecycle={"auto_start": False}), router(),
                   py_endpoint("hello", "GET", "/hello/{name}", "hello"),
                   lua_endpoint("ok", "GET", "/ok", "lua_ok.lua"))
    async with pidflow.open_node(registry, state_dir=tmp_path) as node:
        assert "app:gw" not in node.services
        user_app = Starlette(routes=[Route("/own", own), Mount("/pf", app=pidflow.http.asgi_app(node))])
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(lambda task_status: serve(user_app, config, shutdown_trigger=stop.wait,
                                                                 task_status=task_status))
            async with httpx.AsyncClient(base_url=urls[0]) as client:
                assert (await client.get("/own")).text == "mine"
                hello = await client.get("/pf/api/hello/ada", headers={"X-Request-ID": "r-mounted"})
                assert hello.json()["name"] == "ada" and hello.json()["request_id"] == "r-mounted"
                assert hello.headers["X-Request-ID"] == "r-mounted"
                assert (await client.get("/pf/api/ok")).json()["answer"] == 42
                missing = await client.get("/pf/api/none")
                assert missing.status_code == 404 and "request_id" in missing.json()
            stop.set()


async def test_asgi_app_names_the_server_when_there_are_several(tmp_path: Any) -> None:
    registry = app(server(lifecycle={}), {**server(lifecycle={}), "name": "admin"})
    async with pidflow.open_node(registry, state_dir=tmp_path) as node:
        with pytest.raises(Error, match=r"the app has 2 http.service entries \(app:gw, app:admin\): name one"):
            pidflow.http.asgi_app(node)
        with pytest.raises(Error, match="no http.service 'app:nope'") as caught:
            pidflow.http.asgi_app(node, "app:nope")
        assert caught.value.kind is ErrorKind.NOT_FOUND
        assert pidflow.http.asgi_app(node, "app:admin") is pidflow.http.asgi_app(node, "app:admin")
