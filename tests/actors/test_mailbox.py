"""Mailbox: unbounded FIFO with blocking and ``_nowait`` receive, close semantics, selective take, statistics."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pidflow import Mailbox
from pidflow.actors import MailboxStatistics


def test_items_come_out_in_put_order() -> None:
    box: Mailbox[int] = Mailbox()
    for i in range(5):
        box.put(i)
    assert [box.receive_nowait() for _ in range(5)] == [0, 1, 2, 3, 4]


def test_receive_nowait_on_empty_mailbox_raises_would_block() -> None:
    with pytest.raises(trio.WouldBlock):
        Mailbox().receive_nowait()


async def test_receive_blocks_until_put(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[str] = Mailbox()
    record: list[str] = []

    async def receiver() -> None:
        record.append(await box.receive())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        assert record == [] and box.statistics().waiting_tasks == 1
        box.put("x")
    assert record == ["x"]


async def test_each_item_goes_to_exactly_one_of_several_receivers(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[int] = Mailbox()
    got: list[int] = []

    async def receiver() -> None:
        got.append(await box.receive())

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(3):
            box.put(i)
    assert sorted(got) == [0, 1, 2]


async def test_cancelled_receive_loses_no_item(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[int] = Mailbox()
    with trio.move_on_after(1):
        await box.receive()
    box.put(1)
    assert await box.receive() == 1


async def test_receive_after_close_drains_queued_items_then_ends(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[int] = Mailbox()
    box.put(1)
    box.close()
    box.put(2)  # dropped: nobody will ever receive it
    assert [item async for item in box] == [1]
    with pytest.raises(trio.EndOfChannel):
        await box.receive()


async def test_close_wakes_blocked_receivers(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[int] = Mailbox()
    ended: list[bool] = []

    async def receiver() -> None:
        with pytest.raises(trio.EndOfChannel):
            await box.receive()
        ended.append(True)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        box.close()
    assert ended == [True, True]


def test_take_where_removes_matching_items_in_order_and_keeps_the_rest() -> None:
    box: Mailbox[int] = Mailbox()
    for i in range(6):
        box.put(i)
    assert box.take_where(lambda i: i % 2 == 0) == [0, 2, 4]
    assert box.drain() == [1, 3, 5]
    assert len(box) == 0


def test_statistics_report_queue_waiters_and_closed() -> None:
    box: Mailbox[int] = Mailbox()
    box.put(1)
    box.put(2)
    assert box.statistics() == MailboxStatistics(queued=2, waiting_tasks=0, closed=False)
    box.close()
    assert box.statistics().closed

