"""The Temporal entry kinds: ``temporal.client`` (a connection, pure data), ``temporal.worker`` (a host whose
processes are workflows on its task queue) and ``workflow.lua`` (a durable Lua process run by a worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._kind import Key, Kind, Reference
from ..entries import Entry
from ..lua_bindings import CODE_KEY_DOCS, SOURCE_KEY, check_imports_of, check_lua_code, import_references
from ._protocol import CLIENT_KIND, WORKER_KIND, WORKFLOW_KIND, worker_of

CLUSTER_KIND = "temporal.cluster"
CLUSTER_HOST = "pidflow:cluster"

if TYPE_CHECKING:
    from .._host import Host, NodePort

TLS_KEYS = ("ca_file", "cert_file", "key_file", "server_name")
WORKER_LIMITS = ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows")


def _check_client(entry: Entry) -> list[str]:
    spec, problems = entry.spec, []
    tls = spec.get("tls")
    if tls is not None and not isinstance(tls, bool):
        if not isinstance(tls, Mapping):
            problems.append(f"tls must be true or a mapping of {', '.join(TLS_KEYS)}")
        else:
            problems.extend(f"unknown key {key!r} in tls (known: {', '.join(TLS_KEYS)})"
                            for key in sorted(set(tls) - set(TLS_KEYS), key=str))
            problems.extend(f"tls.{key} must be a string" for key in TLS_KEYS
                            if key in tls and not isinstance(tls[key], str))
    for key in ("address", "namespace", "api_key", "state_dir"):
        if key in spec and not isinstance(spec[key], str):
            problems.append(f"{key} must be a string")
    size = spec.get("max_payload_size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 64):
        problems.append(f"max_payload_size must be a number of bytes above 64, got {size!r}")
    attributes = spec.get("search_attributes")
    if attributes is not None and (not isinstance(attributes, Mapping)
                                   or not all(isinstance(v, str) for v in attributes.values())):
        problems.append("search_attributes must be a mapping of attribute name to type (Keyword, Text, Int, ...)")
    return problems


def _check_worker(entry: Entry) -> list[str]:
    problems = []
    if not isinstance(entry.spec.get("task_queue"), str) or not entry.spec["task_queue"]:
        problems.append(f"task_queue must be a non-empty string, got {entry.spec.get('task_queue')!r}")
    if "client" in entry.spec and not isinstance(entry.spec["client"], str):
        problems.append(f"client must be an entry id, got {entry.spec['client']!r}")
    for key in WORKER_LIMITS:
        value = entry.spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            problems.append(f"{key} must be a positive integer, got {value!r}")
    return problems


def _worker_references(entry: Entry) -> list[Reference]:
    client = entry.ref("client") if isinstance(entry.spec.get("client"), str) else None
    return [Reference("client", client, kinds=(CLIENT_KIND,))] if client else []


def _check_workflow(entry: Entry) -> list[str]:
    problems = check_lua_code(entry)
    temporal = entry.meta.get("temporal")
    if temporal is not None and not isinstance(temporal, Mapping):
        return [*problems, f"meta.temporal must be a mapping, got {type(temporal).__name__}"]
    workflow = (temporal or {}).get("workflow")
    if workflow is not None and not isinstance(workflow, Mapping):
        return [*problems, f"meta.temporal.workflow must be a mapping, got {type(workflow).__name__}"]
    worker = entry.workflow_meta.get("worker")
    if not worker:
        problems.append("meta.temporal.workflow.worker is required (the temporal.worker entry that runs it)")
    elif not isinstance(worker, str):
        problems.append(f"meta.temporal.workflow.worker must be an entry id, got {worker!r}")
    name = entry.workflow_meta.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        problems.append(f"meta.temporal.workflow.name must be a non-empty string, got {name!r}")
    return problems


def _workflow_references(entry: Entry) -> list[Reference]:
    worker = entry.workflow_meta.get("worker")
    if not isinstance(worker, str) or not worker:
        return import_references(entry)
    return [Reference("meta.temporal.workflow.worker", worker_of(entry), kinds=(WORKER_KIND,)),
            *import_references(entry)]


def _worker_host(node: "NodePort", entry: Entry) -> "Host":
    from ._host import TemporalHost  # temporalio loads only for apps that have a worker

    return TemporalHost(entry)


def _cluster_host(node: "NodePort", entry: Entry) -> "Host | None":
    """The host of every process on another node (``_cluster``), for a node that joins a cluster: a named one,
    or one whose app uses Temporal. temporalio loads only then."""
    if not node.named and not any(e.kind in (CLIENT_KIND, WORKER_KIND) for e in node.registry):
        return None
    from ._cluster import ClusterHost

    return ClusterHost()


_DEFAULT_CLIENT = "the default client: PIDFLOW_TEMPORAL_ADDRESS, else the state folder's embedded dev server"

CLIENT_KEYS = (
    Key("address", "host:port", "the Temporal frontend to connect to",
        default="PIDFLOW_TEMPORAL_ADDRESS, else the state folder's embedded dev server"),
    Key("namespace", "string", "the Temporal namespace", default="default"),
    Key("tls", "true or mapping", "TLS to the server: true (system roots) or files", default="false",
        keys=(Key("ca_file", "path", "the server's root CA certificate (PEM)"),
              Key("cert_file", "path", "the client certificate (PEM), for mutual TLS"),
              Key("key_file", "path", "the client certificate's private key (PEM)"),
              Key("server_name", "string", "the name the server's certificate is checked against"))),
    Key("api_key", "string", "an API key (Temporal Cloud); env:NAME reads the environment variable NAME"),
    Key("state_dir", "string", "accepted for the seed runtime's YAML, no effect: the state folder is the node's "
                               "(open_node(state_dir=), --state-dir, PIDFLOW_STATE_DIR)"),
    Key("search_attributes", "mapping of name to type", "search attributes the embedded dev server registers "
                                                        "(Keyword, Text, Int, Double, Bool, Datetime, KeywordList)",
        default="status, customer_id: Keyword; order_total: Double (always registered)"),
    Key("max_payload_size", "integer (bytes, > 64)", "the largest payload to or from a workflow; a bigger one "
                                                     "fails its sender with INVALID",
        default="the limit the namespace reports (2 MiB on a default server); workflows: 2 MiB"),
)
WORKER_KEYS = (
    Key("task_queue", "string", "the task queue its workflows and activities run on", required=True),
    Key("client", "entry id", "the temporal.client it connects with", default=_DEFAULT_CLIENT),
    Key("max_concurrent_activities", "positive integer", "activities (funcs.call) this worker runs at once",
        default="100 (temporalio's)"),
    Key("max_concurrent_workflow_tasks", "positive integer", "workflow tasks this worker runs at once",
        default="100 (temporalio's)"),
    Key("max_cached_workflows", "positive integer", "runs kept in memory between tasks, each with its Lua state "
                                                    "(about 100 KiB)", default="1000 (temporalio's)"),
)

KINDS = (
    Kind(name=CLUSTER_KIND, host=_cluster_host, builtin=(CLUSTER_HOST,),
         description=f"Built in, never declared: `{CLUSTER_HOST}`, the host of the processes of other nodes of the "
                     "node's Temporal namespace (docs/cluster.md). Spawn there with `HOST@NODE`."),
    Kind(name=CLIENT_KIND, keys=CLIENT_KEYS, check=_check_client,
         description="A connection to Temporal, read by the workers that name it (pure data: it builds nothing). "
                     "Without an address, the embedded dev server of the node's state folder."),
    Kind(name=WORKER_KIND, keys=WORKER_KEYS, check=_check_worker, references=_worker_references, host=_worker_host,
         description="A host whose processes are durable workflows (`workflow.lua`) on its task queue; its PIDs "
                     "are `{worker|workflow id}`."),
    Kind(name=WORKFLOW_KIND, keys=(SOURCE_KEY, *CODE_KEY_DOCS), check=_check_workflow,
         references=_workflow_references, check_graph=check_imports_of, process=True, runs_on=worker_of,
         description="A durable Lua process: a Temporal workflow run by the `temporal.worker` its meta names "
                     "(messages are signals, timers durable, `funcs.call` an activity).",
         meta_keys=(
             Key("temporal.workflow.worker", "entry id", "the temporal.worker that runs it", required=True),
             Key("temporal.workflow.name", "string", "the Temporal workflow type", default="the entry id"),
         )),
)
