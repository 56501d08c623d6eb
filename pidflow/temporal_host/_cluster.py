"""Many nodes, one PID space: the host of every process that runs on another node.

Design note. A local PID names its node (``{app:processes@b|17}``); ``Node.route`` hands every PID of another
node to this host, and a spawn on ``host@b`` to :meth:`ClusterHost.spawn_on`. It turns each operation into an
entry of that node's :class:`~._cluster_outbox.Outbox` (batched standalone activities on the node's own queue,
which is the transport: no connection of ours, no second broker), and applies the batches other nodes send
here (:meth:`ClusterHost.apply`) through the same node operations a local caller uses.

Failure detection is Temporal's too (``_presence``): each node's presence is a heartbeating standalone
activity; this host long-polls the presence of every node it has dealings with, and when Temporal closes one
(heartbeats stopped) the node is *down*: every link and monitor crossing to it (``_cluster_ledger``) breaks with
kind UNAVAILABLE and reason ``noconnection``, operations waiting for it fail, later sends to it fail at once, and
``monitor_node`` watchers get NODEDOWN. The node itself finds out it was declared down (paused, cut off) when its
own presence closes under it, or when another node refuses its batch: it then breaks every crossing pair of its
own with the same reason, so both sides agree, and starts a new incarnation.

A node joins the cluster of its Temporal namespace when it uses Temporal (a ``temporal.worker``) or was given a
name (``--node``/``open_node(name=...)``): before its node worker polls, it claims its name (a taken name fails
the start), so no two live nodes share a queue.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Mapping

import attrs
import trio
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RawValue

from .. import codec
from .._events import Event, EventKind, ExitResult, Message
from .._host import Host, SpawnRequest, noproc
from .._log import log as _log
from .._pid import Pid
from ..errors import Error, ErrorKind
from . import _presence as presence
from ._cluster_ledger import Ledger
from ._cluster_names import ClusterNames
from ._cluster_outbox import BATCH, Outbox, Reply
from ._converter import payload

if TYPE_CHECKING:
    from .._host import NodePort
    from ._aio import AsyncioThread
    from ._service import TemporalService

HOST_ID = "pidflow:cluster"
DOWN_AFTER_ENV = "PIDFLOW_NODE_DOWN_AFTER"
DEFAULT_DOWN_AFTER = 15.0
#: How often a node that is down and watched (``monitor_node``, a send to it) is asked after again.
RECHECK_EVERY = 1.0


@attrs.frozen
class Timeouts:
    """``down_after``: the bound from a node's death to its watchers' EXIT. Temporal's heartbeat timeout is two
    thirds of it (the rest covers the heartbeat in flight and the news travelling); heartbeats go five times per
    heartbeat timeout."""

    down_after: float = DEFAULT_DOWN_AFTER

    @property
    def heartbeat_timeout(self) -> float:
        return self.down_after * 2 / 3

    @property
    def heartbeat_every(self) -> float:
        return self.heartbeat_timeout / 5


def timeouts_for(value: Any) -> Timeouts:
    """The node's timeouts from ``open_node(node_down_after=...)``, else ``PIDFLOW_NODE_DOWN_AFTER``, else 15 s;
    INVALID naming the setting for anything but a number of seconds >= 1."""
    source = "node_down_after"
    if value is None:
        value = os.environ.get(DOWN_AFTER_ENV)
        source = DOWN_AFTER_ENV
        if value is None:
            return Timeouts()
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds >= 1 or seconds == float("inf"):
        raise Error(ErrorKind.INVALID, f"{source} must be a number of seconds >= 1, got {value!r}",
                    details={"option": source})
    return Timeouts(seconds)


#: How long a batch that overtook an earlier one waits for it before it is applied anyway (the earlier one was
#: lost for good: its node gave up on it).
GAP_WAIT = 30.0
#: Answers kept per stream for retried batches.
ANSWERS_KEPT = 256
#: Scheduling rounds an applied batch waits for an answer to ride back on it (a process replying at once).
PIGGYBACK_ROUNDS = 4


@attrs.define(eq=False)
class _Stream:
    """Batches from one incarnation of another node: the next to apply, answers kept for retries, batches that
    wait for an earlier one, batches being applied."""

    next: int = 1
    answers: dict[int, Any] = attrs.field(factory=dict)
    waiting: dict[int, trio.Event] = attrs.field(factory=dict)
    applying: dict[int, trio.Event] = attrs.field(factory=dict)


@attrs.define(eq=False)
class NodeView:
    """What this node knows of another: ``up`` None until first contact; ``incarnation`` the presence run seen."""

    name: str
    up: bool | None = None
    incarnation: str | None = None
    watch: trio.CancelScope | None = None
    contacted: trio.Event = attrs.field(factory=trio.Event)
    contacting: bool = False
    checked_at: float = -1e9
    #: monitor_node watchers (local PIDs) -> how many times each asked.
    monitors: dict[Pid, int] = attrs.field(factory=dict)
    poller: trio.CancelScope | None = None


class ClusterHost(Host):
    id = HOST_ID
    durable = False

    def __init__(self) -> None:
        self.node: "NodePort" = None  # type: ignore[assignment]
        self.timeouts = Timeouts()
        self.client: Client = None  # type: ignore[assignment]
        self.aio: "AsyncioThread" = None  # type: ignore[assignment]
        self.service: "TemporalService | None" = None
        self.incarnation: str | None = None
        self.ledger = Ledger()
        self.names = ClusterNames(self)
        self._views: dict[str, NodeView] = {}
        self._outboxes: dict[str, Outbox] = {}
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._leave: Any = None  # the asyncio.Event the presence activity waits on
        self._own_watch: trio.CancelScope | None = None
        self._ready = trio.Event()
        self._ready.set()
        self._stopping = False

    # -- joining -----------------------------------------------------------------------------------------------
    async def start(self, node: "NodePort") -> None:
        self.node = node
        self.timeouts = timeouts_for(node.node_down_after)
        node.resources["cluster"] = self
        if node.named:  # a named node joins even with no Temporal entry of its own
            from ._service import TemporalService, default_client_entry

            service = await TemporalService.for_node(node)
            await service.client(default_client_entry(node.registry))

    @property
    def joined(self) -> bool:
        return self.incarnation is not None

    async def join(self, service: "TemporalService", client: Client) -> None:
        """Claim this node's name (before its node worker polls: see the module docstring)."""
        self.service, self.client, self.aio = service, client, service.aio
        await self._claim()

    async def _claim(self) -> None:
        self._leave = await self.aio.run(_new_asyncio_event)
        timeouts = self.timeouts
        self.incarnation = await self.aio.run(presence.claim, self.client, self.node.name,
                                              self.queue_of(self.node.name), timeouts.heartbeat_timeout,
                                              timeouts.heartbeat_timeout + 2)

    def activities(self) -> list[Any]:
        """The activities this node's worker runs for the cluster: its presence, and other nodes' batches."""
        aio = self.aio

        @activity.defn(name=BATCH)
        async def batch(header: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
            return await aio.run_trio(self.apply, header, ops)

        return [presence.presence_activity(lambda: self._leave, self.timeouts.heartbeat_every), batch]

    async def joined_cluster(self) -> None:
        """The node worker polls: start watching our own presence, and be the route to other nodes."""
        self.node.resources["remote_nodes"] = self
        await self.node.start_task(self._watch_self)
        _log.info("node %s joined the cluster of namespace %s (incarnation %s)", self.node.name,
                  self.client.namespace, self.incarnation)

    async def stop(self) -> None:
        if not self.joined:
            return
        self._stopping = True
        with trio.move_on_after(5):  # what the node's last exits posted to other nodes goes out first
            for outbox in list(self._outboxes.values()):
                await outbox.wait_idle()
        if self._own_watch is not None:
            self._own_watch.cancel()
        for view in self._views.values():
            for scope in (view.watch, view.poller):
                if scope is not None:
                    scope.cancel()
        try:
            self.aio.submit(self._leave.set)
        except Error:
            pass

    def queue_of(self, node: str) -> str:
        from ._service import node_task_queue

        return node_task_queue(node)

    # -- views of other nodes -------------------------------------------------------------------------------------
    def noconnection(self, node: str) -> Error:
        return Error(ErrorKind.UNAVAILABLE, f"node {node} is down (noconnection)", retryable=True,
                     details={"reason": "noconnection", "node": node})

    def view(self, node: str) -> NodeView:
        view = self._views.get(node)
        if view is None:
            view = self._views[node] = NodeView(node)
        return view

    async def contact(self, node: str) -> NodeView:
        """The view of ``node``, asked of Temporal on first contact (and again, at most once a second, while it
        is down)."""
        view = self.view(node)
        if view.up is None or (view.up is False and trio.current_time() - view.checked_at >= RECHECK_EVERY):
            if view.contacting:
                await view.contacted.wait()
                return view
            view.contacting = True
            try:
                view.checked_at = trio.current_time()
                try:
                    incarnation = await self.aio.run(presence.incarnation, self.client, node)
                except Exception as exc:  # noqa: BLE001 - Temporal unreachable: a node seen before keeps its state;
                    # one never seen counts as down (nothing could reach it either)
                    _log.warning("cannot ask Temporal whether node %s is up: %s", node, exc)
                    incarnation = None if view.up is None else view.incarnation
                if incarnation is not None and incarnation != view.incarnation:
                    self._node_up(view, incarnation)
                elif incarnation is None and view.up is None:
                    view.up = False
            finally:
                view.contacting = False
                view.contacted.set()
                view.contacted = trio.Event()
        return view

    def _node_up(self, view: NodeView, incarnation: str) -> None:
        if view.up and view.incarnation != incarnation:  # restarted before its old incarnation's end reached us
            self._node_down(view, "restarted")
        was_down = view.up is False
        view.up, view.incarnation = True, incarnation
        if view.watch is not None:
            view.watch.cancel()
        view.watch = trio.CancelScope()
        self.node.start_soon_task(self._watch_node, view, incarnation, view.watch)
        if was_down:
            for watcher in list(view.monitors):
                self.node.post_event(watcher, Event.node_up(view.name))

    async def _watch_node(self, view: NodeView, incarnation: str, scope: trio.CancelScope) -> None:
        with scope:
            why = await self.aio.run(presence.watch, self.client, view.name, incarnation)
            if view.incarnation == incarnation and view.up:
                self._node_down(view, why)

    def _node_down(self, view: NodeView, why: str) -> None:
        """``view``'s node is down: break everything that crosses to it (see the module docstring)."""
        view.up = False
        view.checked_at = trio.current_time()
        if view.watch is not None:
            view.watch.cancel()
            view.watch = None
        node, error = view.name, self.noconnection(view.name)
        left = why == presence.LEFT
        _log.log(20 if left else 30, "node %s is down (%s)", node, "it stopped" if left else why)
        outbox = self._outboxes.get(node)
        if outbox is not None:
            dropped = outbox.drop(error)
            if dropped:
                _log.warning("%d operation(s) for node %s dropped: it is down", dropped, node)
        self._break_pairs(node, error)
        for key in [key for key in self._streams if key[0] == node]:
            del self._streams[key]
        for watcher in list(view.monitors):
            self.node.post_event(watcher, Event.node_down(node, error))
        if view.monitors:
            self._start_poller(view)

    def _break_pairs(self, node: str, error: Error) -> None:
        pairs = self.ledger.take(node)
        post_event, post_link_exit = self.node.post_event, self.node.post_link_exit
        for watcher, target in pairs.watching:
            post_event(watcher, Event.exit(target, ExitResult(error=error)))
        for local, remote in pairs.links:
            post_link_exit(local, remote, error)
        if pairs.watched_by:  # their EXITs could never reach them now
            self.node.start_soon_task(self._unwatch, list(pairs.watched_by))

    async def _unwatch(self, pairs: list[tuple[Pid, Pid]]) -> None:
        for watcher, target in pairs:
            try:
                await self.node.unmonitor(watcher, target)
            except Error:
                pass

    def _start_poller(self, view: NodeView) -> None:
        """While a down node is monitored, ask after it every second, for NODEUP."""
        if view.poller is not None:
            return
        view.poller = trio.CancelScope()

        async def poll(scope: trio.CancelScope) -> None:
            with scope:
                while view.monitors and not view.up:
                    await trio.sleep(RECHECK_EVERY)
                    await self.contact(view.name)
            view.poller = None

        self.node.start_soon_task(poll, view.poller)

    def told_down(self, node: str, incarnation: str | None) -> None:
        """Node ``node`` refused our batch sent as ``incarnation``: it declared this node down. Our own presence
        watch will say so too; act now, so nothing more is sent under an incarnation the others buried."""
        self.node.start_soon_task(self._declared_down, f"node {node} refused our operations", incarnation)

    async def ready(self) -> None:
        """Until this node is not rejoining the cluster (operations posted meanwhile go out as the new
        incarnation)."""
        await self._ready.wait()

    def stale(self, node: str, incarnation: str | None) -> None:
        """Node ``node`` is no longer the incarnation we sent to: it restarted; the old one is down."""
        view = self.view(node)
        if view.incarnation == incarnation and view.up:
            self._node_down(view, "restarted")

    def abandon(self, activity_id: str) -> None:
        """Terminate a batch that must never be applied (its node was declared down while it travelled)."""

        async def terminate() -> None:
            try:
                await self.client.get_activity_handle(activity_id).terminate(reason="node declared down")
            except Exception:  # noqa: BLE001 - it may have completed or closed already
                pass

        try:
            self.aio.submit(lambda: asyncio.ensure_future(terminate()))
        except Error:
            pass

    # -- our own presence -----------------------------------------------------------------------------------------
    async def _watch_self(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while not self._stopping:
            incarnation = self.incarnation
            with trio.CancelScope() as scope:
                self._own_watch = scope
                why = await self.aio.run(presence.watch, self.client, self.node.name, incarnation)
            if self._stopping:
                return
            if not scope.cancelled_caught:
                await self._declared_down(why, incarnation)

    async def _declared_down(self, why: str, incarnation: str | None) -> None:
        """This node was declared down by the cluster while it ran as ``incarnation``: break every crossing
        pair, as the others did, and come back as a new incarnation (once per incarnation, however many ways
        the news comes)."""
        old = self.incarnation
        if self._stopping or old is None or incarnation != old or not self._ready.is_set():
            return
        self._ready = trio.Event()  # what is posted from now on waits for the new incarnation
        _log.error("node %s was declared down by the cluster (%s): breaking its links and monitors with other "
                   "nodes (noconnection), then rejoining", self.node.name, why)
        for view in self._views.values():
            outbox = self._outboxes.get(view.name)
            if outbox is not None:
                outbox.drop(self.noconnection(view.name))
            self._break_pairs(view.name, self.noconnection(view.name))
        lost = self.names.forget_all()
        if lost:
            _log.error("node %s lost its cluster names: %s", self.node.name, ", ".join(sorted(lost)))
        if self._own_watch is not None:
            self._own_watch.cancel()
        try:
            self.aio.submit(self._leave.set)  # the old presence, if our worker still runs it, ends
            await self._claim()
        except Exception as exc:  # noqa: BLE001
            _log.error("node %s could not rejoin the cluster: %s", self.node.name, exc)
            return
        finally:
            self._ready.set()
        _log.warning("node %s rejoined the cluster as incarnation %s", self.node.name, self.incarnation)

    # -- the way in: batches from other nodes --------------------------------------------------------------------
    async def apply(self, header: dict[str, Any], ops: list[Any], rides: bool = True) -> Any:
        """A batch from another node: applied in its stream's order (see ``_cluster_outbox``), exactly once.
        ``rides``: what waits for that node may ride back on the answer (not when the batch itself came riding on
        an answer: nobody reads the answer to that)."""
        sender, incarnation, seq = header["from"], header["inc"], header["seq"]
        if header.get("to_inc") != self.incarnation:
            return {"stale": True}  # sent to an incarnation of this node that is over
        view = self.view(sender)
        if view.incarnation == incarnation and view.up is False:
            return {"down": True}
        if view.incarnation != incarnation:
            self._node_up(view, incarnation)
        key = (sender, incarnation)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream()
        if seq in stream.applying:  # a retry of a batch being applied: its answer, once there is one
            await stream.applying[seq].wait()
        if seq < stream.next:
            return stream.answers.get(seq, {"results": []})  # a retry: applied already
        if seq > stream.next:  # it overtook an earlier batch: wait for that one (Temporal delivers it)
            waiting = stream.waiting.setdefault(seq, trio.Event())
            with trio.move_on_after(GAP_WAIT):
                await waiting.wait()
            if seq < stream.next:
                return stream.answers.get(seq, {"results": []})
            if seq > stream.next:
                _log.error("node %s: batches %d..%d from node %s never came; applying %d", self.node.name,
                           stream.next, seq - 1, sender, seq)
                stream.next = seq
        done = stream.applying[seq] = trio.Event()
        stream.next = seq + 1
        try:
            results = [await self._apply_op(sender, op) for op in ops]
            answer: Any = {"results": results}
            riding = await self._piggyback(sender) if rides else None
            if riding is not None:
                header_out, ops_out = riding
                answer = RawValue(payload(b'{"results":%s,"then":{"header":%s,"ops":%s}}' % (
                    codec.encode(results, what="answers"), codec.encode(header_out), codec.join(ops_out))))
        finally:
            del stream.applying[seq]
            done.set()
        stream.answers[seq] = answer
        stream.answers.pop(seq - ANSWERS_KEPT, None)
        following = stream.waiting.pop(seq + 1, None)
        if following is not None:
            following.set()
        return answer

    async def _piggyback(self, node: str) -> tuple[dict[str, Any], list[bytes]] | None:
        """What waits for ``node`` once its batch is applied (a process here may be answering it right now: it
        gets a few scheduling rounds to do so)."""
        for _ in range(PIGGYBACK_ROUNDS):
            outbox = self._outboxes.get(node)
            if outbox is not None and outbox.pending:
                return outbox.take_piggyback()
            await trio.lowlevel.checkpoint()
        return None

    def known(self, node: str) -> NodeView | None:
        return self._views.get(node)

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def _apply_op(self, sender: str, op: list[Any]) -> Any:
        node, ledger = self.node, self.ledger
        name = op[0]
        try:
            if name == "send":
                node.send(op[1], Message.from_wire(op[2]))
            elif name == "event":
                event = Event.from_wire(op[2])
                if event.kind is EventKind.EXIT and event.sender is not None:
                    ledger.unmonitor_out(sender, op[1], event.sender)
                node.post_event(op[1], event)
            elif name == "link_exit":
                ledger.unlink(sender, op[1], op[2])
                node.post_link_exit(op[1], op[2], op[3])
            elif name == "forget_link":
                ledger.unlink(sender, op[1], op[2])
                node.forget_link(op[1], op[2])
            elif name == "monitor":
                ledger.monitor_in(sender, op[1], op[2])
                await node.monitor(op[1], op[2])
            elif name == "unmonitor":
                ledger.unmonitor_in(sender, op[1], op[2])
                await node.unmonitor(op[1], op[2])
            elif name == "link":
                ok = await node.route(op[2]).link(op[1], op[2])
                if ok:
                    ledger.link(sender, op[2], op[1])
                return ok
            elif name == "unlink":
                ledger.unlink(sender, op[2], op[1])
                await node.route(op[2]).unlink(op[1], op[2])
            elif name == "terminate":
                return await node.terminate(op[1], op[2])
            elif name == "cancel":
                return await node.cancel(op[1], op[2], op[3])
            elif name == "shutdown":
                return await node.shutdown(op[1], op[2], op[3])
            elif name == "spawn":
                request = request_from_wire(op[2])
                pid = await node.spawn(request, op[1])
                if request.monitor and request.parent is not None:
                    ledger.monitor_in(sender, request.parent, pid)
                return pid
            else:
                return Error(ErrorKind.INVALID, f"unknown cluster operation {name!r} from node {sender}")
        except Error as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - one bad operation must not fail the batch (and its retries)
            _log.exception("cluster operation %s from node %s failed", name, sender)
            return Error(ErrorKind.INTERNAL, f"{name} on node {node.name} failed: {exc}")
        return None

    # -- the way out: the Host interface for PIDs of other nodes -------------------------------------------------
    def _outbox(self, node: str) -> Outbox:
        outbox = self._outboxes.get(node)
        if outbox is None:
            outbox = self._outboxes[node] = Outbox(self, node)
            self.node.start_soon_task(outbox.run)
        return outbox

    def _down(self, node: str) -> bool:
        view = self._views.get(node)
        if view is not None and view.up is False:
            if trio.current_time() - view.checked_at >= RECHECK_EVERY and not view.contacting:
                self.node.start_soon_task(self.contact, node)  # it may be back: the next call will know
            return True
        return False

    def _post(self, pid: Pid, op: list[Any], answer: bool = False) -> Reply | None:
        assert pid.node is not None
        return self._outbox(pid.node).post(op, answer)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        pass  # the node that runs the process checks them

    async def spawn(self, request: SpawnRequest) -> Pid:
        raise Error(ErrorKind.INVALID, f"spawn on another node names its host there: 'HOST@NODE', not {HOST_ID}")

    async def spawn_on(self, node: str, host_id: str, request: SpawnRequest) -> Pid:
        if not isinstance(request.entry, str):
            raise Error(ErrorKind.INVALID, f"a process spawned on node {node} must be an entry id, got "
                                           f"{type(request.entry).__name__}", details={"argument": "entry"})
        if self._down(node):
            raise self.noconnection(node)
        reply = self._outbox(node).post(["spawn", host_id, request_to_wire(request)], answer=True)
        assert reply is not None
        pid = Pid.parse(await reply.wait())
        if request.parent is not None:
            if request.monitor:
                self.ledger.monitor_out(node, request.parent, pid)
            if request.link:
                self.ledger.link(node, request.parent, pid)
        return pid

    def send(self, pid: Pid, message: Message) -> None:
        if self._down(pid.node):  # type: ignore[arg-type]
            raise self.noconnection(pid.node)  # type: ignore[arg-type]
        self._post(pid, ["send", pid, message.to_wire()])

    def send_if_alive(self, pid: Pid, message: Message) -> bool:
        self.send(pid, message)  # (a node known to be down: UNAVAILABLE noconnection, more than "not running")
        return True

    def deliver_event(self, pid: Pid, event: Event) -> None:
        node = pid.node
        assert node is not None
        if event.kind is EventKind.EXIT and event.sender is not None:
            self.ledger.unmonitor_in(node, pid, event.sender)
        if not self._down(node):
            try:
                self._post(pid, ["event", pid, event.to_wire()])
            except Error as exc:
                _log.error("event for %s on node %s dropped: %s", pid, node, exc.message)

    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        node = pid.node
        assert node is not None
        self.ledger.unlink(node, sender, pid)
        if not self._down(node):
            try:
                self._post(pid, ["link_exit", pid, sender, reason])
            except Error as exc:
                _log.error("link exit for %s on node %s dropped: %s", pid, node, exc.message)

    def forget_link(self, pid: Pid, other: Pid) -> None:
        node = pid.node
        assert node is not None
        self.ledger.unlink(node, other, pid)
        if not self._down(node):
            self._post(pid, ["forget_link", pid, other])

    def link_refused(self, target: Pid) -> Error:
        return self.noconnection(target.node) if self._down(target.node) else noproc(target)  # type: ignore[arg-type]

    async def monitor(self, watcher: Pid, target: Pid) -> None:
        node = target.node
        assert node is not None
        self.ledger.monitor_out(node, watcher, target)
        if self._down(node):
            self.ledger.unmonitor_out(node, watcher, target)
            self.node.post_event(watcher, Event.exit(target, ExitResult(error=self.noconnection(node))))
            return
        self._post(target, ["monitor", watcher, target])

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        node = target.node
        assert node is not None
        self.ledger.unmonitor_out(node, watcher, target)
        if not self._down(node):
            self._post(target, ["unmonitor", watcher, target])

    async def link(self, watcher: Pid, target: Pid) -> bool:
        node = target.node
        assert node is not None
        if self._down(node):
            return False
        reply = self._post(target, ["link", watcher, target], answer=True)
        assert reply is not None
        try:
            ok = bool(await reply.wait())
        except Error:
            return False
        if ok:
            self.ledger.link(node, watcher, target)
        return ok

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        node = target.node
        assert node is not None
        self.ledger.unlink(node, watcher, target)
        if not self._down(node):
            self._post(target, ["unlink", watcher, target])

    async def _ask(self, pid: Pid, op: list[Any]) -> bool:
        if self._down(pid.node):  # type: ignore[arg-type]
            return False
        reply = self._post(pid, op, answer=True)
        assert reply is not None
        try:
            return bool(await reply.wait())
        except Error as exc:
            if exc.details and isinstance(exc.details, dict) and exc.details.get("reason") == "noconnection":
                return False
            raise

    async def terminate(self, pid: Pid, reason: Error) -> bool:
        return await self._ask(pid, ["terminate", pid, reason])

    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        return await self._ask(pid, ["cancel", pid, deadline, sender])

    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool:
        return await self._ask(pid, ["shutdown", pid, timeout, sender])

    def is_alive(self, pid: Pid) -> bool | None:
        return False if self._down(pid.node) else None  # type: ignore[arg-type]

    # -- node monitors ----------------------------------------------------------------------------------------------
    async def monitor_node(self, watcher: Pid, node: str) -> None:
        """``watcher`` gets NODEDOWN when ``node`` goes down (at once if it is down now) and NODEUP when it comes
        back, until :meth:`demonitor_node`."""
        view = self.view(node)
        view.monitors[watcher] = view.monitors.get(watcher, 0) + 1
        view = await self.contact(node)
        if not view.up:
            self.node.post_event(watcher, Event.node_down(node, self.noconnection(node)))
            self._start_poller(view)

    async def demonitor_node(self, watcher: Pid, node: str) -> bool:
        view = self._views.get(node)
        if view is None or watcher not in view.monitors:
            return False
        del view.monitors[watcher]
        if not view.monitors and view.poller is not None:
            view.poller.cancel()
        return True

    def on_node(self, host_id: str, node: str) -> Host:
        """Host ``host_id`` of node ``node``, as a place to spawn (``spawn(entry, "HOST@NODE")``)."""
        return HostOnNode(self, host_id, node)

    def nodes(self) -> dict[str, bool | None]:
        """The other nodes this one has dealt with: name -> up (None: not asked yet)."""
        return {name: view.up for name, view in self._views.items()}


class HostOnNode(Host):
    """A host of another node, as ``node.host("HOST@NODE")`` gives it: spawning there; every other operation is
    the cluster's (it routes by the PIDs). Not durable: a supervisor links such a child as any local one."""

    durable = False

    def __init__(self, cluster: ClusterHost, host_id: str, node: str) -> None:
        self.cluster, self.host_id, self.node_name = cluster, host_id, node
        self.id = f"{host_id}@{node}"
        self.node = cluster.node

    async def start(self, node: "NodePort") -> None:
        pass

    async def stop(self) -> None:
        pass

    def validate_options(self, options: Mapping[str, Any]) -> None:
        pass  # checked by the node that runs the process

    async def spawn(self, request: SpawnRequest) -> Pid:
        return await self.cluster.spawn_on(self.node_name, self.host_id, request)

    def send(self, pid: Pid, message: Message) -> None:
        self.cluster.send(pid, message)

    async def terminate(self, pid: Pid, reason: Error) -> bool:
        return await self.cluster.terminate(pid, reason)

    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        return await self.cluster.cancel(pid, deadline, sender)

    async def monitor(self, watcher: Pid, target: Pid) -> None:
        await self.cluster.monitor(watcher, target)

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        await self.cluster.unmonitor(watcher, target)

    async def link(self, watcher: Pid, target: Pid) -> bool:
        return await self.cluster.link(watcher, target)

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        await self.cluster.unlink(watcher, target)

    def deliver_event(self, pid: Pid, event: Event) -> None:
        self.cluster.deliver_event(pid, event)

    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        self.cluster.link_exit(pid, sender, reason)


async def _new_asyncio_event() -> Any:
    import asyncio

    return asyncio.Event()


def request_to_wire(request: SpawnRequest) -> dict[str, Any]:
    return {"entry": request.entry, "input": request.input, "args": list(request.args) if request.args is not None
            else None, "options": dict(request.options), "name": request.name,
            "messages": [m.to_wire() for m in request.messages], "context": dict(request.context),
            "parent": request.parent, "monitor": request.monitor, "link": request.link,
            "await_start": request.await_start}


def request_from_wire(wire: dict[str, Any]) -> SpawnRequest:
    args = wire.get("args")
    return SpawnRequest(entry=wire["entry"], input=wire.get("input"), args=tuple(args) if args is not None else None,
                        options=wire.get("options") or {}, name=wire.get("name"),
                        messages=tuple(Message.from_wire(m) for m in wire.get("messages") or ()),
                        context=wire.get("context") or {}, parent=wire.get("parent"),
                        monitor=bool(wire.get("monitor")), link=bool(wire.get("link")),
                        await_start=bool(wire.get("await_start")))
