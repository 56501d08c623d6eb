"""A Lua state that can be reset to a snapshot: what makes a pooled state (``_state_pool``) safe to reuse.

Design note. A pooled state is made like any other (sandbox, core), then gets the core's parts that runs
commonly load (values, blocking calls, coroutine and pcall wrappers, the load/print/setmetatable wrappers,
channels, timers, the guarded string and table functions, the allocation tick), the modules registered
``per_state`` that the entry may use (``http``, ``json``, ``channel``, ``process`` with its common members),
the entry's compiled chunk, and a full collection. That moment is its *clean point*, and the snapshot records
it: every table reachable from the roots (the global table ``_G`` with the libraries and the core's lazy
metatable, the core with its internals, the string metatable, the entry's chunk, the functions Python holds),
walking table keys and values, metatables (raw: ``__metatable`` does not hide them) and the upvalues of every
function (through the debug library's functions, kept for this state by the sandbox and held by Python only).
For each table it keeps a copy of its contents and its metatable; for each upvalue that some function may
assign (read from the bytecode: ``_upvalue_writes``; every upvalue of a C function) its value. The Python side
of the preloaded modules (the objects behind the functions they made) is recorded too, attribute by attribute.

Reset, after a run that returned: every recorded table gets back exactly its recorded contents and metatable,
every recorded upvalue its value, the main thread its instruction hook, ``math.random`` a fresh seed (its state
is C state, not a table), and the modules' Python objects their attributes. So whatever a run did to anything
that existed at the clean point (globals set or removed, a library or module function replaced, a metatable
set on ``_G`` or on the string metatable, the core's scheduler queue, timers, module cache and parts, the
chunk's ``_ENV``, the members a module made during the run) is undone, and whatever it created is unreachable
afterwards (garbage). The other modules are built per run, after the clean point, as in a fresh state; only
their compiled chunks are cached (:meth:`PooledRuntime.load_builtin`: a module chunk's only upvalue is ``_ENV``,
which no module code assigns). Python fetches every core function it uses before the clean point, so none comes
from a part that a reset unloads.

Cost: the snapshot walks ~50 tables and ~200 upvalues once per state (~0.5 ms); a reset checks each table in
one pass (``next`` over it; values that are tables compared with ``rawequal``, so no ``__eq`` of the caller's
runs) and rewrites only what differs, then the ~15 upvalues that can change: ~15-25 µs, against ~120 µs to make
a fresh state plus the parts and modules a run loads. Memory: the copies, the preloaded parts and modules,
~60 KiB per pooled state (pools are bounded; ordinary processes pay for none of it: the sandbox hands the debug
functions over only for ``pool=True``).

Rejected: proxies in front of the shared tables (``rawget(_G, k)``, ``next(string)`` and ``pairs`` would no
longer see the library); a fresh global table per run (the core, its parts and the string metatable refer to
the one ``_G`` and library tables; copies would not be what ``("x"):upper()`` uses); checking only the tables
user code can reach (which tables a module function hands out is not decidable from here, and a missed one
would leak silently); checking every upvalue (~200 ``getupvalue`` calls, a third of the reset, for cells that
nothing assigns).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lupa.lua54 as lupa

from ._runtime import _EXPORTS, INITIAL_HOOK_COUNT, Runtime
from ._upvalue_writes import assigned_upvalues

#: The core's parts a pooled state loads before its clean point (a part loaded during a call is unloaded by the
#: reset and would load again in the next call; ``tick`` must be there: each load starts a finalizer chain).
#: Left out: ``match`` (the Lua pattern matcher, ~30 KiB, for costly patterns only) and ``where``.
PRELOADED_PARTS = (b"values", b"blocking", b"coroutine", b"globals", b"channel", b"timers", b"guards", b"tick")

#: Members of per_state modules that a pooled state builds before its clean point (the process module makes
#: each member on first access; these are the ones most runs use).
PRELOADED_MEMBERS: dict[str, tuple[str, ...]] = {"process": ("pid", "send", "inbox", "spawn", "events", "id")}

SNAPSHOT_LUA = r"""
local H, sethook, hookfn, hookcount, roots, assigned = ...
local getupvalue, setupvalue, upvalueid, getmt, setmt = H.getupvalue, H.setupvalue, H.upvalueid, H.getmetatable, H.setmetatable
local getinfo, dump, byte = H.getinfo, H.dump, string.byte
local next, type, rawget, rawset, rawequal, randomseed = next, type, rawget, rawset, rawequal, math.randomseed
sethook()
-- the tables, the copies of their fields apart by value (table or userdata: compared with rawequal, as `~=`
-- between two tables would run an __eq; anything else: compared with `~=`, which then runs none), their
-- metatables (false: none) and field counts
local T, CS, CT, M, N, nt = {}, {}, {}, {}, {}, 0
-- the upvalues that may change: a function holding it, the index there, the value, whether that value is a table
-- or userdata. Every upvalue's value is walked; an upvalue is watched when a function holding it may assign it
-- (``assigned(dump)``, from its bytecode: _upvalue_writes.py), or is a C function's (or one whose bytecode could
-- not be read)
local UF, UI, UV, UR, nu = {}, {}, {}, {}, 0
local REF = {table = true, userdata = true}
local cell_f, cell_i, cell_v, watched = {}, {}, {}, {}
local seen, stack, sp = {}, {}, 0
local function push(v)
  local ty = type(v)
  if (ty == "table" or ty == "function") and not seen[v] then
    seen[v] = true
    sp = sp + 1
    stack[sp] = v
  end
end
for i = 1, roots.n do push(roots[i]) end
push(getmt(""))
while sp > 0 do
  local v = stack[sp]
  stack[sp] = nil
  sp = sp - 1
  if type(v) == "table" then
    local cs, ct, n = {}, {}, 0
    for k, x in next, v do
      if REF[type(x)] then ct[k] = x else cs[k] = x end
      n = n + 1
      push(k)
      push(x)
    end
    local mt = getmt(v)
    push(mt)
    nt = nt + 1
    T[nt], CS[nt], CT[nt], M[nt], N[nt] = v, cs, ct, mt or false, n
  else
    local marks
    if getinfo(v, "S").what ~= "C" then
      local list = assigned(dump(v, true))
      if list then
        marks = {}
        for j = 1, #list do marks[byte(list, j)] = true end
      end
    end
    local i = 1
    while true do
      local name, x = getupvalue(v, i)
      if name == nil then break end
      local id = upvalueid(v, i)
      if cell_f[id] == nil then
        cell_f[id], cell_i[id], cell_v[id] = v, i, x
        push(x)
      end
      if marks == nil or marks[i] then watched[id] = true end
      i = i + 1
    end
  end
end
for id in next, watched do
  nu = nu + 1
  local x = cell_v[id]
  UF[nu], UI[nu], UV[nu], UR[nu] = cell_f[id], cell_i[id], x, REF[type(x)] or false
end
seen, stack, cell_f, cell_i, cell_v, watched = nil, nil, nil, nil, nil, nil
sethook(hookfn, "", hookcount)

-- restore() -> how many tables, metatables and upvalues it rewrote
return function()
  sethook()
  local changed = 0
  for i = 1, nt do
    -- one pass checks every field and puts back what differs (clearing or assigning an existing field during a
    -- traversal is allowed); fields the call removed are added back after it
    local t, cs, ct = T[i], CS[i], CT[i]
    local kept, dirty = 0, false
    for k, x in next, t do
      local v = cs[k]
      if v == nil then
        v = ct[k]
        if v == nil then
          rawset(t, k, nil)
          dirty = true
        else
          kept = kept + 1
          if not rawequal(v, x) then rawset(t, k, v); dirty = true end
        end
      else
        kept = kept + 1
        if v ~= x then rawset(t, k, v); dirty = true end
      end
    end
    if kept ~= N[i] then
      dirty = true
      for k, x in next, cs do if rawget(t, k) == nil then rawset(t, k, x) end end
      for k, x in next, ct do if rawget(t, k) == nil then rawset(t, k, x) end end
    end
    if dirty then changed = changed + 1 end
    local mt, now = M[i] or nil, getmt(t)
    -- (`~=` with a nil side runs no metamethod; two tables are compared raw)
    if (now == nil or mt == nil) and now ~= mt or now ~= nil and mt ~= nil and not rawequal(now, mt) then
      changed = changed + 1
      setmt(t, mt)
    end
  end
  for i = 1, nu do
    local f, j, x = UF[i], UI[i], UV[i]
    local _, y = getupvalue(f, j)
    if UR[i] then
      if not rawequal(x, y) then changed = changed + 1; setupvalue(f, j, x) end
    elseif x ~= y then
      changed = changed + 1
      setupvalue(f, j, x)
    end
  end
  randomseed()
  sethook(hookfn, "", hookcount)
  return changed
end, nt, nu
"""


_CONTAINERS = (dict, list, set)


def clean_objects(functions: Iterable[Any], owner: Any) -> tuple[tuple[Any, dict[str, Any]], ...]:
    """The Python side of the modules a pooled state built before its clean point: each object whose bound
    methods are among ``functions`` (the process's functions for Lua), but ``owner`` (the process itself), with its
    attributes as they are now (containers copied), for :func:`restore_objects`."""
    seen: dict[int, Any] = {}
    for fn in functions:
        obj = getattr(fn, "__self__", None)
        if obj is not None and obj is not owner and id(obj) not in seen:
            seen[id(obj)] = obj
    return tuple((obj, _attributes(obj)) for obj in seen.values())


def _attributes(obj: Any) -> dict[str, Any]:
    names = [name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())]
    state = {name: getattr(obj, name) for name in names if name != "__weakref__" and hasattr(obj, name)}
    state.update(getattr(obj, "__dict__", {}))
    return {name: value.copy() if type(value) in _CONTAINERS else value for name, value in state.items()}


def restore_objects(objects: tuple[tuple[Any, dict[str, Any]], ...]) -> None:
    """Put the attributes recorded by :func:`clean_objects` back (fresh copies of containers), and drop any added
    since."""
    for obj, state in objects:
        extra = set(getattr(obj, "__dict__", ())) - state.keys()
        for name in extra:
            delattr(obj, name)
        for name, value in state.items():
            setattr(obj, name, value.copy() if type(value) in _CONTAINERS else value)


def _assigned(dump: bytes) -> bytes | None:
    """For the snapshot: the upvalues a function may assign (1-based, one byte each); None: read all of them."""
    try:
        return assigned_upvalues(dump)
    except (ValueError, IndexError):
        return None


class PooledRuntime(Runtime):
    """A :class:`Runtime` that can take a snapshot of itself (:meth:`snapshot`) and go back to it (:meth:`reset`).
    Made with ``pool=True``: the sandbox then hands over the debug functions the snapshot needs."""

    __slots__ = ("_helpers", "_chunks", "_restore", "snapshot_size", "main_args", "clean_size", "clean_fns",
                 "clean_objects")

    def _init_pool(self, helpers: Any) -> None:
        self._helpers = helpers
        #: Our own compiled chunks (module code) by (name, source), loaded once per state.
        self._chunks: dict[tuple[str, str], Any] = {}
        self._restore: Any = None
        #: (tables, upvalues) the snapshot records.
        self.snapshot_size = (0, 0)
        #: The arguments of the core's ``main`` for the entry (its chunk, method, id, path), set by the driver.
        self.main_args: tuple[Any, ...] = ()
        #: Bytes the state uses at its clean point, its snapshot included.
        self.clean_size: int = 0
        #: The process's Python functions for Lua at the clean point (of the modules built before it), and the
        #: Python objects of those modules with their attributes then (see :func:`clean_objects`).
        self.clean_fns: tuple[Any, ...] = ()
        self.clean_objects: tuple[tuple[Any, dict[str, Any]], ...] = ()

    def preload_module(self, name: str, members: Iterable[str] = ()) -> None:
        """Build module ``name`` now, as its lazy global (the core's ``require`` cache gets it too), and touch
        ``members`` (a module that makes members on first access makes them now). A module that cannot be built
        here (``process`` in a state for ``node.call``, which has no process) is left to each call, as in a
        fresh state."""
        try:
            module = self.env[name.encode()]
            for member in members:
                module[member.encode()]
        except lupa.LuaError:
            pass

    def load_builtin(self, source: str, name: str) -> Any:
        key = (name, source)
        chunk = self._chunks.get(key)
        if chunk is None:
            chunk = self._chunks[key] = super().load_builtin(source, name)
        return chunk

    def snapshot(self, *roots: Any) -> None:
        """Load the preloaded parts, fetch every core function Python uses (so none is fetched after the clean
        point, from a part the reset would unload), collect, and record the clean point (``roots``: the Lua
        values Python holds besides the core and ``_G``, e.g. the entry's chunk)."""
        for part in PRELOADED_PARTS:
            self._export(b"S", part)
        for name in _EXPORTS:
            getattr(self, name)
        self.collect()
        held = (self.core, self.env, self._export, self._raw_load, self._load, self._gc,
                *(getattr(self, name) for name in _EXPORTS), *roots)
        table = self.lua.table_from({i + 1: v for i, v in enumerate(held)})
        table[b"n"] = len(held)
        restore, tables, upvalues = self.load_builtin(SNAPSHOT_LUA, "pool.snapshot")(
            self._helpers, self.sethook, self.hookfn, INITIAL_HOOK_COUNT, table, _assigned)
        self._restore = restore
        self.snapshot_size = (tables, upvalues)
        self.collect()
        self.clean_size = self.lua.get_memory_used()

    def reset(self) -> int:
        """Back to the clean point (see the module docstring); the count of tables and upvalues rewritten. What
        the call left is garbage now: collected at once when it is more than the clean state itself (an idle
        pooled state should not hold a call's big tables until the next call's collector gets to them)."""
        changed: int = self._restore()
        if self.lua.get_memory_used() > 2 * self.clean_size:
            self.collect()
        return changed
