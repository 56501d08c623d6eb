"""The HTTP entry kinds at load (pidflow/http/_kinds.py, _routes.py, _middleware.py, _server.py): every bad
entry fails with its entry id and the key at fault, all problems at once; a good app loads."""

from __future__ import annotations

from typing import Any

import pytest

import pidflow
from http_apps import app, lua_endpoint, py_endpoint, router, server
from pidflow.entries import Entry
from pidflow.errors import Error, ErrorKind
from pidflow.http._routes import parse_template
from pidflow.http._server import service_config


def load_error(*specs: Any) -> str:
    with pytest.raises(Error) as caught:
        app(*specs)
    assert caught.value.kind is ErrorKind.INVALID
    return caught.value.message


def test_a_good_app_loads() -> None:
    registry = app(server(timeouts={"read": "5s", "write": "30s", "idle": "60s"}),
                   router(middleware=["request_id", "cors", "body_limit", "timeout"],
                          options={"cors.allow.origins": "https://a.example.com", "body_limit.max": "1MB",
                                   "timeout.duration": "2s"}),
                   py_endpoint("hello", "get", "/hello/{name}", "hello"),
                   py_endpoint("files", "GET", "/files/{rest...}", "hello"),
                   {"name": "site", "kind": "http.static", "meta": {"server": "gw"}, "path": "/",
                    "directory": "static", "static_options": {"index": "index.html", "spa": True,
                                                               "cache": "public, max-age=60"}})
    assert {e.kind for e in registry} >= {"http.service", "http.router", "http.endpoint", "http.static"}


def test_an_endpoint_naming_an_unknown_router_fails_with_its_id() -> None:
    message = load_error(server(), router(), py_endpoint("hello", "GET", "/x", "hello", router="nope"))
    assert "entry app:hello: meta.router refers to unknown entry app:nope" in message


def test_a_router_naming_an_unknown_server_fails_with_its_id() -> None:
    message = load_error(server(), {"name": "api", "kind": "http.router", "meta": {"server": "elsewhere"}})
    assert "entry app:api: meta.server refers to unknown entry app:elsewhere" in message


def test_a_router_whose_server_is_not_an_http_service_fails() -> None:
    message = load_error(server(), py_endpoint("h", "GET", "/x", "hello")[0],
                         {"name": "api", "kind": "http.router", "meta": {"server": "h_fn"}})
    assert "entry app:api: meta.server refers to app:h_fn, a function.py, expected http.service" in message


def test_a_router_and_a_static_handler_need_meta_server() -> None:
    message = load_error({"name": "api", "kind": "http.router"},
                         {"name": "site", "kind": "http.static", "path": "/", "directory": "static"})
    assert "entry app:api: meta.server is required" in message
    assert "entry app:site: meta.server is required" in message


@pytest.mark.parametrize("second_path", ["/orders/{id}", "/orders/{order_id}"])
def test_a_duplicate_route_fails_naming_both_endpoints(second_path: str) -> None:
    message = load_error(server(), router(), router("v1", prefix="/"),
                         py_endpoint("first", "POST", "/orders/{id}", "hello"),
                         py_endpoint("second", "post", "/api" + second_path, "hello", router="v1"))
    assert ("entry app:second: duplicate route: POST /api" + second_path + " on server app:gw is endpoint "
            "app:first's already") in message
    assert "entry app:first:" not in message


def test_the_same_path_with_another_method_or_on_another_server_is_no_duplicate() -> None:
    app(server(), {**server(), "name": "admin"}, router(), {**router("adm"), "meta": {"server": "admin"}},
        py_endpoint("a", "GET", "/orders", "hello"), py_endpoint("b", "POST", "/orders", "hello"),
        py_endpoint("c", "GET", "/orders", "hello", router="adm"))


@pytest.mark.parametrize(("path", "why"), [
    ("orders", "must be a string starting with '/'"),
    ("/orders/{id", "bad segment '{id'"),
    ("/orders/{id}x", "bad segment '{id}x'"),
    ("/a/{x}/{x}", "parameter 'x' appears twice"),
    ("/files/{rest...}/meta", "{rest...} must be the last segment"),
    ("/a/{1x}", "bad segment '{1x}'"),
    ("/a b", "may not contain spaces"),
    ("/a?b=1", "may not contain spaces, '?' or '#'"),
    (42, "must be a string starting with '/'"),
])
def test_a_bad_path_template_fails_at_load(path: Any, why: str) -> None:
    message = load_error(server(), router(), py_endpoint("ep", "GET", path, "hello"))
    assert "entry app:ep: path" in message and why in message


def test_seed_path_templates_become_starlette_paths() -> None:
    assert parse_template("/users/{user_id}/posts/{post_id}") == ("/users/{user_id}/posts/{post_id}", (0, 1, 0, 1))
    assert parse_template("/files/{rest...}") == ("/files/{rest:path}", (0, 2))
    assert parse_template("/users/:id") == ("/users/{id}", (0, 1))


@pytest.mark.parametrize("addr", ["8080", "127.0.0.1:99999", "localhost:http", ":", "::1:80", "[::1:80",
                                  "[]:80", "a b:80", 8080, None])
def test_a_bad_address_fails_at_load(addr: Any) -> None:
    message = load_error(server(addr=addr))
    assert "entry app:gw: addr" in message


@pytest.mark.parametrize("addr", [":8080", "0.0.0.0:0", "[::1]:8080", "localhost:80"])
def test_good_addresses_load(addr: str) -> None:
    app(server(addr=addr))


def test_a_missing_address_fails() -> None:
    assert "entry app:gw: missing key 'addr'" in load_error({"name": "gw", "kind": "http.service"})


@pytest.mark.parametrize(("middleware", "options", "why"), [
    (["gzip"], {}, "unknown middleware 'gzip'"),
    (["compress"], {}, "middleware 'compress' of the seed runtime is not supported by pidflow"),
    (["cors", "cors"], {}, "middleware 'cors' is listed twice"),
    ("cors", {}, "middleware must be a list"),
    (["cors"], {"cors.allow.everything": "1"}, "unknown option 'cors.allow.everything'"),
    ([], {"cors.allow.origins": "*"}, "'cors.allow.origins' is an option of middleware 'cors', which middleware "
                                      "does not list"),
    (["cors"], {"cors.allow.credentials": "maybe"}, "options.cors.allow.credentials must be true or false"),
    (["cors"], {"cors.max.age": "1h"}, "options.cors.max.age must be a number of seconds"),
    (["body_limit"], {}, "needs body_limit.max"),
    (["body_limit"], {"body_limit.max": "lots"}, "options.body_limit.max must be a positive size"),
    (["body_limit"], {"body_limit.max": 0}, "options.body_limit.max must be a positive size"),
    (["timeout"], {"timeout.duration": "soon"}, "invalid options.timeout.duration 'soon'"),
    (["timeout"], {"timeout.duration": 0}, "options.timeout.duration must be a positive duration"),
    (["timeout"], {}, "needs timeout.duration"),
])
def test_bad_middleware_fails_at_load(middleware: Any, options: Any, why: str) -> None:
    message = load_error(server(), router(middleware=middleware, options=options))
    assert "entry app:api:" in message and why in message


def test_a_static_handler_may_not_list_endpoint_middleware() -> None:
    message = load_error(server(), {"name": "site", "kind": "http.static", "meta": {"server": "gw"}, "path": "/",
                                    "directory": "static", "middleware": ["timeout"],
                                    "options": {"timeout.duration": "1s"}})
    assert "entry app:site: middleware 'timeout' applies to endpoints: list it on a router" in message


def test_func_must_be_a_function_entry() -> None:
    message = load_error(server(), router(),
                         {"name": "worker", "kind": "process.lua", "source": "file://lua_ok.lua"},
                         {"name": "ep", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET",
                          "path": "/x", "func": "worker"},
                         {"name": "ep2", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET",
                          "path": "/y", "func": "missing"})
    assert "entry app:ep: func refers to app:worker, a process.lua, expected a function" in message
    assert "entry app:ep2: func refers to unknown entry app:missing" in message


def test_an_endpoint_reports_every_problem_at_once() -> None:
    message = load_error(server(), router(),
                         {"name": "ep", "kind": "http.endpoint", "method": "FETCH", "path": "nope", "func": 7})
    assert "app is invalid for" in message
    for why in ("meta.router is required", "method must be one of GET, POST", "path must be a string starting",
                "func must be the entry id of a function"):
        assert f"entry app:ep: {why}" in message


@pytest.mark.parametrize(("static", "why"), [
    ({"directory": "no_such_folder"}, "does not exist or is not a folder"),
    ({"static_options": {"spa": True}}, "static_options.spa needs static_options.index"),
    ({"static_options": {"index": "../secret"}}, "static_options.index must be a file name"),
    ({"static_options": {"gzip": True}}, "static_options: unknown key 'gzip'"),
    ({"path": "static"}, "path must be a path starting with '/'"),
    ({"path": "/{x}"}, "a prefix is a plain path"),
])
def test_a_bad_static_handler_fails_at_load(static: dict[str, Any], why: str) -> None:
    spec = {"name": "site", "kind": "http.static", "meta": {"server": "gw"}, "path": "/", "directory": "static",
            **static}
    message = load_error(server(), spec)
    assert "entry app:site:" in message and why in message


def test_two_static_handlers_at_one_path_fail() -> None:
    site = {"kind": "http.static", "meta": {"server": "gw"}, "path": "/assets/", "directory": "static"}
    message = load_error(server(), {"name": "a", **site}, {"name": "b", **site, "path": "/assets"})
    assert "entry app:b: path /assets on server app:gw is static handler app:a's already" in message


@pytest.mark.parametrize(("extra", "why"), [
    ({"timeouts": {"read": "fast"}}, "invalid timeouts.read 'fast'"),
    ({"timeouts": {"connect": "1s"}}, "timeouts: unknown key 'connect'"),
    ({"timeouts": "5s"}, "timeouts must be a mapping"),
    ({"lifecycle": {"auto_start": "yes"}}, "lifecycle.auto_start must be true or false"),
    ({"lifecycle": {"depends_on": ["app:db"]}}, "lifecycle.depends_on is not supported by pidflow"),
    ({"lifecycle": {"restart": {}}}, "lifecycle: unknown key 'restart'"),
    ({"tls": {"mode": "manual"}}, "unknown key 'tls' for kind http.service"),
])
def test_a_bad_server_fails_at_load(extra: dict[str, Any], why: str) -> None:
    message = load_error(server(**extra))
    assert "entry app:gw:" in message and why in message


def test_timeouts_map_to_the_servers_config() -> None:
    entry = Entry("app:gw", "http.service", server(timeouts={"read": "5s", "write": "30s", "idle": 0},
                                                   lifecycle={"auto_start": True, "stop_timeout": "2s"}))
    config = service_config(entry)
    assert (config.read_timeout, config.idle_timeout, config.stop_timeout) == (5.0, None, 2.0)
    assert service_config(Entry("app:gw", "http.service", {"addr": ":80"})).auto_start is False


async def test_a_broken_python_handler_fails_the_start_naming_its_entry(tmp_path: Any) -> None:
    registry = app(server(), router(),
                   [{"name": "bad_fn", "kind": "function.py", "source": "pidflow_http_handlers:no_such_handler"},
                    {"name": "bad", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET",
                     "path": "/bad", "func": "bad_fn"}])
    with pytest.raises(Error, match="entry app:bad_fn: cannot load pidflow_http_handlers:no_such_handler"):
        async with pidflow.open_node(registry, state_dir=tmp_path):
            pass


async def test_a_port_in_use_fails_the_start_naming_the_server(tmp_path: Any) -> None:
    async with pidflow.open_node(app(server()), state_dir=tmp_path / "a") as node:
        port = pidflow.http.running_server(node).port
        with pytest.raises(Error, match=f"http.service app:gw cannot listen on 127.0.0.1:{port}") as caught:
            async with pidflow.open_node(app(server(addr=f"127.0.0.1:{port}")), state_dir=tmp_path / "b"):
                pass
        assert caught.value.kind is ErrorKind.UNAVAILABLE


async def test_a_server_without_auto_start_is_not_started(tmp_path: Any) -> None:
    async with pidflow.open_node(app(server(lifecycle={})), state_dir=tmp_path) as node:
        assert "app:gw" not in node.services
        with pytest.raises(Error, match="http.service app:gw is not running") as caught:
            pidflow.http.server_url(node)
        assert caught.value.kind is ErrorKind.NOT_FOUND


def test_a_lua_handler_entry_loads_with_the_http_module() -> None:
    app(server(), router(), lua_endpoint("ok", "GET", "/ok", "lua_ok.lua", modules=["http", "json"]))
