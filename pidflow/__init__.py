"""pidflow: Erlang-style processes for Python whose processes can also be durable workflows.

Layout, bottom up (docs/architecture.md has the whole picture): values (``_pid``, ``errors``, ``_events``,
``codec``); ``entries`` (apps as data) and ``_kind`` (what an entry kind is); ``_host`` (the host interface and
the node as hosts see it); ``_api`` (the process API shared by Python process bodies, ``pidflow.process``, and
top-level code, ``node.process``); the hosts and runtimes (``actors`` = local trio tasks, ``lua_bindings``,
``supervision``, ``temporal_host`` = Lua workflows on Temporal); ``node`` (routes operations by PID); ``kinds``
(the composition root: the built-in kinds); ``cli``. Only the names below are public.
"""

from ._api import ProcessAPI as ProcessAPI, Spawner as Spawner, acks_start as acks_start, ctx as ctx
from ._api import process as process
from ._events import Event as Event, EventKind as EventKind, ExitResult as ExitResult, Message as Message
from ._pid import Pid as Pid
from ._introspection import (
    DurableInfo as DurableInfo,
    ObserverEvent as ObserverEvent,
    ProcessInfo as ProcessInfo,
    TreeNode as TreeNode,
)
from .actors import Mailbox as Mailbox
from ._kind import Key as Key, Kind as Kind, KindRegistry as KindRegistry, Reference as Reference
from .entries import Entry as Entry, Registry as Registry, load as load_entries
from .errors import Error as Error, ErrorKind as ErrorKind
from .kinds import builtin_kinds as builtin_kinds, register_kind as register_kind
from .node import Node as Node, open_node as open_node
from .supervision import (
    ChildSpec as ChildSpec,
    Restart as Restart,
    Strategy as Strategy,
    Supervisor as Supervisor,
    SupervisorSpec as SupervisorSpec,
    start_supervisor as start_supervisor,
)
from . import aio as aio  # (a subpackage: pidflow.aio.open_node for asyncio programs)

__all__ = [
    "ChildSpec", "DurableInfo", "Entry", "Error", "ErrorKind", "Event", "EventKind", "ExitResult", "Key", "Kind",
    "KindRegistry", "Mailbox", "Message", "Node", "ObserverEvent", "Pid", "ProcessAPI", "ProcessInfo", "Reference",
    "Registry", "Restart", "Spawner", "Strategy", "Supervisor", "SupervisorSpec", "TreeNode", "acks_start", "builtin_kinds", "ctx", "load_entries", "open_node", "process",
    "register_kind", "start_supervisor",
]
