"""``temporal.workflow.*`` and ``activity.*`` options: validated once, mapped to temporalio keyword arguments.

One table says, for every option of the workflow spec, its type, how it maps to temporalio, and where it
applies: when a client (a local process, top-level code) starts a workflow, when a workflow starts a child, or
both. The Temporal host owns every ``temporal.*`` key: one that does not exist, has the wrong type, or does not
apply where it is used is an INVALID error naming it. Keys outside ``temporal.*`` belong to other hosts or to the
seed runtime (``trap_links``, ``network``, ``activity.*``, which ``funcs`` executors take): a workflow start
passes them through, ignored, with a DEBUG line on logger ``pidflow``, as the local host does with ``temporal.*``
keys, so that one spawner can serve any host.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Mapping

import attrs
from temporalio import common, workflow

from .._duration import parse_duration
from .._kind import Key
from .._log import log as _log
from .._pid import Pid
from ..errors import Error, ErrorKind

#: The keys the Temporal host owns; anything else is passed through.
OWNED_PREFIX = "temporal."
PREFIX = "temporal.workflow."
ID_OPTION = PREFIX + "id"

CONFLICT_POLICIES = {
    "use_existing": common.WorkflowIDConflictPolicy.USE_EXISTING,
    "fail": common.WorkflowIDConflictPolicy.FAIL,
    "terminate_existing": common.WorkflowIDConflictPolicy.TERMINATE_EXISTING,
}
REUSE_POLICIES = {
    "allow_duplicate": common.WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    "allow_duplicate_failed_only": common.WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    "reject_duplicate": common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
}
PARENT_CLOSE_POLICIES = {
    "terminate": workflow.ParentClosePolicy.TERMINATE,
    "abandon": workflow.ParentClosePolicy.ABANDON,
    "request_cancel": workflow.ParentClosePolicy.REQUEST_CANCEL,
}


def _invalid(option: str, message: str) -> Error:
    return Error(ErrorKind.INVALID, f"option {option!r} {message}", details={"option": option})


def _string(option: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(option, f"must be a non-empty string, got {value!r}")
    return value


def _bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(option, f"must be a boolean, got {value!r}")
    return value


def _duration(option: str, value: Any) -> datetime.timedelta:
    try:
        return datetime.timedelta(seconds=parse_duration(value, what=f"option {option!r}"))
    except Error as exc:
        raise Error(ErrorKind.INVALID, exc.message, details={"option": option}) from None


def _table(option: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(option, f"must be a table, got {type(value).__name__}")
    return dict(value)


def _choice(choices: Mapping[str, Any]) -> Callable[[str, Any], Any]:
    def convert(option: str, value: Any) -> Any:
        if value not in choices:
            raise _invalid(option, f"must be one of {', '.join(choices)}, got {value!r}")
        return choices[value]

    return convert


_RETRY_KEYS = {"initial_interval", "backoff_coefficient", "maximum_interval", "maximum_attempts",
               "non_retryable_error_types"}


def retry_policy(option: str, value: Any) -> common.RetryPolicy:
    """A retry policy table; intervals are durations ("1s" or ms numbers)."""
    table = _table(option, value)
    unknown = sorted(set(table) - _RETRY_KEYS)
    if unknown:
        raise _invalid(option, f"has unknown key {unknown[0]!r} (known: {', '.join(sorted(_RETRY_KEYS))})")
    kwargs: dict[str, Any] = {}
    if "initial_interval" in table:
        kwargs["initial_interval"] = _duration(f"{option}.initial_interval", table["initial_interval"])
    if "maximum_interval" in table:
        kwargs["maximum_interval"] = _duration(f"{option}.maximum_interval", table["maximum_interval"])
    if "backoff_coefficient" in table:
        coefficient = table["backoff_coefficient"]
        if not isinstance(coefficient, (int, float)) or isinstance(coefficient, bool) or coefficient < 1:
            raise _invalid(f"{option}.backoff_coefficient", f"must be a number >= 1, got {coefficient!r}")
        kwargs["backoff_coefficient"] = float(coefficient)
    if "maximum_attempts" in table:
        attempts = table["maximum_attempts"]
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
            raise _invalid(f"{option}.maximum_attempts", f"must be a non-negative integer, got {attempts!r}")
        kwargs["maximum_attempts"] = attempts
    if "non_retryable_error_types" in table:
        kinds = table["non_retryable_error_types"]
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise _invalid(f"{option}.non_retryable_error_types", "must be a list of error kinds")
        kwargs["non_retryable_error_types"] = kinds
    return common.RetryPolicy(**kwargs)


def search_attributes(option: str, value: Any) -> common.TypedSearchAttributes:
    return typed_search_attributes(_table(option, value), option)


def typed_search_attributes(values: Mapping[str, Any], option: str = "search_attributes",
                            registered: Mapping[str, int] | None = None) -> common.TypedSearchAttributes:
    """Search attribute keys typed from their Lua values: strings are Keyword, integers Int, numbers Float,
    booleans Bool, lists of strings KeywordList (the server must know the key with that type). ``registered``
    (name -> ``IndexedValueType``, what the server says) wins where the value fits: Lua and JSON do not keep
    ``100`` apart from ``100.0``, so a number for a Double key is a Double, a string for a Text key is Text."""
    registered = registered or {}
    pairs: list[common.SearchAttributePair[Any]] = []
    for key, item in values.items():
        kind = registered.get(key)
        if isinstance(item, bool):
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_bool(key), item))
        elif isinstance(item, (int, float)) and kind == common.SearchAttributeIndexedValueType.DOUBLE:
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_float(key), float(item)))
        elif isinstance(item, float) and item.is_integer() and kind == common.SearchAttributeIndexedValueType.INT:
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_int(key), int(item)))
        elif isinstance(item, str) and kind == common.SearchAttributeIndexedValueType.TEXT:
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_text(key), item))
        elif isinstance(item, int):
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_int(key), item))
        elif isinstance(item, float):
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_float(key), item))
        elif isinstance(item, str):
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_keyword(key), item))
        elif isinstance(item, list) and all(isinstance(v, str) for v in item):
            pairs.append(common.SearchAttributePair(common.SearchAttributeKey.for_keyword_list(key), item))
        else:
            raise _invalid(f"{option}.{key}", f"must be a string, number, boolean or list of strings, got {item!r}")
    return common.TypedSearchAttributes(pairs)


@attrs.frozen
class _Option:
    convert: Callable[[str, Any], Any]
    client: str | None  # temporalio Client.start_workflow keyword, None when not applicable
    child: str | None  # workflow.start_child_workflow keyword, None when not applicable
    why_not: str = ""


WORKFLOW_OPTIONS: dict[str, _Option] = {
    "id": _Option(_string, "id", "id"),
    "task_queue": _Option(_string, "task_queue", "task_queue"),
    "execution_timeout": _Option(_duration, "execution_timeout", "execution_timeout"),
    "run_timeout": _Option(_duration, "run_timeout", "run_timeout"),
    "task_timeout": _Option(_duration, "task_timeout", "task_timeout"),
    "id_conflict_policy": _Option(_choice(CONFLICT_POLICIES), "id_conflict_policy", "id_conflict_policy"),
    "id_reuse_policy": _Option(_choice(REUSE_POLICIES), "id_reuse_policy", "id_reuse_policy"),
    "execution_error_when_already_started": _Option(_bool, "execution_error_when_already_started",
                                                    "execution_error_when_already_started"),
    "retry_policy": _Option(retry_policy, "retry_policy", "retry_policy"),
    "cron_schedule": _Option(_string, "cron_schedule", "cron_schedule"),
    "memo": _Option(_table, "memo", "memo"),
    "search_attributes": _Option(search_attributes, "search_attributes", "search_attributes"),
    "enable_eager_start": _Option(_bool, "request_eager_start", None,
                                  "applies only when starting from outside a workflow (children start through "
                                  "the parent's history)"),
    "start_delay": _Option(_duration, "start_delay", None,
                           "applies only when starting from outside a workflow (Temporal has no delayed child "
                           "workflows)"),
    "parent_close_policy": _Option(_choice(PARENT_CLOSE_POLICIES), None, "parent_close_policy",
                                   "applies only to child workflows started from a workflow"),
    "wait_for_cancellation": _Option(_bool, None, "cancellation_type",
                                     "applies only to child workflows started from a workflow"),
    "namespace": _Option(_string, "namespace", None,
                         "applies only when starting from outside a workflow (Temporal children share the "
                         "parent's namespace)"),
}


#: What each option means, for docs/options.md (``python -m pidflow._reference_docs``); one per key of
#: :data:`WORKFLOW_OPTIONS` (where each applies comes from that table).
WORKFLOW_OPTION_DOCS = (
    Key("id", "string", "the workflow id, the PID's id part; a running workflow with this id is reached "
                        "(id_conflict_policy)", default="the with_name name, else the entry id (':' as '-') and a UUID; a child: PARENT_ID/UUID"),
    Key("task_queue", "string", "the task queue the workflow runs on", default="the worker's task_queue"),
    Key("execution_timeout", "duration", "the longest the workflow may run, continue-as-new and retries included",
        default="none"),
    Key("run_timeout", "duration", "the longest one run may take", default="none"),
    Key("task_timeout", "duration", "the longest one workflow task may take before Temporal retries it",
        default="10s (Temporal's)"),
    Key("id_conflict_policy", " | ".join(CONFLICT_POLICIES), "what a start does when a workflow with the id "
                                                             "runs: reach it, fail (ALREADY_EXISTS), or terminate "
                                                             "it and start anew (not for children)",
        default="use_existing when an id or name is given, else fail"),
    Key("id_reuse_policy", " | ".join(REUSE_POLICIES), "whether the id of a closed workflow may start again",
        default="allow_duplicate"),
    Key("execution_error_when_already_started", "boolean", "fail with ALREADY_EXISTS when the id runs (the same as "
                                                           "id_conflict_policy fail)", default="false"),
    Key("retry_policy", "mapping", "Temporal retries of the whole workflow after it failed", default="none",
        keys=(Key("initial_interval", "duration", "the first wait", default="1s"),
              Key("backoff_coefficient", "number >= 1", "each wait is this much longer", default="2.0"),
              Key("maximum_interval", "duration", "the cap of a wait", default="100 x initial_interval"),
              Key("maximum_attempts", "non-negative integer", "attempts in all (0: no limit)", default="0"),
              Key("non_retryable_error_types", "list of strings", "error kinds not retried (INVALID, ...)",
                  default="[]"))),
    Key("cron_schedule", "string", "a cron schedule: the workflow runs again at each time", default="none"),
    Key("memo", "mapping", "values shown with the workflow, not indexed", default="none"),
    Key("search_attributes", "mapping", "indexed values typed from their values (string: Keyword, integer: Int, "
                                        "number: Double, boolean: Bool, list of strings: KeywordList)",
        default="none"),
    Key("enable_eager_start", "boolean", "ask the server to hand the first task to this worker at once",
        default="false"),
    Key("start_delay", "duration", "start the workflow this long after the call", default="none"),
    Key("parent_close_policy", " | ".join(PARENT_CLOSE_POLICIES), "what happens to the child when its parent "
                                                                  "workflow closes", default="terminate"),
    Key("wait_for_cancellation", "boolean", "cancelling the child waits until it has ended (false: only asks)",
        default="true"),
    Key("namespace", "string", "start the workflow in another namespace of the same server",
        default="the client's namespace"),
)


def workflow_pid(host_id: str, workflow_id: str, source: str) -> Pid:
    """The PID a workflow about to start under ``workflow_id`` will have. Checked before anything starts: a
    workflow running under an id that no PID can name would be out of everyone's reach, so such an id is INVALID,
    naming ``source`` (the option or the name it came from)."""
    try:
        return Pid(host_id, workflow_id)
    except Error:
        raise Error(ErrorKind.INVALID, f"{source} {workflow_id!r} can't be a workflow id: it is the id of a PID "
                                       "({host|id}), a non-empty string without '{' or '}'",
                    details={"workflow_id": workflow_id}) from None


def workflow_start_kwargs(options: Mapping[str, Any], *, where: str,
                          search_types: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Map ``temporal.workflow.*`` options to temporalio keywords for ``where`` in ("client", "child").
    ``search_types``: the server's search attribute types (see :func:`typed_search_attributes`).

    The result may hold the pseudo keywords ``namespace`` and ``execution_error_when_already_started``, which
    the caller resolves (a client for another namespace; the FAIL conflict policy). Keys outside ``temporal.*``
    are passed through (not in the result).
    """
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str) or not key.startswith(OWNED_PREFIX):
            _log.debug("option %r is not a Temporal option: passed through, ignored by the workflow start", key)
            continue
        if not key.startswith(PREFIX):
            raise Error(ErrorKind.INVALID, f"unknown option {key!r} for a workflow (workflow options start with "
                                           f"{PREFIX!r}; known: {', '.join(PREFIX + k for k in WORKFLOW_OPTIONS)})",
                        details={"option": key})
        name = key[len(PREFIX):]
        spec = WORKFLOW_OPTIONS.get(name)
        if spec is None:
            raise Error(ErrorKind.INVALID, f"unknown option {key!r} (known: "
                                           f"{', '.join(PREFIX + k for k in WORKFLOW_OPTIONS)})", details={"option": key})
        target = spec.client if where == "client" else spec.child
        if target is None:
            raise _invalid(key, spec.why_not)
        converted = spec.convert(key, value)
        if name == "search_attributes":
            converted = typed_search_attributes(_table(key, value), key, search_types)
        if name == "wait_for_cancellation":
            converted = (workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED if converted
                         else workflow.ChildWorkflowCancellationType.TRY_CANCEL)
        kwargs[target] = converted
    return kwargs


ACTIVITY_PREFIX = "activity."
_ACTIVITY_OPTIONS: dict[str, tuple[Callable[[str, Any], Any], str]] = {
    "retry_policy": (retry_policy, "retry_policy"),
    "start_to_close_timeout": (_duration, "start_to_close_timeout"),
    "schedule_to_close_timeout": (_duration, "schedule_to_close_timeout"),
    "schedule_to_start_timeout": (_duration, "schedule_to_start_timeout"),
    "heartbeat_timeout": (_duration, "heartbeat_timeout"),
    "task_queue": (_string, "task_queue"),
}


#: What each ``activity.*`` option means, for docs/options.md; one per key of ``_ACTIVITY_OPTIONS``.
ACTIVITY_OPTION_DOCS = (
    Key("retry_policy", "mapping", "Temporal retries of the call, as temporal.workflow.retry_policy (errors made "
                                   "with retryable = false are never retried)",
        default="initial_interval 1s, maximum_attempts 3"),
    Key("start_to_close_timeout", "duration", "the longest one attempt may run", default="5m"),
    Key("schedule_to_close_timeout", "duration", "the longest the call may take, retries included",
        default="none"),
    Key("schedule_to_start_timeout", "duration", "the longest the call may wait for a worker", default="none"),
    Key("heartbeat_timeout", "duration", "an attempt without a heartbeat for this long fails (function entries "
                                         "do not heartbeat: it bounds each attempt)", default="none"),
    Key("task_queue", "string", "the task queue of the worker that runs the function",
        default="the workflow's worker's task_queue"),
)


def activity_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``activity.*`` options (``funcs.new():with_options{...}``) to ``workflow.execute_activity`` keywords."""
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        name = key[len(ACTIVITY_PREFIX):] if key.startswith(ACTIVITY_PREFIX) else None
        spec = _ACTIVITY_OPTIONS.get(name) if name else None
        if spec is None:
            known = ", ".join(ACTIVITY_PREFIX + k for k in _ACTIVITY_OPTIONS)
            raise Error(ErrorKind.INVALID, f"unknown option {key!r} for funcs (known: {known})", details={"option": key})
        convert, target = spec
        kwargs[target] = convert(key, value)
    return kwargs
