"""The observer's web page (pidflow/observer/static/) in a real headless Chromium: it shows the supervision tree
with its durable child, follows restarts live, pages through 10,000 processes with one page of rows, keeps a crash
log and mailbox sparklines, and acts (send, terminate) only once confirmed. Each test saves a screenshot in its
tmp_path and prints where."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import pidflow
import web_app
from observed_app import TOKEN, WORKFLOW_ID, RunningApp, get_json, process_path
from pidflow.observer import start_observer
from web_browser import Page, chromium_path, open_page

CHILD_IDS = ["journal", "orders", "cache", "audit"]
#: A JavaScript expression: the PID the details panel shows.
DETAILS_PID = "document.querySelector('#details dd[data-field=pid]')?.textContent"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser's executable (first of all fixtures: without one, nothing else starts)."""
    return chromium_path()


def tree_child(child_id: str) -> str:
    """A JavaScript expression: the PID the page's tree shows for the child ``child_id`` (or undefined)."""
    return f"document.querySelector('#tree li[data-child-id={json.dumps(child_id)}]')?.dataset.pid"


async def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    path = await page.screenshot(tmp_path / f"{name}.png")
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    print(f"screenshot: {path}")


def assert_no_script_errors(page: Page) -> None:
    assert page.errors == [], page.errors


@asynccontextmanager
async def observed(registry: Any, tmp_path: Path) -> AsyncIterator[tuple[pidflow.Node, str]]:
    """A node of ``registry`` in this process with an observer on a free port (no token): ``(node, url)``."""
    async with pidflow.open_node(registry, state_dir=tmp_path / "state") as node:
        observer = await start_observer(node, "127.0.0.1:0")
        try:
            yield node, observer.url
        finally:
            await observer.stop()


@pytest.mark.temporal
async def test_the_page_shows_the_mixed_tree_and_follows_a_restart(chromium: str, mixed_tree: RunningApp,
                                                                  tmp_path: Path) -> None:
    async with mixed_tree.client() as client:
        before = {c["child_id"]: c["pid"] for c in (await get_json(client, "/api/tree"))["tree"][0]["children"]}
        orders = await get_json(client, process_path(before["orders"]))
        async with open_page(chromium, tmp_path) as page:
            await page.goto(f"{mixed_tree.url}/?token={TOKEN}")
            await page.wait_for("document.querySelector('#connection').textContent === 'live'")
            # the tree: the root supervisor, its four children in start order, local and durable side by side
            shown = await page.wait_for(
                "[...document.querySelectorAll('#tree > ul > li > ul > li')].map((li) => li.dataset.childId)"
                ".join() === 'journal,orders,cache,audit' && "
                "[...document.querySelectorAll('#tree > ul > li > ul > li')].map((li) => li.dataset.pid)")
            assert shown == [before[c] for c in CHILD_IDS]
            root_entry = "document.querySelector('#tree > ul > li > .node .entry').textContent"
            assert await page.evaluate(root_entry) == "app:root"
            durable = await page.evaluate(
                "[...document.querySelectorAll('#tree .node.durable')].map((n) => n.dataset.nodePid)")
            assert durable == [before["orders"]]  # the workflow, and only it, is marked durable
            assert await page.evaluate("document.querySelector('#tree .node.durable .workflow-id').textContent") \
                == WORKFLOW_ID
            # once the page has read the workflow's details: its status, and a link to its Temporal UI page when
            # the node knows the UI (a node given a Temporal address, as here, may not)
            status = await page.wait_for("document.querySelector('#tree .durable-marks').dataset.workflowStatus")
            assert status == orders["durable"]["status"]
            link = await page.evaluate("document.querySelector('#tree .node.durable a.temporal-ui')?.href ?? null")
            assert link == orders["durable"]["ui_url"]
            # the table pages the same processes the API lists
            total = (await get_json(client, "/api/processes"))["total"]
            rows = await page.wait_for("document.querySelectorAll('#processes tbody tr[data-row-pid]').length")
            assert rows == min(total, 100)

            # terminated through the API: the supervisor restarts the journal and the page shows its new PID
            answer = await client.post(process_path(before["journal"], "terminate"), json={"reason": "web test"})
            assert answer.status_code == 200, answer.text
            new = await page.wait_for(f"{tree_child('journal')} !== {json.dumps(before['journal'])} && "
                                      f"{tree_child('journal')}")
            after = {c["child_id"]: c["pid"] for c in (await get_json(client, "/api/tree"))["tree"][0]["children"]}
            assert new == after["journal"] != before["journal"]
            await page.wait_for(f"[...document.querySelectorAll('#events li[data-kind=restart]')]"
                                f".some((li) => li.dataset.pid === {json.dumps(before['journal'])})")
            await screenshot(page, tmp_path, "mixed_tree")
            assert_no_script_errors(page)

            # without the token the page says how to give it, and shows no data
            await page.goto(f"{mixed_tree.url}/")
            banner = await page.wait_for("!document.querySelector('#banner').hidden && "
                                         "document.querySelector('#banner').textContent")
            assert "?token=" in banner
            assert await page.evaluate("document.querySelectorAll('#processes tbody tr[data-row-pid]').length") == 0


async def test_the_page_pages_through_10000_processes_with_one_page_of_rows(chromium: str, tmp_path: Path) -> None:
    async with observed(web_app.registry(crowd=150), tmp_path) as (node, url):
        async with open_page(chromium, tmp_path) as page:
            await page.goto(f"{url}/")
            await page.wait_for("document.querySelector('#connection').textContent === 'live'")
            for _ in range(10_000):  # while the page watches: 10,000 spawn events arrive too
                newest = await node.process.spawn(web_app.idle)
            total = len(node.processes())
            assert total > 10_000
            await page.wait_for(f"document.querySelector('#page-range').textContent === "
                                f"'1–100 of {total:,}'", timeout=25)
            rows = "[...document.querySelectorAll('#processes tbody tr')].map((tr) => tr.dataset.rowPid)"
            first = [str(p.pid) for p in node.processes(limit=100)]
            assert await page.evaluate(rows) == first
            # the page keeps up with the stream: the newest spawn heads the event log
            await page.wait_for(f"document.querySelector('#events li')?.dataset.pid === {json.dumps(str(newest))}",
                                timeout=25)
            # one page of rows, a bounded event log: the DOM stays small
            assert await page.evaluate("document.querySelectorAll('#events li').length") <= 200
            assert await page.evaluate("document.getElementsByTagName('*').length") < 4000  # a row each: >100,000

            await page.click("#page-next")
            await page.wait_for(f"document.querySelector('#page-range').textContent === '101–200 of {total:,}'")
            assert await page.evaluate(rows) == [str(p.pid) for p in node.processes(offset=100, limit=100)]
            await page.click("#page-last")
            last = (total - 1) // 100 * 100
            await page.wait_for(f"document.querySelector('#page-range').textContent === "
                                f"'{last + 1:,}–{total:,} of {total:,}'")
            assert await page.evaluate(rows) == [str(p.pid) for p in node.processes(offset=last)]
            # a supervisor with many children shows 100 of them, and the rest when asked
            crowd = "document.querySelectorAll('#tree > ul > li')[1]"
            assert await page.evaluate(f"{crowd}.querySelector('.entry').textContent") == "app:crowd"
            shown = f"{crowd}.querySelectorAll(':scope > ul > li').length"
            assert await page.evaluate(shown) == 100
            assert await page.evaluate(f"{crowd}.querySelector(':scope > button.more').textContent") \
                == "show 50 more of 50"
            await page.click("#tree > ul > li:nth-child(2) > button.more")
            await page.wait_for(f"{shown} === 150 && !{crowd}.querySelector(':scope > button.more')")
            # still responsive: a click on a row opens that process
            pid = (await page.evaluate(rows))[0]
            await page.click(f"#processes tbody tr[data-row-pid={json.dumps(pid)}]")
            await page.wait_for(f"{DETAILS_PID} === {json.dumps(pid)}")
            await screenshot(page, tmp_path, "ten_thousand")
            assert_no_script_errors(page)


async def test_the_page_keeps_a_crash_log_mailbox_sparklines_and_acts_once_confirmed(chromium: str,
                                                                                     tmp_path: Path) -> None:
    async with observed(web_app.registry(), tmp_path) as (node, url):
        async with open_page(chromium, tmp_path) as page, httpx.AsyncClient(base_url=url, timeout=30) as client:
            await page.goto(f"{url}/")
            await page.wait_for("document.querySelector('#connection').textContent === 'live'")
            pids = {c: await page.wait_for(tree_child(c)) for c in ("recorder", "crasher", "hoarder")}

            # a crash: the crash log shows the error and its Python traceback; the tree the restarted child
            await node.process.send(pids["crasher"], "crash")
            crash = await page.wait_for(
                f"document.querySelector('#crashes li[data-pid={json.dumps(pids['crasher'])}]')?.innerText")
            assert "the crasher was told to crash" in crash
            assert "Traceback" in crash and "web_app.py" in crash
            await page.wait_for(f"{tree_child('crasher')} && {tree_child('crasher')} !== {json.dumps(pids['crasher'])}")

            # a growing mailbox: the hoarder's sparkline
            for n in range(30):
                await node.process.send(pids["hoarder"], "pile", n)
            count = await page.wait_for(
                f"document.querySelector('#sparklines .spark[data-pid={json.dumps(pids['hoarder'])}] .count')"
                "?.textContent.startsWith('30') && document.querySelector("
                f"'#sparklines .spark[data-pid={json.dumps(pids['hoarder'])}] polyline').getAttribute('points')")
            assert len(count.split()) >= 1

            # the details: every field of the process, its links clickable
            await page.click(f"#tree .node[data-node-pid={json.dumps(pids['recorder'])}] a.pid")
            info = await get_json(client, process_path(pids["recorder"]))
            fields = await page.wait_for(
                f"document.querySelector('#details')?.dataset.pid === {json.dumps(pids['recorder'])} && "
                "[...document.querySelectorAll('#details-fields > dd')].map((dd) => dd.dataset.field)")
            assert fields == list(info)
            root = info["parent"]
            assert root in info["links"]
            await page.click(f"#details dd[data-field=links] a.pid[data-pid={json.dumps(root)}]")
            await page.wait_for(f"{DETAILS_PID} === {json.dumps(root)}")
            await page.click(f"#tree .node[data-node-pid={json.dumps(pids['recorder'])}] a.pid")
            await page.wait_for(f"{DETAILS_PID} === {json.dumps(pids['recorder'])}")

            # send: asks first, then the recorder gets the topic and the JSON data
            await page.evaluate("document.querySelector('#send-topic').value = 'hello';"
                                "document.querySelector('#send-data').value = '{\"n\": 1}'")
            await page.click("#action-send")
            question = await page.wait_for("document.querySelector('#confirm').open && "
                                           "document.querySelector('#confirm-text').textContent")
            assert question == f"Send \"hello\" to {pids['recorder']}?"
            assert web_app.RECEIVED == []
            await page.click("#confirm-yes")
            await page.wait_for("document.querySelector('#action-result').textContent === 'send: done'")
            assert web_app.RECEIVED == [("hello", {"n": 1})]

            # terminate: declined, nothing happens; confirmed, the supervisor restarts the hoarder
            await page.click(f"#tree .node[data-node-pid={json.dumps(pids['hoarder'])}] a.pid")
            await page.wait_for(f"document.querySelector('#details')?.dataset.pid === {json.dumps(pids['hoarder'])}"
                                " && document.querySelector('#action-terminate')")
            await page.click("#action-terminate")
            await page.wait_for("document.querySelector('#confirm').open")
            await page.click("#confirm-no")
            await page.wait_for("document.querySelector('#action-result').textContent === 'terminate: not confirmed'")
            assert node.route(pidflow.Pid.parse(pids["hoarder"])).is_alive(pidflow.Pid.parse(pids["hoarder"]))
            await page.click("#action-terminate")
            await page.wait_for("document.querySelector('#confirm').open")
            await page.click("#confirm-yes")
            await page.wait_for("document.querySelector('#action-result').textContent === 'terminate: done'")
            await page.wait_for(f"{tree_child('hoarder')} && {tree_child('hoarder')} !== {json.dumps(pids['hoarder'])}")
            await page.wait_for("document.querySelector('#details').classList.contains('gone')")
            await screenshot(page, tmp_path, "actions")
            assert_no_script_errors(page)
