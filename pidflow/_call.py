"""What ``process.call`` is made of (OTP's ``gen_server:call``), shared by the Python API and the hosts.

A call sends its request as a :class:`Message` with a new reference (``ref``), claims the reply topic
``REPLY_PREFIX + ref`` on the caller (``Process.claim_reply``), monitors the target for the duration of the call,
and waits for the first of: the reply, the target's EXIT, the timeout. The answer is read by :func:`call_answer`.

* **References** are unique in the Python process (a counter) and across its runs (a random prefix), so a late
  reply to a call of a past run of a named node can never match a call of this one. Inside a workflow the
  reference is ``workflow.uuid4()`` (replay-safe; ``temporal_host._workflow_port``).
* **The call's monitor** (:class:`NodeCalls`): the node monitors the target of every pending call with one
  watcher PID that no host owns (host :data:`WATCHER_HOST`), whose EXITs ``NodePort.catch_exits`` hands to the
  calls waiting on that target: it neither needs nor disturbs the caller's own monitors, and never reaches its
  ``events()``. A target is monitored from the first call to it until its last pending call ends (a local one
  while it is among the most recently called: see the class).
* **Timeouts** (:class:`CallTimers`): one node task keeps the deadlines of every pending call in buckets of
  :data:`TICK`, and puts :data:`TIMED_OUT` into the mailbox of a call whose deadline passed.

Design note. The first version gave each call a trio cancel scope for its timeout, one more to shield its cleanup,
and a watcher PID and EXIT catcher of its own: a call ran at 0.39 of a hand-written send + receive
(``benchmarks/call_reply.py``), the two cancel scopes costing more than the rest of the call together. The price
of the timer buckets is resolution: a call times out up to one tick late.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from typing import TYPE_CHECKING, Any

import trio

from ._duration import parse_duration
from ._events import Event, ExitResult
from ._pid import Pid
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from ._host import Host, NodePort
    from ._mailbox import Mailbox

#: The host part of a call's watcher PID (see NodePort.catch_exits).
WATCHER_HOST = "pidflow:call"
#: The resolution of call timeouts (seconds): a call times out within one tick after its timeout.
TICK = 0.01
#: How many local targets no call waits on stay monitored (see :class:`NodeCalls`).
IDLE_MONITORS = 64
#: Where a node keeps its :class:`NodeCalls` (``NodePort.resources``).
RESOURCE = "pidflow.calls"

_REF_PREFIX = secrets.token_hex(4) + "."
_counter = itertools.count(1)


class _TimedOut:
    """What the timer puts into a call's mailbox when its deadline passed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TIMED_OUT"


TIMED_OUT = _TimedOut()


def new_ref() -> tuple[int, str]:
    """A new call's number (its timer key) and reference."""
    n = next(_counter)
    return n, f"{_REF_PREFIX}{n}"


def call_timeout(timeout: Any) -> float | None:
    """A ``timeout`` argument in seconds (a number, or a duration string like ``"500ms"``); None: no timeout.
    INVALID naming the argument for a negative or malformed one."""
    if timeout is None:
        return None
    if (type(timeout) is float or type(timeout) is int) and 0 <= timeout < 1e12:  # the common case: 5.0
        return float(timeout)
    try:
        return parse_duration(timeout, number_unit=1.0, what="call timeout")
    except Error as exc:
        raise Error(ErrorKind.INVALID, exc.message, details={"argument": "timeout"}) from None


def call_topic(topic: Any) -> str:
    if type(topic) is str and topic and topic[0] != "@":
        return topic
    if not isinstance(topic, str) or not topic:
        raise Error(ErrorKind.INVALID, f"call: topic must be a non-empty string, got {topic!r}"[:200],
                    details={"argument": "topic"})
    raise Error(ErrorKind.INVALID, f"call: topic {topic[:80]!r} is reserved (topics beginning with '@' are the "
                                   "runtime's)", details={"argument": "topic"})


def call_answer(answer: Any, target: Pid, timeout: float | None = None, topic: str = "") -> Any:
    """What a call returns, or raises, for what came to its mailbox first: a reply ``[value, error]``, the EXIT
    of its target, or :data:`TIMED_OUT`."""
    if type(answer) is list or type(answer) is tuple:
        if len(answer) == 2:
            value, error = answer
            if error is None:
                return value
            if isinstance(error, Error):
                raise error
    elif answer is TIMED_OUT:
        raise Error(ErrorKind.TIMEOUT, f"call to {target} ({topic!r}) got no reply within {timeout or 0:g} s",
                    details={"reason": "timeout", "pid": str(target)})
    elif isinstance(answer, Event):
        error = (answer.result or ExitResult()).error
        if error is None:
            raise Error(ErrorKind.NOT_FOUND, f"call to {target}: it ended without replying",
                        details={"reason": "exit", "pid": str(target)})
        if isinstance(error.details, dict) and error.details.get("reason") == "noproc":
            raise Error(ErrorKind.NOT_FOUND, f"call to {target}: no such process",
                        details={"reason": "noproc", "pid": str(target)})
        raise Error(error.kind, f"call to {target}: it ended before replying: {error.message}",
                    retryable=error.retryable, details={"reason": "exit", "pid": str(target), "error": error})
    raise Error(ErrorKind.INTERNAL, f"call to {target}: a malformed reply {answer!r}"[:300])


class CallTimers:
    """The deadlines of a node's pending calls, in buckets of :data:`TICK`; one task (:meth:`run`) sleeps until
    the earliest bucket and times its calls out. Adding a call is two dict operations (a heap push for a new
    bucket); a call that ends discards its entry. A bucket stays until its tick passes, even empty, so that the
    task's deadline moves only when an earlier bucket appears (a shorter timeout), not with every call."""

    __slots__ = ("_buckets", "_ticks", "_scope")

    def __init__(self) -> None:
        self._buckets: dict[int, dict[int, Mailbox[Any]]] = {}
        self._ticks: list[int] = []  # the buckets' ticks, a heap
        self._scope: trio.CancelScope | None = None

    def add(self, seconds: float, key: int, mailbox: "Mailbox[Any]") -> int:
        """Time out the call ``key`` after ``seconds``: :data:`TIMED_OUT` goes into ``mailbox``. Its tick."""
        tick = int((trio.current_time() + seconds) / TICK) + 1
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = {}
            heapq.heappush(self._ticks, tick)
            scope = self._scope
            if scope is not None and self._ticks[0] == tick:
                scope.deadline = tick * TICK
        bucket[key] = mailbox
        return tick

    def discard(self, tick: int, key: int) -> None:
        bucket = self._buckets.get(tick)
        if bucket is not None:
            bucket.pop(key, None)

    def pending(self) -> int:
        """How many calls wait for their deadline."""
        return sum(len(bucket) for bucket in self._buckets.values())

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        ticks, buckets = self._ticks, self._buckets
        while True:
            with trio.CancelScope() as scope:
                if ticks:
                    scope.deadline = ticks[0] * TICK
                self._scope = scope
                await trio.sleep_forever()
            self._scope = None
            now = trio.current_time()
            while ticks and ticks[0] * TICK <= now:
                for mailbox in buckets.pop(heapq.heappop(ticks)).values():
                    mailbox.put(TIMED_OUT)


class NodeCalls:
    """A node's pending calls: the mailboxes waiting on each target (the EXIT of a target goes to each of them)
    and their timers. One per node (:func:`node_calls`).

    A target is monitored (with :attr:`watcher`) from the first call to it. When its last pending call ends, a
    target whose host cannot tell cheaply whether it runs (``Host.is_alive`` None: a workflow, whose watch is a
    long poll; a process of another node) is unmonitored at once; one of this node stays monitored while it is
    among the :data:`IDLE_MONITORS` most recently called, so that a process called in a loop is monitored once,
    not once per call (its EXIT, if it comes, only drops it from here)."""

    __slots__ = ("watcher", "waiting", "idle", "timers")

    def __init__(self, node_name: str) -> None:
        #: The PID the node monitors call targets with (see NodePort.catch_exits).
        self.watcher = Pid(WATCHER_HOST, "watcher", node_name)
        #: Monitored targets -> the mailboxes of the calls waiting on them (empty for an idle one).
        self.waiting: dict[Pid, list[Mailbox[Any]]] = {}
        #: The monitored targets that no call waits on, oldest first.
        self.idle: dict[Pid, None] = {}
        self.timers = CallTimers()

    def enter(self, target: Pid, answers: "Mailbox[Any]") -> tuple[list["Mailbox[Any]"], bool]:
        """A call to ``target`` begins: its list of waiting mailboxes, and whether the target must be monitored
        now (it was not)."""
        waiting = self.waiting.get(target)
        if waiting is None:
            waiting = self.waiting[target] = [answers]
            return waiting, True
        if not waiting:
            del self.idle[target]
        waiting.append(answers)
        return waiting, False

    def exit(self, target: Pid, waiting: list["Mailbox[Any]"], answers: "Mailbox[Any]", host: "Host") -> Pid | None:
        """A call to ``target`` (on ``host``) ended (``waiting``: what :meth:`enter` gave it). The target to
        unmonitor now, if any: ``target`` itself (the last call to one whose host must ask over the network
        whether it runs: a workflow, a process of another node), or the least recently called idle one."""
        waiting.remove(answers)
        if waiting or self.waiting.get(target) is not waiting:
            return None  # calls still wait on it, or it ended meanwhile (offer dropped it)
        if host.is_alive(target) is None:
            del self.waiting[target]
            return target
        idle = self.idle
        idle[target] = None
        if len(idle) <= IDLE_MONITORS:
            return None
        oldest = next(iter(idle))
        del idle[oldest], self.waiting[oldest]
        return oldest

    def offer(self, event: Event) -> bool:
        """An EXIT sent to :attr:`watcher`: to every call waiting on its sender, which is no longer monitored."""
        sender = event.sender
        if sender is not None:
            self.idle.pop(sender, None)
            for mailbox in self.waiting.pop(sender, ()):
                mailbox.put(event)
        return True


async def node_calls(node: "NodePort") -> NodeCalls:
    """The node's :class:`NodeCalls`: made, its EXITs caught and its timer task started on first use."""
    found: NodeCalls | None = node.resources.get(RESOURCE)
    if found is None:
        found = node.resources[RESOURCE] = NodeCalls(node.name)
        node.catch_exits(found.watcher, found.offer)
        await node.start_task(found.timers.run)
    return found
