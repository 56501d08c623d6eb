"""The composition root: the built-in entry kinds, in one list.

Each package declares its own kinds (``actors``: ``process.host``, ``process.py``, ``function.py``;
``lua_bindings``: ``process.lua``, ``function.lua``, ``library.lua``; ``temporal_host``: ``temporal.client``,
``temporal.worker``, ``workflow.lua``; ``supervision``: ``supervisor``, ``process.service``; ``http``:
``http.service``, ``http.router``, ``http.endpoint``, ``http.static``; ``observer``: ``observer``). This module,
imported by the package ``__init__``, puts them into the default :class:`KindRegistry` that ``load_entries`` and
``open_node`` use. A kind of your own is a :class:`Kind` given to :func:`register_kind` (for every node of the
process) or to a registry of its own (``builtin_kinds()`` then ``register``) passed as ``kinds=`` to
``load_entries`` / ``open_node``.
"""

from __future__ import annotations

from . import _kind
from ._kind import Kind, KindRegistry
from .actors import KINDS as _ACTORS
from .http import KINDS as _HTTP
from .lua_bindings import KINDS as _LUA
from .observer import KINDS as _OBSERVER
from .supervision import KINDS as _SUPERVISION
from .temporal_host import KINDS as _TEMPORAL

#: Every built-in kind, in the order ``pidflow check`` lists them.
BUILTIN_KINDS: tuple[Kind, ...] = (*_ACTORS, *_LUA, *_TEMPORAL, *_SUPERVISION, *_HTTP, *_OBSERVER)

for _builtin in BUILTIN_KINDS:
    _kind.DEFAULT.register(_builtin)


def builtin_kinds() -> KindRegistry:
    """A new registry with the built-in kinds only: add kinds to it without touching the default."""
    return KindRegistry(BUILTIN_KINDS)


def default_kinds() -> KindRegistry:
    """The registry that ``load_entries`` and ``open_node`` use when given none."""
    return _kind.DEFAULT


def register_kind(kind: Kind) -> Kind:
    """Add ``kind`` to the default registry (ALREADY_EXISTS if its name is taken); returns it."""
    return _kind.DEFAULT.register(kind)
