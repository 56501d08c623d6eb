"""The way out to one other node: its operations, in order, batched into few standalone activities.

Design note. Every operation this node does on another node's processes (a message, an event for a watcher
there, a link, a spawn) is appended to that node's :class:`Outbox`; one sender task sends what accumulated as a
*batch*: one standalone activity on the other node's queue ``pidflow-node-<name>``, which only that node polls.
Batches are numbered within a *stream* (this node's incarnation -> that node's incarnation) and started in that
order without waiting for each other to finish (up to ``MAX_IN_FLIGHT``): the receiver applies them strictly in
sequence (``ClusterHost.apply`` holds a batch that overtook an earlier one until that one is applied), so
operations land in the order they were posted (the order per sender -> receiver pair that Erlang guarantees, and
more) while a hop costs one activity start, not a start plus a completion. What a node has for the sender of a
batch when it has applied it (a reply, typically) rides back on that batch's answer (:meth:`Outbox.take_piggyback`)
as the next batch of its own stream: a request and its reply cost one activity. While batches travel the next one
fills, so a burst costs few activities. The receiver remembers what it applied per stream: an activity Temporal
retries after the receiver applied it (a lost completion) is answered from that memory and never applied twice.

An operation is encoded when it is posted, so a payload that cannot cross fails the call that posted it
(INVALID), never a batch. Operations that answer (link, terminate, spawn ...) get a :class:`Reply` that the
batch's result fills, or that fails with ``noconnection`` when the node is declared down meanwhile.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import trio
from temporalio.common import RawValue, RetryPolicy

from .. import codec
from .._log import log as _log
from ..errors import Error, ErrorKind
from ._converter import payload

if TYPE_CHECKING:
    from ._cluster import ClusterHost

BATCH = "pidflow.node.batch"
#: A batch closes at this many operations or bytes (well under Temporal's 2 MiB payload limit).
MAX_BATCH_OPS = 2000
MAX_BATCH_BYTES = 512 * 1024
#: One operation may not exceed this (it must fit in a batch of its own).
MAX_OP_BYTES = MAX_BATCH_BYTES
#: Batches started and not yet answered, per node.
MAX_IN_FLIGHT = 32


class Reply:
    """The answer to one operation, filled when its batch returns."""

    __slots__ = ("_done", "value", "error")

    def __init__(self) -> None:
        self._done = trio.Event()
        self.value: Any = None
        self.error: Error | None = None

    def set(self, value: Any) -> None:
        if not self._done.is_set():
            if isinstance(value, Error):
                self.error = value
            else:
                self.value = value
            self._done.set()

    def fail(self, error: Error) -> None:
        if not self._done.is_set():
            self.error = error
            self._done.set()

    async def wait(self) -> Any:
        await self._done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class Outbox:
    """Operations for one other node, started as batches by one task, in order."""

    def __init__(self, cluster: "ClusterHost", node: str) -> None:
        self.cluster = cluster
        self.node = node
        self._ops: list[bytes] = []
        self._replies: list[Reply | None] = []
        self._wakeup = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._stream: tuple[str | None, str | None] = (None, None)
        self._seq = 0
        self._slots = trio.Semaphore(MAX_IN_FLIGHT)
        self._in_flight: dict[str, trio.CancelScope] = {}  # activity id -> the wait for its answer
        self.sent_batches = 0
        self.sent_ops = 0
        self.piggybacked = 0

    def post(self, op: list[Any], answer: bool = False) -> Reply | None:
        """Queue ``op`` (INVALID at once when it cannot be encoded or is too big); a :class:`Reply` if
        ``answer``."""
        data = codec.encode(op, what=f"{op[0]} to node {self.node}")
        if len(data) > MAX_OP_BYTES:
            raise Error(ErrorKind.INVALID, f"{op[0]} to node {self.node} is {len(data)} bytes; at most "
                                           f"{MAX_OP_BYTES} cross nodes in one operation",
                        details={"size": len(data), "limit": MAX_OP_BYTES})
        reply = Reply() if answer else None
        self._ops.append(data)
        self._replies.append(reply)
        if self._idle.is_set():
            self._idle = trio.Event()
        self._wakeup.set()
        return reply

    @property
    def pending(self) -> int:
        return len(self._ops)

    async def wait_idle(self) -> None:
        """Until everything posted so far was sent and answered (or dropped)."""
        await self._idle.wait()

    def _check_idle(self) -> None:
        if not self._ops and not self._in_flight:
            self._idle.set()

    def drop(self, error: Error) -> int:
        """The node is down: forget what waits, fail its replies, abandon the batches in flight (they must never
        land). Returns how many operations were dropped."""
        dropped = len(self._ops)
        replies, self._ops, self._replies = self._replies, [], []
        _fail(replies, error)
        for scope in self._in_flight.values():
            scope.cancel()
        self._check_idle()
        return dropped

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with trio.open_nursery() as answers:
            while True:
                await self._wakeup.wait()
                self._wakeup = trio.Event()
                while self._ops:
                    await self._slots.acquire()
                    count, size = 0, 0
                    for data in self._ops:
                        if count == MAX_BATCH_OPS or (count and size + len(data) > MAX_BATCH_BYTES):
                            break
                        count += 1
                        size += len(data)
                    ops, self._ops = self._ops[:count], self._ops[count:]
                    replies, self._replies = self._replies[:count], self._replies[count:]
                    try:
                        await self._start(answers, ops, replies)
                    except BaseException:
                        self._slots.release()
                        raise
                self._check_idle()

    async def _start(self, answers: trio.Nursery, ops: list[bytes], replies: list[Reply | None]) -> None:
        cluster = self.cluster
        await cluster.ready()
        view = await cluster.contact(self.node)
        if not view.up:
            _fail(replies, cluster.noconnection(self.node))
            self._slots.release()
            return
        header = self._next_header(view)
        activity_id = f"pidflow-batch:{cluster.node.name}>{self.node}:{view.incarnation}:{cluster.incarnation}:{self._seq}"
        raw = RawValue(payload(codec.join(ops)))
        client, timeouts = cluster.client, cluster.timeouts

        async def start() -> Any:
            return await client.start_activity(
                BATCH, args=[header, raw], id=activity_id, task_queue=cluster.queue_of(self.node),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=max(300.0, timeouts.down_after * 4)),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=20))

        scope = trio.CancelScope()
        self._in_flight[activity_id] = scope
        handle: Any = None
        with scope:
            try:
                handle = await cluster.aio.run(start)
            except Exception as exc:  # noqa: BLE001 - reported to the callers, never raised here
                self._lost(ops, replies, exc)
        if handle is None or scope.cancel_called:
            self._in_flight.pop(activity_id, None)
            if scope.cancel_called:
                self._abandoned(activity_id, replies)
            self._slots.release()
            self._check_idle()
            return
        self.sent_batches += 1
        self.sent_ops += len(ops)
        waiting = self._in_flight[activity_id] = trio.CancelScope()  # (a scope serves one `with` only)
        answers.start_soon(self._answer, activity_id, handle, header, replies, waiting)

    def _next_header(self, view: Any) -> dict[str, Any]:
        cluster = self.cluster
        stream = (cluster.incarnation, view.incarnation)
        if stream != self._stream:  # a new incarnation on either side: a new stream, numbered from 1
            self._stream, self._seq = stream, 0
        self._seq += 1
        return {"from": cluster.node.name, "inc": cluster.incarnation, "seq": self._seq, "to": self.node,
                "to_inc": view.incarnation}

    def take_piggyback(self) -> tuple[dict[str, Any], list[bytes]] | None:
        """The operations waiting for this node, as the next batch of the stream, to ride back on the answer to
        a batch that node sent here (a reply goes back in one hop instead of an activity of its own). Only
        posts ride (an operation that needs an answer, and what follows it, waits for the sender task)."""
        cluster = self.cluster
        view = cluster.known(self.node)
        if not self._ops or self._replies[0] is not None or not cluster.is_ready or view is None or not view.up:
            return None
        count, size = 0, 0
        for data, reply in zip(self._ops, self._replies):
            if reply is not None or count == MAX_BATCH_OPS or (count and size + len(data) > MAX_BATCH_BYTES):
                break
            count += 1
            size += len(data)
        ops, self._ops, self._replies = self._ops[:count], self._ops[count:], self._replies[count:]
        self.sent_batches += 1
        self.sent_ops += count
        self.piggybacked += 1
        self._check_idle()
        return self._next_header(view), ops

    async def _answer(self, activity_id: str, handle: Any, header: dict[str, Any], replies: list[Reply | None],
                      scope: trio.CancelScope) -> None:
        cluster = self.cluster
        answer: Any = None
        try:
            with scope:
                try:
                    answer = await cluster.aio.run(handle.result)
                except Exception as exc:  # noqa: BLE001
                    answer = exc
        finally:
            self._in_flight.pop(activity_id, None)
            self._slots.release()
        if scope.cancelled_caught:  # the node was declared down while the batch travelled: it must never land
            self._abandoned(activity_id, replies)
        elif isinstance(answer, Exception):
            self._lost([], replies, answer)
        elif answer.get("down") or answer.get("stale"):
            if answer.get("down"):  # that node declared this one down: find out for ourselves
                cluster.told_down(self.node, header["inc"])
            else:  # it is no longer the incarnation we sent to: it restarted
                cluster.stale(self.node, header["to_inc"])
            _fail(replies, cluster.noconnection(self.node))
        else:
            results = answer.get("results") or []
            for index, reply in enumerate(replies):
                if reply is not None:
                    reply.set(results[index] if index < len(results) else Error(
                        ErrorKind.UNAVAILABLE, f"the answer from node {self.node} was lost"))
            riding = answer.get("then")
            if riding is not None:  # that node's operations for this one, on the answer (``take_piggyback``)
                await cluster.apply(riding["header"], riding["ops"], rides=False)
        self._check_idle()

    def _abandoned(self, activity_id: str, replies: list[Reply | None]) -> None:
        self.cluster.abandon(activity_id)
        _fail(replies, self.cluster.noconnection(self.node))

    def _lost(self, ops: list[bytes], replies: list[Reply | None], exc: BaseException) -> None:
        error = exc if isinstance(exc, Error) else Error(
            ErrorKind.UNAVAILABLE, f"operations to node {self.node} failed: {exc}", details={"node": self.node})
        _log.error("operations to node %s were lost: %s", self.node, error.message)
        _fail(replies, error)


def _fail(replies: list[Reply | None], error: Error) -> None:
    for reply in replies:
        if reply is not None:
            reply.fail(error)
