"""``pidflow.aio.open_node``: a pidflow node inside an asyncio program, run as a trio guest on its loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import outcome
import trio

from .. import node as node_mod
from ..errors import Error, ErrorKind
from ._guest import start_guest
from ._portal import Portal
from ._process import AioProcess

if TYPE_CHECKING:
    from .._kind import KindRegistry
    from ..entries import Registry

T = TypeVar("T")

_running: set[int] = set()  # threads with a node running as a guest (one each: a thread has one trio run)


class AioNode:
    """A running node as asyncio code sees it: ``process`` is the root process's API with awaitables of this
    loop; ``node`` the :class:`pidflow.Node` itself, whose synchronous reads (``processes()``, ``tree()``,
    ``registry``, ``name``) can be used directly; :meth:`run` awaits any trio function inside the node."""

    def __init__(self, node: node_mod.Node, portal: Portal, fast: bool) -> None:
        self.node = node
        self.process = AioProcess(node.process, portal)
        self._portal = portal
        #: True when trio's I/O wait is folded into this loop's selector (``pidflow.aio._guest``).
        self.fast_guest = fast

    @property
    def name(self) -> str:
        return self.node.name

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` as a trio task of the node (``pidflow.start_supervisor``, ``node.process_info``,
        anything written for trio), from asyncio; cancelling the caller cancels it."""
        return await self._portal.run(fn, *args)

    async def call(self, entry_id: str, *args: Any) -> Any:
        """Run a ``function.*`` entry (:meth:`pidflow.Node.call`)."""
        return await self._portal.run(self.node.call, entry_id, *args)


def _check_loop() -> asyncio.AbstractEventLoop:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise Error(ErrorKind.INVALID, "pidflow.aio.open_node runs in an asyncio program (asyncio.run); under trio "
                                       "use pidflow.open_node") from None
    if threading.get_ident() in _running:
        raise Error(ErrorKind.INVALID, "a pidflow node already runs on this thread's asyncio loop: one node per "
                                       "loop (share it, or run another loop in another thread)")
    return loop


@contextlib.asynccontextmanager
async def open_node(
    app: str | Path | Registry | None = None,
    *,
    name: str | None = None,
    state_dir: str | Path | None = None,
    kinds: KindRegistry | None = None,
    services: bool = True,
    node_down_after: float | None = None,
) -> AsyncIterator[AioNode]:
    """:func:`pidflow.open_node` for asyncio programs: the same arguments, the node started as a trio guest on
    the running loop, and an :class:`AioNode` to use from asyncio tasks. On exit the node stops as it does under
    trio (services, then hosts); an error of the node's start is raised here."""
    loop = _check_loop()
    ready: asyncio.Future[tuple[node_mod.Node, Portal]] = loop.create_future()
    done: asyncio.Future[outcome.Outcome[None]] = loop.create_future()
    stop = trio.Event()

    async def main() -> None:
        async with node_mod.open_node(app, name=name, state_dir=state_dir, kinds=kinds, services=services,
                                      node_down_after=node_down_after) as node:
            async with trio.open_nursery() as nursery:
                portal = Portal()
                await nursery.start(portal.serve)
                if not ready.done():
                    ready.set_result((node, portal))
                await stop.wait()
                nursery.cancel_scope.cancel()

    def finished(result: outcome.Outcome[None]) -> None:
        _running.discard(thread)
        if not done.done():
            done.set_result(result)
        if not ready.done():  # the start failed: the outcome says why
            ready.set_exception(_start_failure(result))

    thread = threading.get_ident()
    _running.add(thread)
    fast = start_guest(loop, main, finished)
    try:
        node, portal = await asyncio.shield(ready)
    except BaseException:
        if not ready.done():  # cancelled while starting: stop, then let the cancellation through
            stop.set()
            await _wait_done(done)
        raise
    try:
        yield AioNode(node, portal, fast)
    finally:
        stop.set()
        result = await _wait_done(done)
        result.unwrap()


async def _wait_done(done: asyncio.Future[outcome.Outcome[None]]) -> outcome.Outcome[None]:
    """The node's end, even if the caller is cancelled meanwhile (a node is never abandoned half stopped)."""
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(done)
            break
        except asyncio.CancelledError:
            cancelled = True
            if done.done():
                result = done.result()
                break
    if cancelled:
        raise asyncio.CancelledError()
    return result


def _start_failure(result: outcome.Outcome[None]) -> BaseException:
    if isinstance(result, outcome.Error):
        return result.error
    return Error(ErrorKind.INTERNAL, "the pidflow node ended before it started")
