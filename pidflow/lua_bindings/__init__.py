"""The Lua runtime of pidflow: sandboxed lupa states, a coroutine scheduler with channels and timers, value
conversion, and the Lua modules, over a small backend interface (trio for local processes, a deterministic one
inside Temporal workflows).

Layout: ``_backend`` (the :class:`LuaBackend` ABC and preemption policies), ``_trio_backend``, ``_runtime``
(one sandboxed Lua state; ``compile_check``), ``_sandbox``, ``_core.lua`` (scheduler, channel receive,
``require``) and its parts loaded on first use (``_core_channel.lua``, ``_core_timers.lua``,
``_core_coroutine.lua``, ``_core_values.lua``, ``_core_blocking.lua``, ``_core_guards.lua``,
``_core_match.lua``, ``_core_tick.lua``), ``_driver`` (:class:`LuaProcess`), ``_admission`` (what a Lua
process's mailboxes admit),
``_values``, ``_durations``, ``_modules`` (registry), ``_stdlib`` (channel, time, json, uuid, crypto, errors,
ctx, funcs; ``_errors_module`` and ``_funcs_module`` hold errors and funcs, ``_time_module`` time, over
``_time_calendar`` and ``_time_layout``), ``_local`` (local Lua processes and functions), ``_library`` (libraries: ``imports`` and their
``require``), ``_kinds`` (their entry kinds).
"""

from ._backend import Budget as Budget
from ._backend import LuaBackend as LuaBackend
from ._backend import TimeSlice as TimeSlice
from ._driver import LuaProcess as LuaProcess
from ._durations import parse_duration as parse_duration
from ._modules import ALWAYS_AVAILABLE as ALWAYS_AVAILABLE
from ._modules import ModuleContext as ModuleContext
from ._modules import register_module as register_module
from ._runtime import DEFAULT_MAX_MEMORY as DEFAULT_MAX_MEMORY
from ._runtime import compile_check as compile_check
from ._trio_backend import TrioBackend as TrioBackend
from ._values import as_pid as as_pid
from ._local import local_function as local_function
from ._local import local_process_body as local_process_body
from ._process_module import ProcessPort as ProcessPort
from ._kinds import KINDS as KINDS
from ._kinds import check_lua_code as check_lua_code
from ._kinds import CODE_KEYS as CODE_KEYS
from ._kinds import CODE_KEY_DOCS as CODE_KEY_DOCS
from ._kinds import SOURCE_KEY as SOURCE_KEY
from ._kinds import check_imports_of as check_imports_of
from ._kinds import import_references as import_references
from ._kinds import lua_imports as lua_imports
from ._library import Imports as Imports
from ._library import Library as Library
from . import _pg_module  # noqa: E402,F401  (registers the pg module)
