"""Per-node Temporal plumbing shared by every ``temporal.worker`` host of the node.

One asyncio thread (temporalio is asyncio; the node is trio), the clients by ``temporal.client`` entry, the
embedded dev server when a client has no address, and the node's own task queue: workflows reach this node's
local processes through activities on ``pidflow-node-<node name>``, so a message from a workflow finds the
right node on any machine with no cluster protocol of our own.

Where a client has no ``address``: ``PIDFLOW_TEMPORAL_ADDRESS`` if set (tests, a server elsewhere), else the
embedded dev server of the node's state folder (``_state_folder``): started by this node with its SQLite file
there, or found running (another node, ``pidflow dev``) and used as a client.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import trio
from temporalio.client import Client, TLSConfig

from ..entries import Entry
from .._log import log as _log
from ..errors import Error, ErrorKind
from . import _limits as limits
from ._aio import AsyncioThread, open_asyncio_thread
from ._converter import DATA_CONVERTER

if TYPE_CHECKING:
    from .._host import NodePort
    from ._state_folder import FolderServer

ADDRESS_ENV = "PIDFLOW_TEMPORAL_ADDRESS"
UI_PORT_ENV = "PIDFLOW_TEMPORAL_UI_PORT"  # the embedded server's web UI port (default: a free port)
UI_URL_ENV = "PIDFLOW_TEMPORAL_UI_URL"  # the web UI of a server elsewhere (for the observer's workflow links)
# Search attributes the embedded server knows from the start (the workflow spec's examples use them).
DEFAULT_SEARCH_ATTRIBUTES = {"status": "Keyword", "customer_id": "Keyword", "order_total": "Double"}
# A dev server serves one developer, so it should answer at once. By default it hands out new tasks at most 20
# times a second (a workflow going one step at a time, such as a message from a workflow to a local process,
# waits up to 50 ms per step) and lets timers fire up to a second late (measured: a 10 ms sleep took ~1 s).
DEV_DYNAMIC_CONFIG = {"history.transferProcessorMaxPollRPS": 10_000, "history.timerProcessorMaxTimeShift": "10ms"}


def node_task_queue(node_name: str) -> str:
    return f"pidflow-node-{node_name}"


class TemporalService:
    """Get it with ``await TemporalService.for_node(node)``; it stops after the node's hosts."""

    def __init__(self, node: "NodePort") -> None:
        self.node = node
        self.aio: AsyncioThread = None  # type: ignore[assignment]
        self._clients: dict[str | None, Client] = {}
        self._search_types: dict[str, dict[str, int]] = {}
        self._blob_limits: dict[str, int] = {}
        self._dev_server: FolderServer | None = None
        self._stopped = trio.Event()
        self._node_worker: Any = None
        self._lock = trio.Lock()

    @classmethod
    async def for_node(cls, node: "NodePort") -> "TemporalService":
        service = node.resources.get("temporal")
        if service is None:
            service = node.resources["temporal"] = cls(node)
            await node.start_task(service._serve)
            node.on_stop(service.stop)
        return service

    async def _serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with open_asyncio_thread(f"pidflow-temporal-{self.node.name}") as aio:
            self.aio = aio
            task_status.started()
            await self._stopped.wait()
            if self._node_worker is not None:
                with trio.CancelScope(shield=True):
                    await aio.run(self._node_worker.shutdown)
            if self._dev_server is not None:
                with trio.CancelScope(shield=True):
                    await aio.run(self._dev_server.astop)

    async def stop(self) -> None:
        self._stopped.set()

    # -- clients ------------------------------------------------------------------------------------------------
    async def client(self, client_entry: Entry | None) -> Client:
        """The client of a ``temporal.client`` entry (None: the default client), connected once per node."""
        key = client_entry.id if client_entry is not None else None
        async with self._lock:
            if key not in self._clients:
                self._clients[key] = await self._connect(client_entry)
                if self._node_worker is None:
                    await self._start_node_worker(self._clients[key])
        return self._clients[key]

    async def search_attribute_types(self, client: Client) -> dict[str, int]:
        """The search attributes the client's namespace registered (name -> ``IndexedValueType``), once per
        namespace, so that Lua values get the registered type; empty when the server does not tell (no operator
        access): values are then typed by themselves."""
        if client.namespace not in self._search_types:
            from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

            async def fetch() -> dict[str, int]:
                response = await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=client.namespace))
                return {**response.system_attributes, **response.custom_attributes}

            try:
                self._search_types[client.namespace] = await self.aio.run(fetch)
            except Exception:  # noqa: BLE001 - optional knowledge, see the docstring
                self._search_types[client.namespace] = {}
        return self._search_types[client.namespace]

    async def payload_limit(self, client: Client, client_entry: Entry | None) -> int:
        """Bytes a payload may take (``_limits``): the entry's ``max_payload_size`` (trusted as given: a payload
        codec or proxy may change sizes on the way), else the limit the client's namespace reports, asked once
        per namespace, else Temporal's default."""
        configured = limits.configured(client_entry)
        if configured is not None:
            return configured
        if client.namespace not in self._blob_limits:
            from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

            async def fetch() -> int:
                response = await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=client.namespace))
                return response.namespace_info.limits.blob_size_limit_error

            try:
                reported = await self.aio.run(fetch)
            except Exception:  # noqa: BLE001 - optional knowledge (older servers do not report it)
                reported = 0
            self._blob_limits[client.namespace] = reported if reported > limits.ENVELOPE \
                else limits.DEFAULT_MAX_PAYLOAD_SIZE
        return self._blob_limits[client.namespace]

    async def _connect(self, entry: Entry | None) -> Client:
        spec = entry.spec if entry is not None else {}
        address = configured_address(entry)
        if not address:
            address = await self._embedded_server(spec)
        options = connect_options(entry)

        async def connect() -> Client:
            return await Client.connect(address, **options)

        try:
            return await self.aio.run(connect)
        except Exception as exc:
            where = f"entry {entry.id}" if entry is not None else "the default client"
            raise Error(ErrorKind.UNAVAILABLE, f"{where}: cannot connect to Temporal at {address}: {exc}") from None

    async def _embedded_server(self, spec: Any) -> str:
        """The state folder's server (``_state_folder``): started by this node, or another owner's, found."""
        if self._dev_server is None:
            self._dev_server = embedded_server(self.node.state_dir, spec)
            record = await self.aio.run(self._dev_server.astart)
            _log.info("%s Temporal server of %s at %s; web UI at %s",
                      "started the" if self._dev_server.owner else f"using process {record.owner_pid}'s",
                      self._dev_server.state_dir, record.address, record.ui_url or "(none)")
        return self._dev_server.address

    async def _start_node_worker(self, client: Client) -> None:
        """Poll this node's queue; in a cluster (``_cluster``), claim the node's name first, so that a node whose
        name is taken never takes another node's work off its queue."""
        from ._node_queue import start_node_worker

        cluster = self.node.resources.get("cluster")
        if cluster is not None:
            await cluster.join(self, client)
        self._node_worker = await start_node_worker(self, client, cluster)
        if cluster is not None:
            await cluster.joined_cluster()

    @property
    def task_queue(self) -> str:
        return node_task_queue(self.node.name)

    @property
    def ui_url(self) -> str | None:
        """The Temporal web UI's address, when known (the observer links workflows to it): ``PIDFLOW_TEMPORAL_UI_URL``
        if set, else the UI of the state folder's dev server (embedded, or ``pidflow dev``'s, which has one)."""
        configured = os.environ.get(UI_URL_ENV)
        if configured:
            return configured
        record = getattr(self._dev_server, "record", None)
        return getattr(record, "ui_url", None)


def default_client_entry(registry: Any) -> Entry | None:
    """The client a node joins its cluster with when nothing else connected first: the first worker's client,
    else the first ``temporal.client`` entry, else the default client (None)."""
    from ._protocol import CLIENT_KIND, WORKER_KIND

    for entry in registry:
        if entry.kind == WORKER_KIND and entry.spec.get("client"):
            return registry.get(entry.spec["client"])  # type: ignore[no-any-return]
    return next((entry for entry in registry if entry.kind == CLIENT_KIND), None)


def configured_address(entry: Entry | None) -> str | None:
    """Where a ``temporal.client`` entry (None: the default client) connects: its ``address``, else
    ``PIDFLOW_TEMPORAL_ADDRESS``; None means the embedded server of the state folder."""
    spec = entry.spec if entry is not None else {}
    return spec.get("address") or os.environ.get(ADDRESS_ENV) or None


def connect_options(entry: Entry | None) -> dict[str, Any]:
    """``Client.connect`` keyword arguments of a ``temporal.client`` entry (namespace, TLS, API key, converter)."""
    spec = entry.spec if entry is not None else {}
    tls: Any = False
    if spec.get("tls"):
        tls = _tls_config(entry, spec["tls"])
    api_key = spec.get("api_key")
    if isinstance(api_key, str) and api_key.startswith("env:"):
        api_key = os.environ.get(api_key[4:])
    return dict(namespace=spec.get("namespace", "default"), tls=tls, api_key=api_key, data_converter=DATA_CONVERTER)


def embedded_server(state_dir: Any, spec: Any) -> "FolderServer":
    """The ``FolderServer`` of a state folder for a client entry's ``spec`` (its search attributes; the UI port
    from ``PIDFLOW_TEMPORAL_UI_PORT`` when set, else a free one)."""
    from ._state_folder import FolderServer

    ui_port = os.environ.get(UI_PORT_ENV)
    if ui_port is not None and not ui_port.isdigit():
        raise Error(ErrorKind.INVALID, f"{UI_PORT_ENV} must be a port number, got {ui_port!r}")
    attributes = {**DEFAULT_SEARCH_ATTRIBUTES, **(spec.get("search_attributes") or {})}
    return FolderServer(state_dir, search_attributes=attributes, dynamic_config=DEV_DYNAMIC_CONFIG,
                        ui_port=int(ui_port) if ui_port else None)


def _tls_config(entry: Entry | None, tls: Any) -> Any:
    if tls is True:
        return True
    if not isinstance(tls, dict):
        raise Error(ErrorKind.INVALID, f"entry {entry.id if entry else '?'}: tls must be true or a table")
    unknown = set(tls) - {"ca_file", "cert_file", "key_file", "server_name"}
    if unknown:
        raise Error(ErrorKind.INVALID, f"entry {entry.id if entry else '?'}: unknown tls key {sorted(unknown)[0]!r}")

    def read(key: str) -> bytes | None:
        path = tls.get(key)
        return open(path, "rb").read() if path else None

    return TLSConfig(server_root_ca_cert=read("ca_file"), client_cert=read("cert_file"),
                     client_private_key=read("key_file"), domain=tls.get("server_name"))
