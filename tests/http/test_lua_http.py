"""The Lua ``http`` module (pidflow/http/_lua_module.py) against a running server: every request accessor, both
response forms (``res:set_status``/``write_json`` and the chained ``http.response():status(n):json{...}``), the
constants, bad arguments, and UNAVAILABLE outside a handler. The handlers are ``function.lua`` entries of an app
written per test; the client is httpx on the server's free port."""

from __future__ import annotations

import json
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
import yaml

import pidflow
import pidflow.http
from pidflow.cli import check
from pidflow.errors import ErrorKind

HANDLERS = r"""
local http = require("http")
local json = require("json")

-- every accessor of the request, as JSON (set_status / write_json form)
local function echo()
    local req = http.request()
    local res = http.response()
    local qp = req:query_params()
    res:set_status(http.STATUS.OK)
    return res:write_json({
        method = req:method(), path = req:path(), param = req:param("id"), missing_param = req:param("nope"),
        params = req:params(), query = req:query("tags"), missing_query = req:query("nope"), query_params = qp,
        header = req:header("X-Custom"), header_lower = req:header("x-custom"), missing_header = req:header("X-No"),
        content_type = req:content_type(), content_length = req:content_length(), host = req:host(),
        remote_addr = req:remote_addr(), body = req:body(), has_body = req:has_body(),
        accepts_json = req:accepts("application/json"), accepts_xml = req:accepts("application/xml"),
        is_json = req:is_content_type("application/json"), text = tostring(req),
    })
end

-- body_json: the decoded body, or the error's kind, message and details as data
local function body_json()
    local data, err = http.request():body_json()
    if err then
        return http.response():status(200):json({kind = err:kind(), message = err:message(),
                                                 details = err:details()})
    end
    return http.response():json({data = data, type = type(data)})
end

-- body_json's error raised: the server answers with its http_status (400)
local function strict_json()
    local data, err = http.request():body_json()
    if err then error(err) end
    return http.response():status(201):json(data)
end

-- the spec's own line: json.decode(req:body())
local function decode_body()
    local req = http.request()
    local order = json.decode(req:body())
    return http.response():status(202):json({id = order.id})
end

local function set_form()
    local res = http.response()
    local results = {
        res:set_status(201), res:set_header("X-One", "1"), res:set_header("X-Num", 42),
        res:set_content_type("text/csv"), res:write("a,b\n"), res:write(1), res:write("\n"), res:flush(),
    }
    assert(next(results) == nil, "every set_ call answers nil on success")
end

local function chained()
    return http.response():status(http.STATUS.CONFLICT):header("X-Chained", "yes"):json({error = "taken"})
end

local function chained_text()
    return http.response():status(418):text("short and stout")
end

local function json_then_type()
    local res = http.response()
    res:write_json({1, 2, 3})
    res:set_content_type("application/vnd.test+json")
end

local function constants()
    return {
        ok = http.STATUS.OK, accepted = http.STATUS.ACCEPTED, conflict = http.STATUS.CONFLICT,
        ise = http.STATUS.INTERNAL_SERVER_ERROR, internal = http.STATUS.INTERNAL_ERROR,
        unprocessable = http.STATUS.UNPROCESSABLE, gateway_timeout = http.STATUS.GATEWAY_TIMEOUT,
        post = http.METHOD.POST, options = http.METHOD.OPTIONS, json = http.CONTENT.JSON,
        form = http.CONTENT.FORM, text = http.CONTENT.TEXT, stream = http.CONTENT.STREAM,
        sse = http.TRANSFER.SSE, chunked = http.TRANSFER.CHUNKED, parse_failed = http.ERROR.PARSE_FAILED,
        status_count = (function() local n = 0; for _ in pairs(http.STATUS) do n = n + 1 end; return n end)(),
    }
end

-- a Lua error raised by each bad call, or the err it returned
local function bad_input()
    local req, res = http.request(), http.response()
    local out = {}
    local function raised(name, f, ...)
        local ok, e = pcall(f, ...)
        out[name] = ok and "no error" or tostring(e)
    end
    raised("header_nil", req.header, req, nil)
    raised("header_table", req.header, req, {})
    raised("query_bool", req.query, req, true)
    raised("param_fn", req.param, req, print)
    raised("accepts_nil", req.accepts, req)
    raised("dot_call", req.method)
    raised("res_dot_call", res.write, "text")
    raised("set_status_string", res.set_status, res, "200")
    raised("set_status_float", res.set_status, res, 200.5)
    raised("set_header_value", res.set_header, res, "X-A", {})
    raised("set_content_type_nil", res.set_content_type, res, nil)
    raised("write_table", res.write, res, {})
    raised("status_string", res.status, res, "x")
    raised("status_out_of_range", res.status, res, 42)
    raised("json_function", res.json, res, {f = print})
    raised("request_number", http.request, 5)
    local err = res:set_status(42)
    out.set_status_42 = {kind = err:kind(), message = err:message()}
    err = res:set_header("Bad\nName", "v")
    out.set_header_newline = err:kind()
    err = res:write_json({f = print})
    out.write_json_function = err:kind()
    local r2, e2 = http.request({max_body = -1})
    out.max_body_negative = {r2 == nil, e2:kind()}
    local r3, e3 = http.request({timeout = "soon"})
    out.timeout_string = {r3 == nil, e3:kind()}
    local small = http.request({max_body = 4, timeout = 1000})
    local b, e4 = small:body()
    out.max_body_small = {b == nil, e4:kind(), e4:message()}
    local j, e5 = small:body_json()
    out.max_body_small_json = {j == nil, e5:kind()}
    out.big_enough = http.request({max_body = 1000}):body()
    -- nothing above touched the response but set_status(42) refused: the handler's return value is the answer
    return out
end

-- the chained form fails loudly: an uncaught error is the server's 500
local function chained_bad_status()
    return http.response():status(1000):json({})
end

-- http.request() from a coroutine of the handler: same process, same request
local function from_coroutine()
    local ch = channel.new(1)
    coroutine.spawn(function() ch:send(http.request():path()) end)
    return {path = ch:receive()}
end

-- the response object crosses back as the handler's value without harm, even untouched
local function untouched()
    local res = http.response()
    return {kind = type(res), text = tostring(res)}
end

-- a process the handler spawns has a context of its own: no request (a function it calls runs for it, and has it)
local function spawns_child()
    process.spawn("app:child", nil, process.pid())
    local msg = process.inbox():receive()
    local funcs = require("funcs")
    local called = funcs.call("app:called")
    return {child = msg:payload():data(), called = called}
end
local function child(parent)
    local req, err = http.request()
    process.send(parent, "seen", {req = req ~= nil, kind = err and err:kind()})
end
local function called()
    return http.request():path()
end

return {
    spawns_child = spawns_child, child = child, called = called,
    echo = echo, body_json = body_json, strict_json = strict_json, decode_body = decode_body,
    set_form = set_form, chained = chained, chained_text = chained_text, json_then_type = json_then_type,
    constants = constants, bad_input = bad_input, chained_bad_status = chained_bad_status,
    from_coroutine = from_coroutine, untouched = untouched,
}
"""

# An entry that is no HTTP handler: a local process and a function called by the node.
OUTSIDE = r"""
local http = require("http")
local function main()
    local req, err = http.request()
    local res, err2 = http.response()
    return {req = req == nil, kind = err:kind(), message = err:message(), res = res == nil, kind2 = err2:kind(),
            message2 = err2:message(), ok = http.STATUS.OK}
end
return {main = main}
"""

ENDPOINTS = [
    ("POST", "/echo/{id}", "echo"), ("GET", "/echo/{id}", "echo"), ("POST", "/body_json", "body_json"),
    ("POST", "/strict_json", "strict_json"), ("POST", "/decode_body", "decode_body"),
    ("GET", "/set_form", "set_form"), ("GET", "/chained", "chained"), ("GET", "/chained_text", "chained_text"),
    ("GET", "/json_then_type", "json_then_type"), ("GET", "/constants", "constants"),
    ("POST", "/bad_input", "bad_input"), ("GET", "/chained_bad_status", "chained_bad_status"),
    ("GET", "/deep/{a}/{b}", "from_coroutine"), ("GET", "/untouched", "untouched"),
    ("GET", "/spawns_child", "spawns_child"),
]


def write_app(folder: Path) -> Path:
    (folder / "handlers.lua").write_text(HANDLERS)
    (folder / "outside.lua").write_text(OUTSIDE)
    entries: list[dict[str, Any]] = [
        {"name": "gateway", "kind": "http.service", "addr": "127.0.0.1:0", "lifecycle": {"auto_start": True}},
        {"name": "api", "kind": "http.router", "meta": {"server": "app:gateway"}, "prefix": "/t"},
        {"name": "outside", "kind": "process.lua", "source": "file://outside.lua", "modules": ["http"]},
        {"name": "outside_fn", "kind": "function.lua", "source": "file://outside.lua", "modules": ["http"]},
        {"name": "child", "kind": "process.lua", "source": "file://handlers.lua", "method": "child",
         "modules": ["http", "json", "funcs"]},
        {"name": "called", "kind": "function.lua", "source": "file://handlers.lua", "method": "called",
         "modules": ["http", "json", "funcs"]},
    ]
    for method, path, fn in ENDPOINTS:
        entries.append({"name": f"h_{fn}", "kind": "function.lua", "source": "file://handlers.lua", "method": fn,
                        "modules": ["http", "json", "funcs"]})
        entries.append({"name": f"e_{method.lower()}_{fn}", "kind": "http.endpoint", "meta": {"router": "app:api"},
                        "method": method, "path": path, "func": f"app:h_{fn}"})
    seen, unique = set(), []
    for entry in entries:
        if entry["name"] not in seen:
            seen.add(entry["name"])
            unique.append(entry)
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump({"version": "1.0", "namespace": "app", "entries": unique}))
    return path


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = write_app(tmp_path)
    async with pidflow.open_node(app, state_dir=tmp_path / "state") as node:
        url = pidflow.http.server_url(node)
        async with httpx.AsyncClient(base_url=url + "/t", timeout=30) as client:
            yield node, client


async def test_every_request_accessor_reads_the_request(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        body = b'{"id": "A-1"}'
        r = await client.post("/echo/42?tags=a&tags=b&x=1", content=body,
                              headers={"X-Custom": "one", "Content-Type": "application/json",
                                       "Accept": "text/html, application/json;q=0.9"})
        assert r.status_code == 200, r.text
        got = r.json()
        port = client.base_url.port
        assert got == {
            "method": "POST", "path": "/t/echo/42", "param": "42", "params": {"id": "42"}, "query": "a",
            "query_params": {"tags": "a,b", "x": "1"}, "header": "one", "header_lower": "one",
            "content_type": "application/json", "content_length": len(body), "host": f"127.0.0.1:{port}",
            "remote_addr": got["remote_addr"], "body": body.decode(), "has_body": True, "accepts_json": True,
            "accepts_xml": False, "is_json": True, "text": "http.Request{method=POST, path=/t/echo/42}",
        }
        host, _, client_port = got["remote_addr"].rpartition(":")
        assert host == "127.0.0.1" and client_port.isdigit() and int(client_port) != port


async def test_a_request_without_body_or_query_has_empty_accessors(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/echo/x", headers={"X-Custom": "a"})
        got = r.json()
        assert got["method"] == "GET" and got["body"] == "" and got["has_body"] is False
        assert got["content_length"] == 0 and got["query_params"] == {} and got["is_json"] is False
        assert "query" not in got and "missing_query" not in got and "content_type" not in got
        assert "missing_param" not in got and "missing_header" not in got and got["accepts_json"] is True


async def test_a_repeated_header_is_joined_with_commas(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/echo/x", headers=[("X-Custom", "a"), ("X-Custom", "b")])
        assert r.json()["header"] == "a, b"


async def test_body_json_decodes_the_body(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.post("/body_json", json={"n": 1, "items": ["a"], "nested": {"ok": True}})
        assert r.json() == {"data": {"n": 1, "items": ["a"], "nested": {"ok": True}}, "type": "table"}
        r = await client.post("/body_json", content=b"7")
        assert r.json() == {"data": 7, "type": "number"}


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
async def test_body_json_on_a_bad_body_is_invalid_with_http_status_400(tmp_path: Path, body: bytes) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.post("/body_json", content=body)
        got = r.json()
        assert got["kind"] == "INVALID" and got["details"] == {"http_status": 400}
        assert got["message"].startswith("req:body_json(): invalid JSON")


async def test_a_raised_body_json_error_answers_400_and_the_next_request_is_served(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.post("/strict_json", content=b"{oops", headers={"X-Request-ID": "bad-json-1"})
        assert r.status_code == 400
        got = r.json()
        assert "invalid JSON" in got["error"] and got["request_id"] == "bad-json-1"
        r = await client.post("/strict_json", json={"fine": True})
        assert r.status_code == 201 and r.json() == {"fine": True}


async def test_json_decode_of_req_body_works_as_the_spec_writes_it(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.post("/decode_body", json={"id": "A-7"})
        assert r.status_code == 202 and r.json() == {"id": "A-7"}


async def test_the_set_form_builds_status_headers_type_and_body(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/set_form")
        assert r.status_code == 201, r.text
        assert r.headers["x-one"] == "1" and r.headers["x-num"] == "42"
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content == b"a,b\n1\n"


async def test_the_chained_form_returned_from_the_handler_is_the_answer(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/chained")
        assert r.status_code == 409 and r.headers["x-chained"] == "yes"
        assert r.headers["content-type"] == "application/json" and r.json() == {"error": "taken"}
        r = await client.get("/chained_text")
        assert r.status_code == 418 and r.text == "short and stout"
        assert r.headers["content-type"].startswith("text/plain")


async def test_write_json_sets_json_unless_a_content_type_is_set(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/json_then_type")
        assert r.status_code == 200 and r.json() == [1, 2, 3]
        assert r.headers["content-type"] == "application/vnd.test+json"


async def test_constants_are_the_seeds(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/constants")
        assert r.json() == {
            "ok": 200, "accepted": 202, "conflict": 409, "ise": 500, "internal": 500, "unprocessable": 422,
            "gateway_timeout": 504, "post": "POST", "options": "OPTIONS", "json": "application/json",
            "form": "application/x-www-form-urlencoded", "text": "text/plain",
            "stream": "application/octet-stream", "sse": "sse", "chunked": "chunked",
            "parse_failed": "PARSE_FAILED", "status_count": 29,
        }


async def test_bad_arguments_raise_naming_the_argument_or_return_invalid(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.post("/bad_input", content=b"0123456789")
        assert r.status_code == 200, r.text
        out = r.json()
        assert "bad argument #1 to 'header' (string expected, got nil)" in out["header_nil"]
        assert "bad argument #1 to 'header' (string expected, got table)" in out["header_table"]
        assert "bad argument #1 to 'query' (string expected, got boolean)" in out["query_bool"]
        assert "bad argument #1 to 'param' (string expected, got function)" in out["param_fn"]
        assert "bad argument #1 to 'accepts' (string expected, got nil)" in out["accepts_nil"]
        assert "bad self to 'method' (http.Request expected, got nil" in out["dot_call"]
        assert "bad self to 'write' (http.Response expected, got string" in out["res_dot_call"]
        assert "bad argument #1 to 'set_status' (integer expected, got string)" in out["set_status_string"]
        assert "bad argument #1 to 'set_status' (integer expected, got number)" in out["set_status_float"]
        assert "bad argument #2 to 'set_header' (string expected, got table)" in out["set_header_value"]
        assert "bad argument #1 to 'set_content_type' (string expected, got nil)" in out["set_content_type_nil"]
        assert "bad argument #1 to 'write' (string expected, got table)" in out["write_table"]
        assert "bad argument #1 to 'status' (integer expected, got string)" in out["status_string"]
        assert "status must be from 100 to 599, got 42" in out["status_out_of_range"]
        assert "cannot be converted" in out["json_function"]
        assert "bad argument #1 to 'request' (table expected, got number)" in out["request_number"]
        assert out["set_status_42"] == {"kind": "INVALID",
                                        "message": "res:set_status: status must be from 100 to 599, got 42"}
        assert out["set_header_newline"] == "INVALID" and out["write_json_function"] == "INVALID"
        assert out["max_body_negative"] == [True, "INVALID"] and out["timeout_string"] == [True, "INVALID"]
        assert out["max_body_small"] == [True, "INVALID", "req:body(): request body too large (10 bytes, "
                                                          "max_body 4)"]
        assert out["max_body_small_json"] == [True, "INVALID"]
        assert out["big_enough"] == "0123456789"


async def test_an_error_in_the_chained_form_is_a_500_and_the_server_goes_on(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/chained_bad_status")
        assert r.status_code == 500 and r.json()["error"] == "internal server error"
        r = await client.get("/chained")
        assert r.status_code == 409


async def test_a_coroutine_of_the_handler_reads_the_same_request(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/deep/x/y")
        assert r.status_code == 200 and r.json() == {"path": "/t/deep/x/y"}


async def test_a_process_the_handler_spawns_does_not_see_the_request(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/spawns_child")
        assert r.status_code == 200, r.text
        assert r.json() == {"child": {"req": False, "kind": "UNAVAILABLE"}, "called": "/t/spawns_child"}


async def test_an_untouched_response_object_crosses_harmlessly(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_, client):
        r = await client.get("/untouched")
        assert r.status_code == 200 and r.json() == {"kind": "table", "text": "http.Response"}


async def test_outside_a_handler_request_and_response_are_unavailable_naming_the_call(tmp_path: Path) -> None:
    async with serving(tmp_path) as (node, _):
        expected = {
            "req": True, "kind": "UNAVAILABLE", "res": True, "kind2": "UNAVAILABLE", "ok": 200,
            "message": "http.request() is only available in an HTTP handler (a function entry an http.endpoint "
                       "names)",
            "message2": "http.response() is only available in an HTTP handler (a function entry an "
                        "http.endpoint names)",
        }
        assert await node.process.exec("app:outside", None, None) == expected
        assert await node.call("app:outside_fn") == expected


def test_check_accepts_the_http_module(tmp_path: Path) -> None:
    write_app(tmp_path)
    assert check(str(tmp_path)) == []


def test_check_still_refuses_an_unknown_module(tmp_path: Path) -> None:
    (tmp_path / "h.lua").write_text("return {main = function() end}")
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""\
        version: "1.0"
        namespace: app
        entries:
          - {name: h, kind: function.lua, source: file://h.lua, modules: [http, https]}
        """))
    problems = check(str(tmp_path))
    assert len(problems) == 1 and "unknown module 'https'" in problems[0]


async def test_require_http_needs_the_module_listed(tmp_path: Path) -> None:
    (tmp_path / "p.lua").write_text('return {main = function() local ok, err = pcall(require, "http"); '
                                    'return {ok, err:kind()} end}')
    (tmp_path / "app.yaml").write_text(json.dumps({"version": "1.0", "namespace": "app", "entries": [
        {"name": "p", "kind": "process.lua", "source": "file://p.lua", "modules": ["json"]}]}))
    async with pidflow.open_node(tmp_path / "app.yaml", state_dir=tmp_path / "state") as node:
        assert await node.process.exec("app:p", None, None) == [False, ErrorKind.PERMISSION_DENIED.value]
