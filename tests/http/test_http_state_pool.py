"""A ``function.lua`` handler runs on a pooled Lua state (lua_bindings/_state_pool.py): the state is reused
from one request to the next, and reset in between, so nothing one request did (globals, the ``http`` and
``json`` modules, the request and response metatables, its context) reaches the next; a handler that failed or
ran past its timeout leaves no state behind for the next request."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from http_apps import app, router, server
from pidflow.lua_bindings._state_pool import RESOURCE

pytestmark = pytest.mark.trio

HANDLER = r"""
local http = require("http")
local json = require("json")

-- ?poison=1 spoils everything it can reach; any request answers with what it sees
local function handler()
    local req = http.request()
    local seen = {
        global = leaked or "none",
        method = req:method(),
        encode = json.encode({1}),
        request_id = require("ctx").get("request_id"),
        header = req:header("X-Request-ID"),
    }
    local res = http.response():status(200):json(seen)
    if req:query("poison") then
        leaked = "from " .. seen.request_id
        json.encode = function() return "evil" end
        getmetatable(req).method = function() return "EVIL" end
        getmetatable(http.response()).json = function() error("evil json") end
        http.request = nil
        setmetatable(_G, {__index = function() return "evil" end})
    end
    if req:query("fail") then error("handler failed") end
    if req:query("sleep") then require("time").sleep("2s") end
    return res
end
return {handler = handler}
"""


def _app(tmp_path: Path) -> Any:
    (tmp_path / "pooled.lua").write_text(textwrap.dedent(HANDLER))
    return app(server(), router(middleware=["timeout"], options={"timeout.duration": "300ms"}),
               {"name": "h_fn", "kind": "function.lua", "source": f"file://{tmp_path / 'pooled.lua'}",
                "method": "handler", "modules": ["http", "json", "ctx", "time"], "pool": {"max_size": 1}},
               {"name": "h", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET", "path": "/h",
                "func": "h_fn"})


async def test_requests_reuse_one_state_and_see_nothing_of_each_other(serving: Any, tmp_path: Path) -> None:
    async with serving(_app(tmp_path)) as (node, client):
        first = await client.get("/api/h", params={"poison": "1"}, headers={"X-Request-ID": "req-1"})
        second = await client.get("/api/h", headers={"X-Request-ID": "req-2"})
        pool = node.resources[RESOURCE]["app:h_fn", True]
        assert pool.reused == 2 and pool.dropped == 0  # the second request ran on the first one's state
    assert first.status_code == 200
    assert first.json() == {"global": "none", "method": "GET", "encode": "[1]", "request_id": "req-1",
                            "header": "req-1"}
    assert second.status_code == 200
    assert second.json() == {"global": "none", "method": "GET", "encode": "[1]", "request_id": "req-2",
                             "header": "req-2"}


async def test_a_failed_or_timed_out_handler_leaves_no_state_for_the_next_request(serving: Any,
                                                                                  tmp_path: Path) -> None:
    async with serving(_app(tmp_path)) as (node, client):
        pool = node.resources[RESOURCE]["app:h_fn", True]
        failed = await client.get("/api/h", params={"poison": "1", "fail": "1"})
        assert failed.status_code == 500
        assert (pool.dropped, pool.live) == (1, 0)
        slow = await client.get("/api/h", params={"poison": "1", "sleep": "1"})
        assert slow.status_code == 504
        assert (pool.dropped, pool.live) == (2, 0)
        after = await client.get("/api/h", headers={"X-Request-ID": "req-3"})
        assert after.status_code == 200 and after.json()["global"] == "none"
        assert after.json()["encode"] == "[1]"
