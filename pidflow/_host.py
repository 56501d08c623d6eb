"""The host interface: where a process runs.

The Node routes every operation by the PID's host; a host implements the operations for the processes it owns.
Two implementations: the local host (trio tasks, ``pidflow.actors``) and the Temporal host (workflows,
``pidflow.temporal_host``). Nothing outside a host's package may ask which kind of host it is: if it needs to,
this interface is missing a method. Hosts (and the runtimes and kinds above them) see the node only as a
:class:`NodePort`, declared here, never as the ``Node`` class.

Cross-host semantics go through three inbound *posts* that every host implements for its own processes:
``send``, ``deliver_event`` (EXIT / LINK_DOWN / CANCEL for a watcher) and ``link_exit`` (a linked process ended
abnormally: trap it or die). Posts are synchronous and never block: a host whose delivery needs I/O (a Temporal
signal) queues it, per target and in order, and retries until it lands, so that a post is never lost and a
process exit (which fans out posts) never waits on the network.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

import attrs

from ._events import Event, Message
from ._pid import Pid
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from pathlib import Path

    from ._api import ProcessAPI
    from ._bookkeeper import Bookkeeper, Directory
    from ._introspection import ProcessInfo
    from ._kind import Body, Function, KindRegistry
    from ._names import NameRegistry
    from ._process import Process
    from .entries import Registry


def noproc(pid: Pid) -> Error:
    """The reason a monitor or link of a process that is not running gets at once (Erlang's ``noproc``)."""
    return Error(ErrorKind.NOT_FOUND, f"no such process {pid}", details={"reason": "noproc"})


def linked_failure(sender: Pid, reason: Error) -> Error:
    """The reason a process that does not trap links ends with when ``sender``, linked to it, failed."""
    details: dict[str, Any] = {"linked": str(sender)}
    if isinstance(reason.details, dict):  # why the link broke (``noconnection`` and its node) stays readable
        details.update((key, reason.details[key]) for key in ("reason", "node") if key in reason.details)
    return Error(reason.kind, f"linked process {sender} failed: {reason.message}", retryable=reason.retryable,
                 details=details)


@attrs.frozen(kw_only=True)
class SpawnRequest:
    """Everything needed to start a process. ``entry`` is an entry id or, for local hosts, a Python callable.

    ``watcher``/``link`` make monitoring/linking atomic with the start: the parent can never miss the EXIT of a
    child that dies at once. ``messages`` are delivered before any other message, also when ``name`` resolves
    to an already running process. ``await_start``: spawn returns only once the process has *started* (OTP's
    ``start_link``): a local process (Python or Lua) has run its code up to its first wait, or, for a body
    marked :func:`pidflow.acks_start` (a supervisor), has called ``process.started()``; a workflow has been
    accepted by the server (that is always so when spawn returns). A process that ends before it started
    counts as started: its EXIT tells the rest.

    ``args``: the positional arguments of the process's main function when they are not exactly one
    (``main(a, b, c)``, ``main()``; a Lua ``spawn(id, host, ...)`` with several or none); None means the one
    argument ``input`` (``spawn(entry, host, input)``), and ``input`` is ignored otherwise. Hosts start the
    process with :attr:`argv`: a local body is called as ``body(*argv)``, a workflow gets them as its Temporal
    arguments (``temporal_host._protocol.workflow_args``).
    """

    entry: Any
    input: Any = None
    args: tuple[Any, ...] | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    messages: tuple[Message, ...] = ()
    context: Mapping[str, Any] = attrs.field(factory=dict)
    parent: Pid | None = None
    monitor: bool = False
    link: bool = False
    await_start: bool = False

    @property
    def argv(self) -> tuple[Any, ...]:
        """The main function's positional arguments: ``args``, else ``(input,)``."""
        return (self.input,) if self.args is None else self.args


class Host(abc.ABC):
    """A place where processes run. All methods are called on the node's trio loop."""

    id: str
    node: "NodePort"
    #: True when processes outlive the node (workflows): supervisors monitor them but do not link them, and
    #: leave them running when the node stops, to adopt them when it starts again.
    durable: bool = False

    @abc.abstractmethod
    async def start(self, node: "NodePort") -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop cleanly: local processes are terminated; durable ones keep running and their local watchers
        are told (EXIT/LINK_DOWN with kind UNAVAILABLE)."""

    @abc.abstractmethod
    def validate_options(self, options: Mapping[str, Any]) -> None:
        """Raise INVALID naming the first option key this host owns that is unknown or malformed. Keys the host
        does not own (another host's, or the seed runtime's) are passed through: left in the request, ignored."""

    @abc.abstractmethod
    async def spawn(self, request: SpawnRequest) -> Pid: ...

    @abc.abstractmethod
    def send(self, pid: Pid, message: Message) -> None:
        """Post a message (dropped silently when ``pid`` is not running, as in Erlang).

        Raises INVALID at once when the payload cannot cross to this host."""

    @abc.abstractmethod
    async def terminate(self, pid: Pid, reason: Error) -> bool:
        """End ``pid`` unconditionally; False when it was not running."""

    @abc.abstractmethod
    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        """Deliver CANCEL, then terminate once ``deadline`` seconds have passed if still running."""

    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool:
        """Stop ``pid`` as a supervisor does (OTP ``shutdown``): by default CANCEL, then terminate after
        ``timeout`` seconds. A host may end at once a process that cannot react (one that does not trap links)."""
        return await self.cancel(pid, timeout, sender)

    @abc.abstractmethod
    async def monitor(self, watcher: Pid, target: Pid) -> None:
        """``watcher`` (any host) gets EXIT when ``target`` (this host) ends; at once if it is not running."""

    @abc.abstractmethod
    async def unmonitor(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    async def link(self, watcher: Pid, target: Pid) -> bool:
        """Record the half-link target -> watcher; False when ``target`` is not running."""

    @abc.abstractmethod
    async def unlink(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    def deliver_event(self, pid: Pid, event: Event) -> None:
        """Post an event to a process of this host (its watcher side)."""

    @abc.abstractmethod
    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        """``sender``, linked to ``pid``, ended abnormally: LINK_DOWN if ``pid`` traps links, else it ends too."""

    def forget_link(self, pid: Pid, other: Pid) -> None:
        """``other`` ended normally: drop ``pid``'s half of their link. A host that keeps links elsewhere (a
        workflow learns of a normal end itself) need not do anything."""

    def watch_stalls(self, pid: Pid, callback: Callable[[Error], None]) -> Callable[[], None]:
        """Call ``callback(error)`` on the node's trio loop each time ``pid`` fails *without ending*: a workflow
        whose code failed a workflow task stays open while Temporal retries the task, so no EXIT comes until a
        fixed version is deployed. ``error`` says so and what failed (its traceback in ``details``). Returns the
        function that stops watching. A host whose processes end when they fail never calls it."""
        return _nothing

    def is_alive(self, pid: Pid) -> bool | None:
        """True/False when known cheaply, None when only an async query could tell."""
        return None

    def send_if_alive(self, pid: Pid, message: Message) -> bool:
        """:meth:`send`, unless ``pid`` is known not to run: then False and nothing is sent (Lua's
        ``process.send`` answers NOT_FOUND at once). A host that can tell both in one look overrides it."""
        if self.is_alive(pid) is False:
            return False
        self.send(pid, message)
        return True

    def link_refused(self, target: Pid) -> Error:
        """The reason a link to ``target`` that :meth:`link` refused ends with: ``noproc`` here; a host that
        knows more (another node is down: ``noconnection``) says so."""
        return noproc(target)

    def add_root(self) -> "Process":
        """A process without a task for top-level code (``node.process``); only a host that runs local
        processes can hold one."""
        raise Error(ErrorKind.INVALID, f"host {self.id} cannot hold the node's root process")

    # -- introspection (the observer: ``pidflow._introspection``); synchronous and cheap unless said otherwise --
    def describe_all(self, directory: "Directory") -> "list[ProcessInfo]":
        """Every process of this host the node knows (for a durable host: those it started, watches or names),
        without what costs a query (``lua_where``, Temporal's view)."""
        return []

    def describe(self, pid: Pid, directory: "Directory") -> "ProcessInfo | None":
        """One process as :meth:`describe_all` shows it; None when this host does not know it."""
        return None

    async def inspect(self, pid: Pid, directory: "Directory") -> "ProcessInfo | None":
        """One process with everything that can be found out about it (a parked Lua process's file:line, a
        workflow's run and status asked from Temporal); None when it is unknown here."""
        return self.describe(pid, directory)

    def watches(self) -> "list[tuple[Pid, Pid]]":
        """``(watcher, target)`` of every monitor this host keeps for its processes (the targets): the node
        reverses them to tell what a process monitors."""
        return []

    def message_counts(self) -> tuple[int, int]:
        """Messages delivered to and sent by the processes running here now (the node adds those of processes
        that ended, :meth:`Bookkeeper.retire`)."""
        return 0, 0

    def count_sent(self, pid: Pid) -> None:
        """A message from ``pid`` (a process of this host) was posted on another host: one more sent by it.
        Called only while the node's bookkeeping is on."""


def _nothing() -> None:
    pass


class NodePort(abc.ABC):
    """The node as hosts, runtimes and entry kinds see it: routing by PID, posts, resolution and lifetime.

    All methods are called on the node's trio loop. The node implements it (``pidflow.node.Node``); nothing
    below the node imports that class.
    """

    #: The node's name; local PIDs carry it, so that other nodes and workflows can route back to them.
    name: str
    #: True when the name was given (``--node``, ``open_node(name=...)``): the node then joins its Temporal
    #: namespace's cluster even without a Temporal entry of its own.
    named: bool = False
    #: Tells this run of a named node from its earlier ones (``""`` for an unnamed node, whose name is new
    #: anyway): local hosts put it in their PIDs (``{app:processes@b|lq3x9k.1}``), so that a PID of a node that
    #: died never names a process of the node that took its name, as Erlang's creation number does.
    creation: str = ""
    #: The bound from another node's death to the EXITs of its processes' watchers here (seconds; None: the
    #: ``PIDFLOW_NODE_DOWN_AFTER`` environment variable, else 15).
    node_down_after: float | None = None
    #: The app's entries, and the kinds they were loaded with.
    registry: "Registry"
    kinds: "KindRegistry"
    #: Where the node keeps its state (the embedded Temporal server's database).
    state_dir: "Path"
    #: The node's own process API, bound to its root process (top-level code and services spawn through it).
    process: "ProcessAPI"
    #: Per-node shared objects by key (one Temporal connection for every worker host, the supervisors' table).
    resources: dict[str, Any]
    #: The node's registered names (``pidflow._names``). Read it directly (``whereis``, ``lookup``, ``resolve``);
    #: register through :meth:`register_name`, which also watches the holder so that its names go with it. A
    #: host may register its own new process directly, adding ``names.watcher`` to its watchers.
    names: "NameRegistry"
    #: What the observer reads (``pidflow._bookkeeper``): hosts report spawns, exits and crashes to it,
    #: supervisors their children and restarts; its ``on`` says whether per-message counters are kept.
    bookkeeper: "Bookkeeper"

    @property
    @abc.abstractmethod
    def stopping(self) -> bool:
        """True once the node began to stop: supervisors then leave durable children running."""

    # -- lifetime ---------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def start_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Run ``async_fn(*args, task_status=...)`` in the node's nursery (trio ``nursery.start``): returns what
        it passes to ``task_status.started()``. The task is cancelled when the node has stopped."""

    def start_soon_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``async_fn(*args)`` in the node's nursery without waiting for it to start (cancelled when the node
        has stopped)."""
        raise NotImplementedError

    @abc.abstractmethod
    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the node stops, after every host (latest registered first)."""

    # -- resolution -------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def host(self, host_id: str | None) -> Host:
        """The host with that id (None: the default local host); NOT_FOUND / INVALID naming it otherwise."""

    @abc.abstractmethod
    def route(self, pid: Pid) -> Host:
        """The host that owns ``pid`` (UNAVAILABLE when it lives on a node this one cannot reach)."""

    @abc.abstractmethod
    def resolve_body(self, entry: Any, host_id: str) -> "Body":
        """The async ``main(input)`` of an entry id (built once by its kind) or a Python async callable;
        INVALID when the entry is not a process a local host can run."""

    @abc.abstractmethod
    def function(self, entry_id: str) -> "Function":
        """The callable of a function entry (built once by its kind)."""

    @abc.abstractmethod
    def runs_on(self, entry_id: str) -> str | None:
        """The host that runs ``entry_id`` when the caller names none (a workflow's worker), else None (the
        node's default local host)."""

    @abc.abstractmethod
    async def call(self, entry_id: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Run a function entry and return its result (its error is raised)."""

    # -- operations (routed by PID) ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def spawn(self, request: SpawnRequest, host_id: str | None = None) -> Pid:
        """Start a process on ``host_id`` (None: the default local host), linking the parent's half too."""

    @abc.abstractmethod
    async def exec(self, request: SpawnRequest, host_id: str | None = None) -> Any:
        """Spawn monitored and wait for that child's end: its value, or its error raised."""

    @abc.abstractmethod
    def send(self, pid: Pid, message: Message) -> None:
        """Post a message to ``pid`` wherever it runs."""

    @abc.abstractmethod
    async def monitor(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    async def unmonitor(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    async def link(self, watcher: "Process", target: Pid) -> None:
        """Link a local process to ``target`` (both halves); noproc raised, or LINK_DOWN when it traps links."""

    @abc.abstractmethod
    async def unlink(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    async def terminate(self, pid: Pid, reason: Error) -> bool: ...

    @abc.abstractmethod
    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool: ...

    @abc.abstractmethod
    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool: ...

    # -- other nodes (``temporal_host._cluster``) -------------------------------------------------------------------
    async def monitor_node(self, watcher: Pid, node: str) -> None:
        """NODEDOWN to ``watcher`` when node ``node`` goes down (at once when it is down or unreachable), NODEUP
        when it is back, until :meth:`demonitor_node`."""
        raise NotImplementedError

    async def demonitor_node(self, watcher: Pid, node: str) -> bool:
        raise NotImplementedError

    # -- names ----------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def register_name(self, name: str, pid: Pid, scope: str = "node") -> None:
        """Register ``name`` for ``pid`` (a process of any host) until it is unregistered or ``pid`` ends.
        ALREADY_EXISTS when another PID holds it (the same PID again is fine), NOT_FOUND when ``pid`` is known
        not to run, INVALID for a bad name."""

    @abc.abstractmethod
    async def unregister_name(self, name: str, scope: str = "node") -> bool:
        """Release ``name``; False when nobody held it."""

    async def whereis_name(self, name: str) -> Pid | None:
        """The holder of ``name``: this node's names, then the cluster's (a round trip to Temporal)."""
        return self.names.whereis(name)

    @abc.abstractmethod
    def catch_exits(self, watcher: Pid, catch: Callable[[Event], bool]) -> Callable[[], None]:
        """Offer every EXIT posted to ``watcher`` to ``catch(event)`` first; True takes it (it goes no further).
        ``watcher`` may be a PID no host owns: a private monitor (``host.monitor(watcher, target)``) that cannot
        disturb the monitors of any process, as a call's watch of its target and the process groups' watch of
        their members are. Returns the function that stops catching; called on the node's trio loop."""

    # -- posts: never block, never raise for a vanished target -------------------------------------------------
    @abc.abstractmethod
    def post_event(self, pid: Pid, event: Event) -> None:
        """Deliver EXIT / LINK_DOWN / CANCEL to ``pid`` (a watcher) on whichever host owns it."""

    @abc.abstractmethod
    def post_link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        """``sender``, linked to ``pid``, ended abnormally: the owning host traps it or ends ``pid``."""

    @abc.abstractmethod
    def forget_link(self, pid: Pid, other: Pid) -> None:
        """``other`` ended normally: drop ``pid``'s half of their link."""

    def count_sent(self, sender: Pid | None) -> None:
        """A host posted a message from ``sender``, a process of another host: the sender's host counts it
        (``Host.count_sent``). Never raises."""
        if sender is None:
            return
        try:
            self.route(sender).count_sent(sender)
        except Error:
            pass
