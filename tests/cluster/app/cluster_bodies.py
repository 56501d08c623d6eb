"""Process bodies the cluster tests spawn on other nodes (``app:echo`` ...)."""

from __future__ import annotations

from typing import Any

from pidflow import process


async def echo(_input: Any = None) -> Any:
    """Answers every message with ``echo`` to its sender; ``crash`` fails it, ``stop`` ends it normally,
    ``trap`` makes it trap links and report its events to the sender."""
    async for message in process.inbox():
        if message.topic == "stop":
            return "stopped"
        if message.topic == "crash":
            raise ValueError("asked to crash")
        await process.send(message.sender, "echo", message.data)


async def collector(spec: dict[str, Any]) -> Any:
    """Receives ``n`` from each of ``senders``: checks per-sender order, then reports what it got to
    ``report_to``: {sender: [first, last, count, in_order, duplicates]}."""
    expected, report_to = spec["per_sender"], spec["report_to"]
    seen: dict[str, list[int]] = {}
    total = expected * spec["senders"]
    count = 0
    async for message in process.inbox():
        seen.setdefault(str(message.sender), []).append(message.data)
        count += 1
        if count == total:
            break
    summary = {sender: [values[0], values[-1], len(values), values == sorted(values),
                        len(values) - len(set(values))] for sender, values in seen.items()}
    await process.send(report_to, "collected", summary)
    return count


async def reporter(spec: dict[str, Any]) -> None:
    """Monitors ``watch`` and tells ``report_to`` how it ended (``ended``: the error's kind and reason)."""
    await process.monitor(spec["watch"])
    event = await process.events().receive()
    error = event.result.error if event.result is not None else None
    await process.send(spec["report_to"], "ended", {
        "pid": str(event.sender), "kind": error.kind.value if error else None,
        "reason": (error.details or {}).get("reason") if error and isinstance(error.details, dict) else None,
        "message": error.message if error else None})


async def linker(spec: dict[str, Any]) -> None:
    """Links to ``link`` (a PID on another node) and waits: it dies with whatever breaks the link."""
    await process.link(spec["link"])
    await process.send(spec["report_to"], "linked", str(process.pid()))
    async for _ in process.inbox():
        pass


async def sender(spec: dict[str, Any]) -> None:
    """Sends 0 .. n-1 to every PID of ``to``, in turn."""
    for i in range(spec["n"]):
        for pid in spec["to"]:
            await process.send(pid, "n", i)


async def name_user(spec: dict[str, Any]) -> None:
    """Sends ``ping`` to the cluster name ``name`` and reports the echo's sender (the holder) to ``report_to``."""
    await process.send(spec["name"], "ping", "via-name")
    reply = await process.inbox().receive()
    await process.send(spec["report_to"], "resolved", {"holder": str(reply.sender), "data": reply.data})


async def claimer(spec: dict[str, Any]) -> None:
    """Registers itself as cluster name ``name`` (ALREADY_EXISTS is reported, not raised), reports, then echoes."""
    try:
        await process.register(spec["name"], scope="cluster")
        await process.send(spec["report_to"], "claimed", str(process.pid()))
    except Exception as exc:  # noqa: BLE001 - the test reads the refusal
        await process.send(spec["report_to"], "refused", getattr(exc, "details", None))
        return
    await echo()


async def adder(_input: Any = None) -> None:
    """Answers ``add`` calls with the sum of the payload."""
    async for message in process.inbox():
        await process.reply(message, sum(message.data))
