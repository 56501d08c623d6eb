"""Entry kinds: what each kind of entry is, declared by the package that owns it.

Design note. A :class:`Kind` is data: its name, its keys, how its values are checked, which other entries it
refers to, and what the node builds from its entries (a host, a process body, a function, a service started
with the node). Packages declare their kinds in one module each (``actors/_kinds.py``, ``lua_bindings/_kinds.py``,
``supervision/_kinds.py``, ``temporal_host/_kinds.py``); the composition root ``pidflow/kinds.py`` registers the
built-in ones into :data:`DEFAULT`. ``entries`` validates with a :class:`KindRegistry` and the node builds through
one, so neither imports a runtime package, and adding a kind touches one package and no core file.

A kind's keys are data too (:class:`Key`: name, type, default, meaning), the one place that says which keys it
accepts: ``required`` / ``optional`` are derived from them, and ``docs/entries.md`` is generated from them
(``python -m pidflow._reference_docs``), so the reference cannot drift from what the loader accepts. Values are
still checked by the kind's ``check`` function: a type written as text documents, it does not validate.

Rejected: packages registering themselves on import (which kinds exist would depend on what happened to be
imported) and a second table of kind names in the node or the CLI (two places to keep in step).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from ._host import Host, NodePort
    from ._pid import Pid
    from .entries import Entry, Registry

#: A process body: called with the spawn's input (``body(input)``), or with its positional arguments when the
#: spawner gave zero or several (``body(*args)``, see ``SpawnRequest.argv``).
Body = Callable[..., Awaitable[Any]]
Function = Callable[..., Awaitable[Any]]

#: The keys every entry may have, whatever its kind.
COMMON_KEYS = frozenset({"name", "kind", "description", "meta"})


class Service(Protocol):
    """Something an entry started with the node; stopped in reverse start order when the node stops."""

    @property
    def pid(self) -> "Pid | None":
        """The process that is the service (a root supervisor), or None."""

    async def stop(self) -> None: ...


@attrs.frozen
class Reference:
    """``entry``'s ``key`` names ``target``, which must be one of ``kinds`` or have one of ``roles``."""

    key: str
    target: str
    kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def accepts(self, kind: "Kind") -> bool:
        return kind.name in self.kinds or bool(kind.roles & set(self.roles))

    def expected(self) -> str:
        return " or ".join([*self.kinds, *(f"a {role}" for role in self.roles)])


def _key_set(keys: Iterable[str]) -> frozenset[str]:
    """A kind's keys as a frozenset (``frozenset`` itself as the converter leaves its element type unknown)."""
    return frozenset(keys)


def _keys(keys: Iterable["Key"]) -> tuple["Key", ...]:
    return tuple(keys)


@attrs.frozen
class Key:
    """One key of an entry kind, for readers: ``name``; ``type``, as text (``"string"``, ``"duration"``,
    ``"file://path.lua"``, ``"mapping"``); ``doc``, one line saying what it means; ``required``; ``default``, as
    text, the value the kind uses when the key is absent (None: no default, the key's absence means something
    of its own, said in ``doc``); ``keys``, the keys of a mapping value (or of each mapping in a list value)."""

    name: str
    type: str
    doc: str
    required: bool = attrs.field(default=False, kw_only=True)
    default: str | None = attrs.field(default=None, kw_only=True)
    keys: tuple["Key", ...] = attrs.field(default=(), kw_only=True, converter=_keys)


def _key_names(keys: Iterable[Key], where: str) -> list[str]:
    """The names of ``keys``; INVALID for a value that is no :class:`Key` or a name given twice (at any depth)."""
    names: list[str] = []
    for key in keys:
        if not isinstance(key, Key):
            raise Error(ErrorKind.INVALID, f"{where}: keys takes pidflow.Key values, got {type(key).__name__}")
        if key.name in names:
            raise Error(ErrorKind.INVALID, f"{where}: key {key.name!r} is declared twice")
        names.append(key.name)
        _key_names(key.keys, f"{where}: key {key.name}")
    return names


@attrs.frozen(kw_only=True)
class Kind:
    """One kind of entry. Every field but ``name`` is optional; a kind that builds nothing is pure data (a
    ``temporal.client`` is read by the hosts that name it).

    - ``description``: one line saying what an entry of this kind is (``docs/entries.md`` shows it).
    - ``keys``: its keys besides :data:`COMMON_KEYS`, as :class:`Key` values; any other key is an error.
      ``meta_keys``: the keys it reads under ``meta`` (documentation only: ``meta`` is free-form).
    - ``required`` / ``optional``: the names of its required and optional keys, derived from ``keys``. A kind
      may give these two instead of ``keys`` (its keys are then undocumented), not both (unless they agree).
    - ``check(entry)``: problems with the values (strings, each naming the key); never raises.
    - ``verify(entry)``: problems found by loading the entry's code (importing a Python module), which
      ``pidflow check`` runs once the app loaded; never raises.
    - ``references(entry)``: the other entries it names, checked once every file is read.
    - ``check_graph(entry, registry)``: problems that need the other entries in view (an import cycle), checked
      with the references; never raises.
    - ``host(node, entry)``: a :class:`~pidflow._host.Host`, started with the node before any service (None:
      a built-in host this node has no use for, such as the cluster's on a node that joins none).
    - ``body(node, entry)``: an async ``main(input)`` that a local host runs as a process.
    - ``function(node, entry)``: an async callable for ``node.call`` and ``funcs.call``.
    - ``service(node, entry)``: started with the node, in declaration order, after the hosts; returns a
      :class:`Service`, or None when this entry is not to be started (not a root, ``auto_start: false``).
    - ``process``: its entries are processes even without a ``body`` (a host of another kind runs them).
    - ``runs_on(entry)``: the host that runs the entry when the caller names none (a workflow's worker).
    - ``builtin``: entry ids of this kind the node always has (the built-in local host), first of all.
    - ``default_host``: hosts of this kind can be the node's default; the first declared one is.
    """

    name: str
    description: str = ""
    keys: tuple[Key, ...] = attrs.field(default=(), converter=_keys)
    meta_keys: tuple[Key, ...] = attrs.field(default=(), converter=_keys)
    required: frozenset[str] = attrs.field(default=frozenset(), converter=_key_set)
    optional: frozenset[str] = attrs.field(default=frozenset(), converter=_key_set)
    check: Callable[["Entry"], Iterable[str]] | None = None
    verify: Callable[["Entry"], Iterable[str]] | None = None
    references: Callable[["Entry"], Iterable[Reference]] | None = None
    check_graph: Callable[["Entry", "Registry"], Iterable[str]] | None = None
    host: Callable[["NodePort", "Entry"], "Host | None"] | None = None
    body: Callable[["NodePort", "Entry"], Body] | None = None
    function: Callable[["NodePort", "Entry"], Function] | None = None
    service: Callable[["NodePort", "Entry"], Awaitable[Service | None]] | None = None
    process: bool = False
    runs_on: Callable[["Entry"], str | None] | None = None
    builtin: tuple[str, ...] = ()
    default_host: bool = False

    def __attrs_post_init__(self) -> None:
        """One source of key names: ``required`` / ``optional`` from ``keys``, or ``keys`` (undocumented) from
        them when a kind gives only names."""
        where = f"entry kind {self.name}"
        _key_names(self.meta_keys, f"{where}: meta_keys")
        if not self.keys:
            both = self.required & self.optional
            if both:
                raise Error(ErrorKind.INVALID, f"{where}: key {sorted(both)[0]!r} is both required and optional")
            keys = [Key(n, "any", "", required=True) for n in sorted(self.required)]
            keys += [Key(n, "any", "") for n in sorted(self.optional)]
            object.__setattr__(self, "keys", tuple(keys))
            return
        _key_names(self.keys, where)
        required = frozenset(k.name for k in self.keys if k.required)
        optional = frozenset(k.name for k in self.keys if not k.required)
        if (self.required or self.optional) and (self.required, self.optional) != (required, optional):
            raise Error(ErrorKind.INVALID, f"{where}: give keys or required/optional, not both (required and "
                                           "optional are derived from keys)")
        object.__setattr__(self, "required", required)
        object.__setattr__(self, "optional", optional)

    def key(self, name: str) -> Key | None:
        """The declared key ``name`` (a top-level key of the entry), or None."""
        return next((k for k in self.keys if k.name == name), None)

    @property
    def roles(self) -> frozenset[str]:
        """What the node can do with its entries: ``host``, ``process``, ``function``, ``service``."""
        roles: set[str] = set()
        if self.host is not None:
            roles.add("host")
        if self.body is not None or self.process:
            roles.add("process")
        if self.function is not None:
            roles.add("function")
        if self.service is not None:
            roles.add("service")
        return frozenset(roles)


class KindRegistry:
    """Kinds by name. The node and ``entries`` take one; :data:`DEFAULT` holds the built-in kinds (and any
    registered with :func:`pidflow.register_kind`)."""

    def __init__(self, kinds: Iterable[Kind] = ()) -> None:
        self._kinds: dict[str, Kind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: Kind) -> Kind:
        """Add ``kind``; ALREADY_EXISTS when its name is taken (a kind is never silently replaced)."""
        if not isinstance(kind, Kind):
            raise Error(ErrorKind.INVALID, f"register takes a pidflow.Kind, got {type(kind).__name__}")
        if kind.name in self._kinds:
            raise Error(ErrorKind.ALREADY_EXISTS, f"entry kind {kind.name} is registered already")
        unknown = (kind.required | kind.optional) & COMMON_KEYS
        if unknown:
            raise Error(ErrorKind.INVALID, f"entry kind {kind.name}: {sorted(unknown)[0]!r} is a key of every entry")
        self._kinds[kind.name] = kind
        return kind

    def copy(self) -> "KindRegistry":
        """A registry with the same kinds, to add to without changing this one."""
        return KindRegistry(self._kinds.values())

    def find(self, name: str) -> Kind | None:
        return self._kinds.get(name)

    def get(self, name: str) -> Kind:
        kind = self._kinds.get(name)
        if kind is None:
            raise Error(ErrorKind.NOT_FOUND, f"unknown kind {name!r} (known: {', '.join(sorted(self._kinds))})")
        return kind

    def with_role(self, role: str) -> list[Kind]:
        return [kind for kind in self._kinds.values() if role in kind.roles]

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    # -- validation (called by ``entries``) ------------------------------------------------------------------------
    def check(self, entry: "Entry") -> list[str]:
        """Problems with an entry's keys and values (its kind is known)."""
        kind = self._kinds[entry.kind]
        problems = [f"missing key {key!r}" for key in sorted(kind.required - entry.spec.keys())]
        problems += [f"unknown key {key!r} for kind {kind.name}"
                     for key in sorted(entry.spec.keys() - kind.required - kind.optional - COMMON_KEYS)]
        if kind.check is not None:
            try:
                problems.extend(kind.check(entry))
            except Exception as exc:  # a kind's checker is code too: its crash is a problem to report, not ours
                problems.append(f"kind {kind.name} could not check this entry: {type(exc).__name__}: {exc}")
        return problems

    def verify(self, registry: "Registry") -> list[str]:
        """Problems found by loading the code of every entry whose kind can (``pidflow check``)."""
        problems: list[str] = []
        for entry in registry:
            kind = self._kinds.get(entry.kind)
            if kind is None or kind.verify is None:
                continue
            try:
                found = list(kind.verify(entry))
            except Exception as exc:  # same rule as check(): the verifier's crash is reported, not raised
                found = [f"kind {kind.name} could not verify this entry: {type(exc).__name__}: {exc}"]
            problems.extend(f"{entry.file}: entry {entry.id}: {p}" for p in found)
        return problems

    def check_references(self, entry: "Entry", registry: "Registry") -> list[str]:
        """Problems with what ``entry`` names: unknown entries, or entries of a kind it cannot use; then the
        kind's ``check_graph``."""
        kind = self._kinds.get(entry.kind)
        if kind is None:
            return []
        problems: list[str] = []
        for ref in kind.references(entry) if kind.references is not None else ():
            target = registry.find(ref.target)
            if target is None:
                problems.append(f"{ref.key} refers to unknown entry {ref.target}")
                continue
            target_kind = self._kinds.get(target.kind)
            if target_kind is None or not ref.accepts(target_kind):
                problems.append(f"{ref.key} refers to {ref.target}, a {target.kind}, expected {ref.expected()}")
        if kind.check_graph is not None:
            try:
                problems.extend(kind.check_graph(entry, registry))
            except Exception as exc:  # same rule as check()
                problems.append(f"kind {kind.name} could not check this entry: {type(exc).__name__}: {exc}")
        return problems


#: The kinds ``pidflow.load_entries`` and ``pidflow.open_node`` use unless given others. The composition root
#: (``pidflow/kinds.py``, imported by the package) fills it with the built-in kinds.
DEFAULT = KindRegistry()
