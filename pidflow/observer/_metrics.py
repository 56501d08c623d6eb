"""``GET /metrics``: the node's numbers in the Prometheus text format, and temporalio's own, re-exported.

Design note. Each node has its own ``CollectorRegistry`` (``metrics_registry(node)``) holding two collectors that
read at scrape time: the node's (``node.processes()`` for processes by host and status and the mailbox lengths,
``node.observer_counters()`` for the running totals, the ``http.service`` request counts), and temporalio's.
Nothing is sampled in between, so an idle observer costs nothing.

temporalio reports its client and worker metrics through the telemetry of its ``Runtime``, chosen once per Python
process before a client connects. Its ``PrometheusConfig`` would bind a second address of its own; instead
:func:`enable_temporal_metrics` installs a default runtime whose metrics go to a ``MetricBuffer``, drained every
second by a daemon thread (the buffer drops updates once full, so it must be drained whether or not anybody
scrapes) and folded into running values: counters summed, gauges last value, histograms into fixed buckets,
durations in seconds. Every node's ``/metrics`` shows the process's temporalio metrics: they are labelled with
namespace and task queue, not with a node.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("pidflow")

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: ``node.resources`` key of the node's registry.
REGISTRY_KEY = "pidflow.observer.metrics"
#: Upper bounds of the mailbox length histogram (``+Inf`` is added).
MAILBOX_BUCKETS = (0, 1, 5, 10, 50, 100, 500, 1_000, 10_000)
#: Upper bounds of temporalio's histograms (mostly durations, in seconds).
TEMPORAL_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: How often the temporalio buffer is drained, in seconds, and how many updates it holds in between.
DRAIN_INTERVAL = 1.0
BUFFER_SIZE = 100_000


def metrics_registry(node: "Node") -> CollectorRegistry:
    """The node's Prometheus registry (created on first use): register metrics of your own on it to have them
    on the observer's ``/metrics``."""
    registry = node.resources.get(REGISTRY_KEY)
    if registry is None:
        registry = node.resources[REGISTRY_KEY] = CollectorRegistry(auto_describe=False)
        registry.register(_NodeCollector(node))
        registry.register(_TemporalCollector())
    return registry


def render(node: "Node") -> bytes:
    return generate_latest(metrics_registry(node))


# -- the node's numbers -----------------------------------------------------------------------------------------------
def _family(name: str, help: str, kind: str) -> Metric:
    return Metric(name, help, kind)


def _counter(name: str, help: str, values: Mapping[tuple[tuple[str, str], ...], float]) -> Metric:
    family = _family(name, help, "counter")
    for labels, value in values.items():
        family.add_sample(f"{name}_total", dict(labels), value)
    return family


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


class _NodeCollector:
    """Reads the node at scrape time."""

    def __init__(self, node: "Node") -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        infos = node.processes()
        by_state: Counter[tuple[str, str]] = Counter((info.host, info.status) for info in infos)
        processes = _family("pidflow_processes", "Processes by host and status", "gauge")
        for (host, status), n in sorted(by_state.items()):
            processes.add_sample("pidflow_processes", {"host": host, "status": status}, n)
        yield processes

        lengths = [info.mailbox for info in infos]
        buckets = [(str(bound), sum(1 for n in lengths if n <= bound)) for bound in MAILBOX_BUCKETS]
        yield GaugeHistogramMetricFamily("pidflow_mailbox_length", "Mailbox lengths of the processes now",
                                         buckets=[*buckets, ("+Inf", len(lengths))], gsum_value=sum(lengths))

        counters = node.observer_counters()
        yield _counter("pidflow_spawns", "Processes started", {(): _number(counters.get("spawns"))})
        exits = counters.get("exits") or {}
        yield _counter("pidflow_exits", "Processes ended, by the kind of their reason (normal: a normal end)",
                       {(("kind", str(kind)),): _number(n) for kind, n in sorted(exits.items())})
        yield _counter("pidflow_restarts", "Children restarted by their supervisors",
                       {(): _number(counters.get("restarts"))})
        yield _counter("pidflow_messages_sent", "Messages sent", {(): _number(counters.get("messages_sent"))})
        yield _counter("pidflow_messages_delivered", "Messages delivered into a mailbox",
                       {(): _number(counters.get("messages_delivered"))})
        yield _counter("pidflow_workflow_signals", "Signals sent to workflows (messages and events for durable "
                       "processes)", {(): _number(counters.get("workflow_signals"))})
        yield _counter("pidflow_observer_events_dropped", "Events observers lost by not keeping up",
                       {(): _number(counters.get("events_dropped"))})
        subscriptions = _family("pidflow_observer_subscriptions", "Open event subscriptions", "gauge")
        subscriptions.add_sample("pidflow_observer_subscriptions", {}, _number(counters.get("observers")))
        yield subscriptions

        from ..http._middleware import request_counts

        requests: dict[tuple[tuple[str, str], ...], float] = {(("server", server), ("method", method), ("status", str(status))): float(n)
                    for server, counts in sorted(request_counts(node).items())
                    for (method, status), n in sorted(counts.items())}
        yield _counter("pidflow_http_requests", "Requests answered by the node's http.service servers", requests)


# -- temporalio's numbers ---------------------------------------------------------------------------------------------
_TEMPORAL: dict[str, "_TemporalMetrics"] = {}
_TEMPORAL_LOCK = threading.Lock()
_NAME = re.compile(r"[^a-zA-Z0-9_:]")


def enable_temporal_metrics() -> "_TemporalMetrics":
    """Install (once per Python process) a temporalio default runtime whose metrics the observer re-exports.
    Clients connected before keep the runtime they had, so call this before ``open_node`` (``pidflow run``
    does)."""
    with _TEMPORAL_LOCK:
        metrics = _TEMPORAL.get("metrics")
        if metrics is None:
            from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig

            buffer = MetricBuffer(BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)
            Runtime.set_default(Runtime(telemetry=TelemetryConfig(metrics=buffer)), error_if_already_set=False)
            metrics = _TEMPORAL["metrics"] = _TemporalMetrics(buffer)
            metrics.start()
        return metrics


class _Series:
    """One temporalio metric's running values by label set."""

    def __init__(self, name: str, help: str, kind: str) -> None:
        self.name, self.help, self.kind = name, help, kind
        self.values: dict[tuple[tuple[str, str], ...], float] = {}
        self.histograms: dict[tuple[tuple[str, str], ...], list[float]] = {}  # bucket counts..., sum, count

    def add(self, labels: tuple[tuple[str, str], ...], value: float) -> None:
        if self.kind == "counter":
            self.values[labels] = self.values.get(labels, 0.0) + value
        elif self.kind == "gauge":
            self.values[labels] = value
        else:
            counts = self.histograms.get(labels)
            if counts is None:
                counts = self.histograms[labels] = [0.0] * (len(TEMPORAL_BUCKETS) + 2)
            for i, bound in enumerate(TEMPORAL_BUCKETS):
                if value <= bound:
                    counts[i] += 1
            counts[-2] += value
            counts[-1] += 1

    def family(self) -> Metric:
        family = _family(self.name, self.help, self.kind)
        if self.kind == "counter":
            for labels, value in self.values.items():
                family.add_sample(f"{self.name}_total", dict(labels), value)
        elif self.kind == "gauge":
            for labels, value in self.values.items():
                family.add_sample(self.name, dict(labels), value)
        else:
            for labels, counts in self.histograms.items():
                for bound, n in zip(TEMPORAL_BUCKETS, counts):
                    family.add_sample(f"{self.name}_bucket", {**dict(labels), "le": str(bound)}, n)
                family.add_sample(f"{self.name}_bucket", {**dict(labels), "le": "+Inf"}, counts[-1])
                family.add_sample(f"{self.name}_sum", dict(labels), counts[-2])
                family.add_sample(f"{self.name}_count", dict(labels), counts[-1])
        return family


class _TemporalCollector:
    """temporalio's metrics once :func:`enable_temporal_metrics` ran, else nothing."""

    def collect(self) -> Iterator[Metric]:
        metrics = _TEMPORAL.get("metrics")
        if metrics is not None:
            yield from metrics.collect()


class _TemporalMetrics:
    """temporalio's metrics, drained from its ``MetricBuffer`` and kept as running values (a collector)."""

    def __init__(self, buffer: Any) -> None:
        self._buffer = buffer
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}

    def start(self) -> None:
        threading.Thread(target=self._drain_every_second, name="pidflow-temporal-metrics", daemon=True).start()

    def _drain_every_second(self) -> None:
        while True:  # for the life of the process, as the runtime it drains
            time.sleep(DRAIN_INTERVAL)
            try:
                self.drain()
            except Exception:  # noqa: BLE001 - metrics must never take anything down: try again next time
                log.exception("observer: draining temporalio's metrics failed")

    def drain(self) -> None:
        from temporalio.runtime import BUFFERED_METRIC_KIND_COUNTER, BUFFERED_METRIC_KIND_GAUGE

        with self._lock:
            updates = self._buffer.retrieve_updates()
            for update in updates:
                metric = update.metric
                series = self._series.get(metric.name)
                if series is None:
                    name = _NAME.sub("_", metric.name)
                    if not name.startswith("temporal_"):
                        name = f"temporal_{name}"
                    if name.endswith("_total") and metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                        name = name[: -len("_total")]
                    kind = {BUFFERED_METRIC_KIND_COUNTER: "counter", BUFFERED_METRIC_KIND_GAUGE: "gauge"}.get(
                        metric.kind, "histogram")
                    series = self._series[metric.name] = _Series(name, metric.description or metric.name, kind)
                labels = tuple(sorted((_NAME.sub("_", str(k)), str(v)) for k, v in update.attributes.items()))
                series.add(labels, float(update.value))

    def collect(self) -> Iterator[Metric]:
        self.drain()
        with self._lock:
            families = [series.family() for series in self._series.values()]
        yield from families
