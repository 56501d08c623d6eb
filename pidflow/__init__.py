"""pidflow: Erlang-style processes for Python whose processes can also be durable workflows.

Layout: ``node`` routes operations to hosts (``actors`` = local trio tasks, ``temporal_host`` = Lua workflows
on Temporal); ``_api`` is the process API shared by Python process bodies (``pidflow.process``) and top-level
code (``node.process``); ``lua_bindings`` gives Lua the same API; ``supervision`` restarts children;
``entries`` loads apps from YAML. Only the names below are public.
"""

from ._api import ProcessAPI as ProcessAPI, Spawner as Spawner, ctx as ctx, process as process
from ._events import Event as Event, EventKind as EventKind, ExitResult as ExitResult, Message as Message
from ._pid import Pid as Pid
from .actors import Mailbox as Mailbox
from .entries import Entry as Entry, Registry as Registry, load as load_entries
from .errors import Error as Error, ErrorKind as ErrorKind
from .node import Node as Node, open_node as open_node
from .supervision import (
    ChildSpec as ChildSpec,
    Restart as Restart,
    Strategy as Strategy,
    Supervisor as Supervisor,
    SupervisorSpec as SupervisorSpec,
    start_supervisor as start_supervisor,
)

__all__ = [
    "ChildSpec", "Entry", "Error", "ErrorKind", "Event", "EventKind", "ExitResult", "Mailbox", "Message", "Node",
    "Pid", "ProcessAPI", "Registry", "Restart", "Spawner", "Strategy", "Supervisor", "SupervisorSpec", "ctx",
    "load_entries", "open_node", "process", "start_supervisor",
]
