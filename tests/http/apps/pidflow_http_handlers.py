"""Python handlers of the HTTP tests (``function.py`` entries name them as ``pidflow_http_handlers:NAME``).

State the tests look at lives in :data:`STATE`, reset per test by the ``serving`` fixture."""

from __future__ import annotations

from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import PlainTextResponse

import pidflow
from pidflow.http import current_exchange

STATE: dict[str, Any] = {}


def reset() -> None:
    STATE.clear()
    STATE["started"] = trio.Event()
    STATE["pids"] = []


async def hello(request: Request) -> Any:
    return {"name": request.path_params["name"], "request_id": pidflow.ctx.get("request_id"),
            "pid": str(pidflow.process.pid()), "query": request.query_params.get("q")}


def sync_hello(request: Request) -> Any:
    return {"sync": True}


async def echo_json(request: Request) -> Any:
    return {"got": await request.json()}


async def echo_body(request: Request) -> Any:
    return {"size": len(await request.body())}


async def fail(request: Request) -> Any:
    raise ValueError("secret internal detail")


async def nothing(request: Request) -> Any:
    return None


async def custom(request: Request) -> Any:
    return PlainTextResponse("teapot", status_code=418, headers={"X-Custom": "1"})


async def not_json(request: Request) -> Any:
    return {1, 2}


async def built(request: Request) -> Any:
    exchange = current_exchange()
    exchange.set_status(201)
    exchange.set_header("X-Built", "yes")
    exchange.write_json({"built": True, "id": exchange.path_params.get("id")})
    return "ignored: the handler built its response"


async def conflict(request: Request) -> Any:
    raise pidflow.Error("CONFLICT", "order 7 exists", details={"http_status": 409})


async def slow(request: Request) -> Any:
    """Signals that it runs, then takes a while: the test stops the server meanwhile."""
    STATE["pids"].append(pidflow.process.pid())
    STATE["started"].set()
    await trio.sleep(0.3)
    return {"slow": "done"}


async def forever(request: Request) -> Any:
    STATE["pids"].append(pidflow.process.pid())
    STATE["started"].set()
    try:
        await trio.sleep_forever()
    finally:
        STATE["ended"] = True


async def echo_n(request: Request) -> Any:
    await trio.sleep(0)
    return {"n": int(request.path_params["n"]), "request_id": pidflow.ctx.get("request_id")}


async def worker(job: dict[str, Any]) -> None:
    """A process the ``ask_worker`` handler spawns: answers with the double and the context it inherited."""
    await pidflow.process.send(job["reply_to"], "reply", {"double": job["n"] * 2,
                                                          "request_id": pidflow.ctx.get("request_id")})


async def ask_worker(request: Request) -> Any:
    n = (await request.json())["n"]
    child = await pidflow.process.spawn(worker, None, {"reply_to": pidflow.process.pid(), "n": n})
    message = await pidflow.process.inbox().receive()
    return {"reply": message.data, "from_child": message.sender == child, "handler": str(pidflow.process.pid())}
