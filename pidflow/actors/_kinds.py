"""The local host's entry kinds: ``process.host``, and Python code as ``process.py`` / ``function.py``."""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from .._api import call_context
from .._kind import Body, Key, Kind
from ..entries import Entry
from ..errors import Error, ErrorKind
from ._local_host import LocalHost

if TYPE_CHECKING:
    from .._host import Host, NodePort

#: The local host every node has, default unless the app declares a ``process.host``.
BUILTIN_HOST = "pidflow:local"


def _local_host(node: "NodePort", entry: Entry) -> "Host":
    return LocalHost(entry.id)


def _check_python_source(entry: Entry) -> list[str]:
    source = entry.spec.get("source")
    if source is None:
        return []  # reported as a missing key
    if not isinstance(source, str) or ":" not in source or source.startswith("file://"):
        return [f"source must be 'package.module:function', got {source!r}"]
    return []


def python_callable(entry: Entry) -> Callable[..., Any]:
    """Import ``package.module:function``; modules beside the app's YAML file are importable too."""
    module_name, _, attr = str(entry.spec["source"]).partition(":")
    if entry.file is not None and str(entry.file.parent) not in sys.path:
        sys.path.append(str(entry.file.parent))
    try:
        module = importlib.import_module(module_name)
        fn: Callable[..., Any] = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise Error(ErrorKind.NOT_FOUND, f"entry {entry.id}: cannot load {entry.spec['source']}: {exc}") from None
    except Exception as exc:  # the module itself failed while importing
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: importing {module_name} failed: "
                                       f"{type(exc).__name__}: {exc}") from None
    return fn


def _verify_body(entry: Entry) -> list[str]:
    try:
        _python_body(None, entry)  # type: ignore[arg-type]  # the node is not needed to import it
    except Error as exc:
        return [exc.message.removeprefix(f"entry {entry.id}: ")]
    return []


def _verify_function(entry: Entry) -> list[str]:
    try:
        fn = python_callable(entry)
    except Error as exc:
        return [exc.message.removeprefix(f"entry {entry.id}: ")]
    return [] if callable(fn) else [f"{entry.spec['source']} is not callable"]


def _python_body(node: "NodePort", entry: Entry) -> Body:
    fn = python_callable(entry)
    if not inspect.iscoroutinefunction(fn):
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: {entry.spec['source']} must be an async function main(input)")
    return fn


def _python_function(node: "NodePort", entry: Entry) -> Callable[..., Awaitable[Any]]:
    fn = python_callable(entry)

    async def call(*args: Any, context: Mapping[str, Any] | None = None) -> Any:
        with call_context(context):
            try:
                result = fn(*args)
                return await result if inspect.isawaitable(result) else result
            except Error:
                raise
            except Exception as exc:
                raise Error.wrap(exc) from None

    return call


def _source(what: str) -> Key:
    return Key("source", "package.module:function", what + "; modules beside the YAML file are importable",
               required=True)


KINDS = (
    Kind(name="process.host", host=_local_host, builtin=(BUILTIN_HOST,), default_host=True,
         description=f"A local host: its processes are trio tasks of this node. Every node has the built-in "
                     f"`{BUILTIN_HOST}`, the default host unless the app declares one of these."),
    Kind(name="process.py", check=_check_python_source, verify=_verify_body, body=_python_body,
         description="A Python process: an `async def main(input)` run as a process on a local host.",
         keys=(_source("the process body, an async function main(input)"),)),
    Kind(name="function.py", check=_check_python_source, verify=_verify_function, function=_python_function,
         description="A Python function for `node.call`, Lua `funcs.call` (an activity inside workflows) and "
                     "`http.endpoint` handlers.",
         keys=(_source("the function (def or async def) called with the caller's arguments"),)),
)
