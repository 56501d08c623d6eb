"""The benchmark HTTP client: keep-alive HTTP/1.1 connections that each send their next request as soon as the
answer to the previous one arrived, built on h11 (the HTTP/1.1 state machine hypercorn itself uses) over trio
sockets. It costs ~110 µs of CPU per request where an httpx ``AsyncClient`` costs ~480 µs, so on a 2-core machine
the client does not become what limits the server's rate. Also: a process's CPU time, for the server's share.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any, Callable

import attrs
import h11
import trio


@attrs.define
class Endpoint:
    """What to ask and what status to expect; ``body(n)``: the body of the n-th request (None: no body)."""

    name: str
    method: str
    path: str
    status: int
    body: Callable[[int], bytes | None] = lambda n: None


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def request(stream: trio.SocketStream, conn: h11.Connection, endpoint: Endpoint, n: int) -> tuple[int, bytes]:
    body = endpoint.body(n)
    headers = [("Host", "bench")]
    if body is not None:
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    data = conn.send(h11.Request(method=endpoint.method, target=endpoint.path, headers=headers))
    if body is not None:
        data += conn.send(h11.Data(data=body))
    data += conn.send(h11.EndOfMessage())
    await stream.send_all(data)
    status, chunks = 0, []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            chunks.append(event.data)
        elif isinstance(event, h11.EndOfMessage):
            conn.start_next_cycle()
            return status, b"".join(chunks)
        elif isinstance(event, h11.ConnectionClosed):
            raise RuntimeError(f"{endpoint.name}: the server closed the connection")


async def load(host: str, port: int, endpoint: Endpoint, count: int, concurrency: int,
               latencies: list[float] | None) -> None:
    """``count`` requests over ``concurrency`` keep-alive connections; every answer must have the expected
    status."""
    counter = iter(range(count))

    async def connection() -> None:
        stream = await trio.open_tcp_stream(host, port)
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = h11.Connection(h11.CLIENT)
        async with stream:
            for n in counter:
                start = time.perf_counter()
                status, body = await request(stream, conn, endpoint, n)
                if latencies is not None:
                    latencies.append(time.perf_counter() - start)
                if status != endpoint.status:
                    raise RuntimeError(f"{endpoint.name}: {endpoint.method} {endpoint.path} answered {status}: "
                                       f"{body[:300]!r}")

    async with trio.open_nursery() as nursery:
        for _ in range(min(concurrency, count)):
            nursery.start_soon(connection)


async def get_json(host: str, port: int, path: str) -> Any:
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        status, body = await request(stream, h11.Connection(h11.CLIENT), Endpoint("get", "GET", path, 200), 0)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    return json.loads(body)
