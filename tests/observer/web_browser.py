"""A real headless Chromium (the Debian package ``chromium``) driven over the Chrome DevTools Protocol, for the web
page tests.

The browser talks CDP over a pipe (``--remote-debugging-pipe``: it reads commands on fd 3 and writes answers and
events on fd 4, each a JSON text ended by a NUL byte), read here with trio. Rejected: playwright (its pip package
is a large Node driver pinned to browser builds it downloads, so it needs internet or a matching build) and the
websocket endpoint (a port to find in the browser's stderr and a websocket client, for the same messages).

Without chromium the tests skip, saying why, except in CI (``CI=true``), where a missing browser fails them:
``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

#: Window size of the page under test (wide enough for the page's three columns).
WINDOW = (1500, 1000)


def chromium_path() -> str:
    """The chromium executable; skips the test when there is none, or fails it in CI. Call it before starting
    anything (a skip raised inside a nursery loses its reason)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is not None:
        return path
    reason = "chromium is not installed (apt-get install chromium): the web page tests need a real headless Chromium"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason}; in CI it must be there (.ci/run installs it)")
    pytest.skip(reason)


class PageError(AssertionError):
    """A page's script failed, or a wait on the page ran out."""


class Page:
    """One browser tab: commands go to its CDP session; uncaught script errors of the page are collected in
    ``errors``."""

    def __init__(self, browser: "Browser", session: str) -> None:
        self._browser = browser
        self._session = session
        self.errors: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.send(method, params, session=self._session)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise), as JSON."""
        answer = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise PageError(f"{text}\n  in: {expression}")
        return answer["result"].get("value")

    async def wait_for(self, condition: str, timeout: float = 20.0) -> Any:
        """Poll the JavaScript expression ``condition`` in the page until it is truthy (its value), for at most
        ``timeout`` seconds (PageError then, naming it)."""
        script = f"""(async () => {{
            const deadline = Date.now() + {int(timeout * 1000)};
            let failed = null;
            for (;;) {{
                try {{ const value = (() => ({condition}))(); if (value) return value; failed = null; }}
                catch (err) {{ failed = String(err); }}
                if (Date.now() > deadline) {{
                    throw new Error('timed out after {timeout} s waiting for: ' + {json.dumps(condition)}
                                    + (failed ? ' (last error: ' + failed + ')' : ''));
                }}
                await new Promise((resolve) => setTimeout(resolve, 50));
            }}
        }})()"""
        with trio.fail_after(timeout + 10):  # the page's own deadline comes first; this guards a hung browser
            return await self.evaluate(script)

    async def click(self, selector: str) -> None:
        """Click the first element matching the CSS ``selector`` (PageError when there is none)."""
        found = await self.evaluate(f"""(() => {{
            const node = document.querySelector({json.dumps(selector)});
            if (!node) return false;
            node.scrollIntoView({{block: 'center'}});
            node.click();
            return true;
        }})()""")
        if not found:
            raise PageError(f"nothing on the page matches {selector!r}")

    async def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page at ``path``."""
        answer = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(answer["data"]))
        return path


class Browser:
    """A chromium process and its CDP pipe: ``send`` waits for the answer to its command; a task reads the pipe
    and hands answers and events out."""

    def __init__(self, process: trio.Process, commands: trio.lowlevel.FdStream,
                 answers: trio.lowlevel.FdStream) -> None:
        self.process = process
        self._commands = commands
        self._answers = answers
        self._ids = itertools.count(1)
        self._waiting: dict[int, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._lock = trio.Lock()

    async def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
                   timeout: float = 30.0) -> dict[str, Any]:
        command_id = next(self._ids)
        command: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session is not None:
            command["sessionId"] = session
        send, receive = trio.open_memory_channel[dict[str, Any]](1)
        self._waiting[command_id] = send
        try:
            async with self._lock:
                await self._commands.send_all(json.dumps(command).encode() + b"\0")
            with trio.fail_after(timeout):
                answer = await receive.receive()
        finally:
            self._waiting.pop(command_id, None)
        if "error" in answer:
            raise PageError(f"{method}: {answer['error'].get('message')} ({answer['error']})")
        return answer.get("result", {})

    async def read(self) -> None:
        """Dispatch what the browser writes until the pipe closes."""
        buffer = b""
        while True:
            chunk = await self._answers.receive_some(1 << 20)
            if not chunk:
                for send in self._waiting.values():
                    send.send_nowait({"error": {"message": "the browser closed its pipe"}})
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    waiting = self._waiting.get(message["id"])
                    if waiting is not None:
                        waiting.send_nowait(message)
                else:
                    self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        page = self._pages.get(message.get("sessionId", ""))
        if page is None:
            return
        params = message.get("params", {})
        if message["method"] == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            page.errors.append(details.get("exception", {}).get("description") or details.get("text", "?"))
        elif message["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
            page.errors.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))

    async def new_page(self) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self._pages[attached["sessionId"]] = page
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        await page.send("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                        deviceScaleFactor=1, mobile=False)
        return page


@asynccontextmanager
async def _unwrapped() -> AsyncIterator[None]:
    """A test's own failure inside the browser's nursery, raised as itself (not in a group of one)."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


@asynccontextmanager
async def open_page(executable: str, tmp_path: Path) -> AsyncIterator[Page]:
    """A new tab of a headless chromium (``executable``: :func:`chromium_path`) started for it, its profile and log
    in ``tmp_path``; the browser is closed on leaving."""
    profile = tmp_path / "chromium-profile"
    log = (tmp_path / "chromium.log").open("wb")
    commands_read, commands_write = os.pipe()
    answers_read, answers_write = os.pipe()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--lang=en-US", f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"]
    # the pipe must be fds 3 and 4 in the browser: a small launcher moves them there and execs chromium (no
    # preexec_fn in a threaded process, and dash, the usual /bin/sh, has no redirection of fds above 9)
    launcher = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
                "os.execv(sys.argv[3], sys.argv[3:])")
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_read, answers_write)]  # never 3 or 4
    try:
        command = [sys.executable, "-c", launcher, *map(str, high), executable, *flags]
        process = await trio.lowlevel.open_process(command, pass_fds=high, stdin=subprocess.DEVNULL, stdout=log,
                                                   stderr=log)
    finally:
        for fd in (commands_read, answers_write, *high):
            os.close(fd)
        log.close()
    browser = Browser(process, trio.lowlevel.FdStream(commands_write), trio.lowlevel.FdStream(answers_read))
    try:
        async with _unwrapped(), trio.open_nursery() as nursery:
            nursery.start_soon(browser.read)
            try:
                yield await browser.new_page()
            finally:
                with trio.move_on_after(10) as closing:
                    closing.shield = True
                    try:
                        await browser.send("Browser.close", timeout=5)
                    except (PageError, trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
                    await process.wait()
                nursery.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.kill()
            with trio.move_on_after(10) as reaping:
                reaping.shield = True
                await process.wait()
        for stream in (browser._commands, browser._answers):
            with trio.CancelScope(shield=True):
                await stream.aclose()
