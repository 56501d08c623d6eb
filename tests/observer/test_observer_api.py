"""The observer's JSON API and event stream against ``examples/mixed_tree`` run as a user runs it
(``pidflow run examples/mixed_tree --observe 127.0.0.1:0``, a token in ``PIDFLOW_OBSERVER_TOKEN``): its root
supervisor and four children, the durable one with its workflow id, actions that restart children, and bad input
that never stops the node."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from observed_app import TOKEN, WORKFLOW_ID, RunningApp, get_json, open_events, process_path

pytestmark = pytest.mark.temporal

CHILD_IDS = ["journal", "orders", "cache", "audit"]


async def _tree(client: httpx.AsyncClient) -> dict[str, Any]:
    """The root supervisor's tree node (the app has one root)."""
    roots = (await get_json(client, "/api/tree"))["tree"]
    assert [root["entry"] for root in roots] == ["app:root"], roots
    return roots[0]


async def _children(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    return {child["child_id"]: child for child in (await _tree(client))["children"]}


async def test_processes_list_the_root_supervisor_its_four_children_and_the_durable_one(
        mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        page = await get_json(client, "/api/processes")
        children = await _children(client)
    processes = {p["pid"]: p for p in page["processes"]}
    assert page["total"] == len(page["processes"]) and page["offset"] == 0
    assert [p["pid"] for p in page["processes"]] == sorted(processes)  # sorted by PID string
    root = next(p for p in processes.values() if p["entry"] == "app:root")
    for child_id, entry, host in [("journal", "app:journal", "app:processes"), ("orders", "app:orders", "app:worker"),
                                  ("cache", "app:cache", "app:processes"), ("audit", "app:journal", "app:processes")]:
        child = processes[children[child_id]["pid"]]
        assert (child["entry"], child["host"], child["parent"]) == (entry, host, root["pid"]), child
        assert isinstance(child["restarts"], int)
    orders = processes[children["orders"]["pid"]]
    assert orders["durable"]["workflow_id"] == WORKFLOW_ID
    journal = processes[children["journal"]["pid"]]
    assert journal["trap_links"] is True and journal["status"] in ("waiting", "running")
    assert root["pid"] in journal["links"]  # a local child is linked to its supervisor
    assert all(p["lua_where"] is None for p in processes.values())  # the list asks nothing: process_info does


async def test_a_process_by_pid_describes_a_durable_child_through_temporal_and_where_a_lua_one_waits(
        mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        orders = (await _children(client))["orders"]
        info = await get_json(client, process_path(orders["pid"]))
        journal = await get_json(client, process_path((await _children(client))["journal"]["pid"]))
        cache = await get_json(client, process_path((await _children(client))["cache"]["pid"]))
    assert cache["lua_where"] and "cache.lua:" in cache["lua_where"]  # parked in its channel.select
    assert info["pid"] == orders["pid"] and info["entry"] == "app:orders"
    durable = info["durable"]
    assert (durable["workflow_id"], durable["status"]) == (WORKFLOW_ID, "running")
    assert durable["run_id"]
    assert journal["entry"] == "app:journal" and journal["durable"] is None


async def test_the_tree_has_the_root_supervisor_and_its_four_children_in_start_order(mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        root = await _tree(client)
    assert root["child_id"] is None
    assert [c["child_id"] for c in root["children"]] == CHILD_IDS
    assert [c["entry"] for c in root["children"]] == ["app:journal", "app:orders", "app:cache", "app:journal"]
    orders = root["children"][1]
    assert orders["host"] == "app:worker" and orders["pid"] == "{app:worker|%s}" % WORKFLOW_ID


async def test_processes_page_with_offset_and_limit_and_filter_by_host(mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        every = await get_json(client, "/api/processes")
        page = await get_json(client, "/api/processes", offset=1, limit=2)
        local = await get_json(client, "/api/processes", host="app:processes")
        past = await get_json(client, "/api/processes", offset=10_000)
    assert page["total"] == every["total"] and (page["offset"], page["limit"]) == (1, 2)
    assert page["processes"] == every["processes"][1:3]
    assert {p["host"] for p in local["processes"]} == {"app:processes"}
    # the root supervisor runs on the app's default host too
    assert sorted(p["entry"] for p in local["processes"]) == ["app:cache", "app:journal", "app:journal", "app:root"]
    assert local["total"] == 4
    assert past["processes"] == [] and past["total"] == every["total"]


async def test_terminating_a_child_through_the_api_shows_its_restart_in_the_event_stream(
        mixed_tree: RunningApp) -> None:
    events: list[tuple[str, Any]] = []
    async with mixed_tree.client() as client:
        old = (await _children(client))["journal"]
        with trio.fail_after(60):
            async with open_events(mixed_tree.url, mixed_tree.auth) as stream:
                assert stream.status == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                while (item := await stream.next()) is not None:
                    events.append(item)
                    event, data = item
                    if event == ":" and data == "subscribed":
                        answer = await client.post(process_path(old["pid"], "terminate"), json={"reason": "test"})
                        assert (answer.status_code, answer.json()) == (200, {"terminated": True})
                    if event == "restart" and data["details"]["child_id"] == "journal":
                        break
        new = (await _children(client))["journal"]
    exit_event = next(data for event, data in events if event == "exit" and data["pid"] == old["pid"])
    assert exit_event["details"]["kind"] == "TERMINATED"
    assert "terminated through the observer: test" in exit_event["details"]["error"]["message"]
    restart = events[-1][1]
    assert restart["details"]["old_pid"] == old["pid"] and restart["details"]["new_pid"] == new["pid"] != old["pid"]
    assert any(event == "spawn" and data["pid"] == new["pid"] for event, data in events)
    assert new["restarts"] == old["restarts"] + 1
    mixed_tree.read_until(lambda line: line == "mixed_tree: journal started")  # the new one runs its code


async def test_send_reaches_a_lua_child_and_cancel_stops_one_that_its_supervisor_restarts(
        mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        children = await _children(client)
        cache = await get_json(client, process_path(children["cache"]["pid"]))
        sent = await client.post(process_path(cache["pid"], "send"), json={"topic": "put", "data": {"k": 1}})
        assert (sent.status_code, sent.json()) == (202, {"sent": True})
        with trio.fail_after(30):
            while (await get_json(client, process_path(cache["pid"])))["messages_in"] == cache["messages_in"]:
                await trio.sleep(0.05)

        audit = children["audit"]
        cancelled = await client.post(process_path(audit["pid"], "cancel"), json={"deadline": "2s"})
        assert (cancelled.status_code, cancelled.json()) == (200, {"cancelled": True})
        mixed_tree.read_until(lambda line: line == "mixed_tree: audit stopping")  # it got CANCEL and stopped
        mixed_tree.read_until(lambda line: line == "mixed_tree: audit started")  # and was started again
        with trio.fail_after(30):  # a child being restarted is left out of the tree until it runs again
            while (new := (await _children(client)).get("audit")) is None or new["pid"] == audit["pid"]:
                await trio.sleep(0.05)
    assert new["restarts"] == audit["restarts"] + 1


async def test_bad_input_gets_4xx_answers_and_never_stops_the_node(mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        before = await _tree(client)
        journal = before["children"][0]["pid"]
        node = journal.partition("@")[2].partition("|")[0]

        async def status(method: str, path: str, **options: Any) -> tuple[int, Any]:
            answer = await client.request(method, path, **options)
            return answer.status_code, answer.json()

        code, body = await status("GET", process_path(f"{{app:processes@{node}|999999}}"))
        assert (code, body["kind"]) == (404, "NOT_FOUND") and "999999" in body["error"]
        assert (await status("GET", process_path("{nohost|1}")))[0] == 404
        assert (await status("GET", process_path("{app:processes@another-node|1}")))[0] == 404
        code, body = await status("GET", "/api/processes/%7Boops")
        assert (code, body["kind"]) == (400, "INVALID") and "malformed pid" in body["error"]
        assert (await status("POST", "/api/processes/not-a-pid/terminate"))[0] == 400
        assert (await status("POST", process_path(f"{{app:processes@{node}|999999}}", "terminate")))[0] == 404
        assert (await status("POST", process_path(journal, "send"), json={"data": 1}))[0] == 400  # no topic
        assert (await status("POST", process_path(journal, "send"), content=b"{not json"))[0] == 400
        assert (await status("POST", process_path(journal, "send"), json=[1, 2]))[0] == 400
        assert (await status("POST", process_path(journal, "cancel"), json={"deadline": "soon"}))[0] == 400
        assert (await status("GET", "/api/processes", params={"limit": "-1"}))[0] == 400
        assert (await status("GET", "/api/processes", params={"offset": "x"}))[0] == 400
        assert (await status("GET", "/api/nothing"))[0] == 404
        assert (await status("DELETE", "/api/tree"))[0] == 405

    async with httpx.AsyncClient(base_url=mixed_tree.url, timeout=30) as anonymous:
        for method, path in [("GET", "/api/processes"), ("GET", "/api/tree"), ("GET", "/metrics"),
                             ("GET", "/api/events"), ("POST", process_path(journal, "terminate"))]:
            answer = await anonymous.request(method, path)
            assert (answer.status_code, answer.json()["kind"]) == (401, "PERMISSION_DENIED"), (method, path)
            assert answer.headers["www-authenticate"] == "Bearer"
        wrong = await anonymous.post(process_path(journal, "terminate"), headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        by_query = await anonymous.get("/api/tree", params={"token": TOKEN})  # how an EventSource sends it
        assert by_query.status_code == 200

    async with mixed_tree.client() as client:
        after = await _tree(client)
    assert after == before  # nothing was terminated: the tree is as it was
    mixed_tree.assert_running()


def _samples(text: str) -> dict[str, list[Any]]:
    """Every sample of a Prometheus text page by family name (parsed by prometheus_client: it must parse)."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _value(samples: dict[str, list[Any]], family: str, **labels: str) -> float:
    return sum(s.value for s in samples[family] if s.name.endswith("_total") or s.name == family
               if all(s.labels.get(k) == v for k, v in labels.items()))


async def test_metrics_parse_and_count_what_happens(mixed_tree: RunningApp) -> None:
    async with mixed_tree.client() as client:
        before = _samples((await client.get("/metrics")).text)
        page = await get_json(client, "/api/processes")
        children = await _children(client)
        for data in ({"k": 2}, {"k": 3}):
            assert (await client.post(process_path(children["cache"]["pid"], "send"),
                                      json={"topic": "put", "data": data})).status_code == 202
        assert (await client.post(process_path(children["orders"]["pid"], "send"),
                                  json={"topic": "order", "data": {"id": 1}})).status_code == 202
        with trio.fail_after(60):  # the signal to the workflow goes out through Temporal, in the background
            while True:
                answer = await client.get("/metrics")
                assert answer.headers["content-type"].startswith("text/plain")
                after = _samples(answer.text)
                if _value(after, "pidflow_workflow_signals") > _value(before, "pidflow_workflow_signals"):
                    break
                await trio.sleep(0.1)

    by_host_status = {(s.labels["host"], s.labels["status"]): s.value for s in after["pidflow_processes"]}
    assert sum(by_host_status.values()) == page["total"]
    assert sum(n for (host, _), n in by_host_status.items() if host == "app:processes") == 4
    assert _value(after, "pidflow_messages_sent") >= _value(before, "pidflow_messages_sent") + 3
    assert _value(after, "pidflow_messages_delivered") >= _value(before, "pidflow_messages_delivered") + 2
    assert _value(after, "pidflow_restarts") == sum(child["restarts"] for child in children.values())
    assert _value(after, "pidflow_exits", kind="TERMINATED") >= _value(before, "pidflow_exits", kind="TERMINATED")
    assert _value(after, "pidflow_spawns") >= page["total"] - 1  # every process but the node's own root
    mailbox = {s.labels.get("le"): s.value for s in after["pidflow_mailbox_length"] if s.name.endswith("_bucket")}
    assert mailbox["+Inf"] == page["total"]
    assert "pidflow_http_requests" in after  # the app serves no HTTP: the family is there, empty
    # temporalio's own metrics, from its runtime: some about the app's worker (its task queue)
    temporal = {name: samples for name, samples in after.items() if name.startswith("temporal_")}
    assert any(s.labels.get("task_queue") == "mixed-tree" for samples in temporal.values() for s in samples), \
        sorted(temporal)
