"""A FastAPI app with a pidflow node on its asyncio loop (``pidflow.aio``).

``POST /orders`` asks the local ``desk`` process for a quote (``process.call``) and starts the order's durable
workflow (``ship.lua``, on Temporal); the workflow tells ``desk`` when the order has shipped, and
``GET /orders/{id}`` asks ``desk`` what it knows. Run: ``.venv/bin/uvicorn --app-dir examples/fastapi_app main:app``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

import pidflow.aio
from pidflow import process

APP = Path(__file__).parent / "app.yaml"
PRICE_PER_ITEM = 5


async def desk(_input: object) -> None:
    """The local process: quotes orders and keeps what the workflows report."""
    shipped: dict[str, Any] = {}
    async for message in process.inbox():
        if message.topic == "quote":
            await process.reply(message, {"price": PRICE_PER_ITEM * len(message.data["items"])})
        elif message.topic == "shipped":
            shipped[message.data["id"]] = message.data
        elif message.topic == "status":
            await process.reply(message, {"id": message.data, "shipped": message.data in shipped})


class Order(BaseModel):
    id: str
    items: list[str]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with pidflow.aio.open_node(APP) as node:
        desk_pid = await node.process.spawn(desk)
        await node.process.register("desk", desk_pid)
        app.state.node = node
        app.state.desk = desk_pid
        yield


app = FastAPI(lifespan=lifespan)


def node_of(request: Request) -> pidflow.aio.AioNode:
    node: pidflow.aio.AioNode = request.app.state.node
    return node


@app.post("/orders")
async def place_order(order: Order, request: Request) -> dict[str, Any]:
    node = node_of(request)
    quote = await node.process.call("desk", "quote", order.model_dump(), timeout=5)
    # the workflow id is the order's: a second POST of a running order reaches the same workflow
    workflow = await node.process.with_name(f"order-{order.id}").spawn(
        "app:ship", "app:worker", {"id": order.id, "items": order.items, "notify": str(request.app.state.desk)})
    return {"id": order.id, "price": quote["price"], "workflow": str(workflow)}


@app.get("/orders/{order_id}")
async def get_order(order_id: str, request: Request) -> dict[str, Any]:
    status: dict[str, Any] = await node_of(request).process.call("desk", "status", order_id, timeout=5)
    return status
