"""The ``workflow`` Lua module: what only a durable process has (info, versioning, attributes, history,
continue-as-new, synchronous child workflows)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

from ..errors import Error, ErrorKind
from ..lua_bindings import ModuleContext, register_module
from ._options import typed_search_attributes
from ._workflow_port import WorkflowPort

DEFAULT_VERSION = -1


def _patch_id(change_id: str, version: int) -> str:
    return f"{change_id}@v{version}"


def get_version(port: WorkflowPort, change_id: str, min_supported: int, max_supported: int) -> int:
    """Go's ``GetVersion`` on Temporal patches: a new run records ``max_supported`` (a marker named after the
    version); a replay finds the recorded one (the highest marker present); a run recorded before the call
    existed gets DEFAULT_VERSION (-1). A version outside ``[min, max]`` is an error: the code no longer supports
    that run. The first answer per change id is kept for the rest of the run, as in Go."""
    if not isinstance(change_id, str) or not change_id:
        raise Error(ErrorKind.INVALID, "workflow.version expects a change id string")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (min_supported, max_supported)):
        raise Error(ErrorKind.INVALID, "workflow.version expects integer min and max versions")
    if min_supported > max_supported:
        raise Error(ErrorKind.INVALID, f"workflow.version({change_id!r}): min {min_supported} > max {max_supported}")
    version = port.versions.get(change_id)
    if version is None:
        version = DEFAULT_VERSION
        # Probe below min too (replay only reaches there: a new run records max at once), so that a run recorded
        # with a version the code dropped is reported, not left as an unclaimed marker (a task failure loop).
        for candidate in range(max_supported, -1, -1):
            if workflow.patched(_patch_id(change_id, candidate)):
                version = candidate
                break
        port.versions[change_id] = version
    if not min_supported <= version <= max_supported:
        raise Error(ErrorKind.NON_DETERMINISTIC,
                    f"workflow.version({change_id!r}, {min_supported}, {max_supported}): this run recorded version "
                    f"{version}, which the code no longer supports", retryable=False)
    return version


def _info() -> dict[str, Any]:
    info = workflow.info()
    out: dict[str, Any] = {
        "workflow_id": info.workflow_id,
        "run_id": info.run_id,
        "workflow_type": info.workflow_type,
        "task_queue": info.task_queue,
        "namespace": info.namespace,
        "attempt": info.attempt,
        "history_length": info.get_current_history_length(),
        "history_size": info.get_current_history_size(),
        "continue_as_new_suggested": info.is_continue_as_new_suggested(),
        "start_time": info.start_time.isoformat(),
    }
    if info.parent is not None:
        out["parent_workflow_id"] = info.parent.workflow_id
    if info.continued_run_id:
        out["continued_run_id"] = info.continued_run_id
    if info.cron_schedule:
        out["cron_schedule"] = info.cron_schedule
    return out


def _attrs(port: WorkflowPort, values: Any) -> bool:
    if not isinstance(values, dict):
        raise Error(ErrorKind.INVALID, "workflow.attrs expects a table {search = {...}, memo = {...}}")
    unknown = set(values) - {"search", "memo"}
    if unknown:
        raise Error(ErrorKind.INVALID, f"workflow.attrs: unknown key {sorted(unknown)[0]!r} (known: search, memo)")
    search = values.get("search")
    if search:
        if not isinstance(search, dict):
            raise Error(ErrorKind.INVALID, "workflow.attrs: search must be a table")
        typed = typed_search_attributes(search, "workflow.attrs search", port.config.search_attribute_types)
        workflow.upsert_search_attributes([pair.key.value_set(pair.value) for pair in typed])
    memo = values.get("memo")
    if memo:
        if not isinstance(memo, dict):
            raise Error(ErrorKind.INVALID, "workflow.attrs: memo must be a table")
        workflow.upsert_memo(memo)
    return True


# workflow.version raises (as Go's GetVersion panics) instead of returning ``nil, err``: a run recorded with a
# version the code no longer supports is found while replaying, where failing the workflow cannot match the
# history; a raised Lua error fails the workflow task instead, retried until a deploy supports that version.
_RAISING_LUA = """
local fn = ...
local error = error
return function(...)
  local value, err = fn(...)
  if err ~= nil then error(err, 2) end
  return value
end
"""


def _workflow(ctx: ModuleContext) -> Any:
    port = ctx.backend.process_api
    if not isinstance(port, WorkflowPort):
        raise Error(ErrorKind.UNAVAILABLE, f"entry {ctx.entry_id}: the workflow module is only available in "
                                           "workflow.lua entries")

    async def exec_(entry: Any, input: Any = None, options: Any = None) -> Any:
        if not isinstance(entry, str):
            raise Error(ErrorKind.INVALID, "workflow.exec expects an entry id string")
        return await port.exec(entry, None, (input,), options=options or {}, name=None, messages=[], context={})

    async def continue_as_new(input: Any = None) -> Any:
        port.request_continue_as_new(input)
        await asyncio.Event().wait()  # never resumes: the run ends here

    return ctx.table(
        info=ctx.function(_info),
        exec=ctx.blocking(exec_),
        version=ctx.load_lua(_RAISING_LUA, "workflow.version",
                             ctx.function(lambda change_id, lo, hi: get_version(port, change_id, lo, hi))),
        attrs=ctx.function(lambda values: _attrs(port, values)),
        history_length=ctx.function(lambda: workflow.info().get_current_history_length()),
        history_size=ctx.function(lambda: workflow.info().get_current_history_size()),
        continue_as_new=ctx.blocking(continue_as_new),
    )


register_module("workflow", _workflow)
