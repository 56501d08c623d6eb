"""Signal names (``_protocol``), the outbox's batches (``_host._next_batch``) and how a workflow takes each signal
(``_workflow_state.on_signal``): a message's signal is named after its topic, a batch of one topic after it, and
the names used before issue 10 are still handled."""

from __future__ import annotations

import logging
from collections import deque

import pytest
from temporalio import workflow

from pidflow import Error, ErrorKind, Pid, codec
from pidflow._events import Event, ExitResult, Message
from pidflow.temporal_host import _protocol as protocol
from pidflow.temporal_host._host import BATCH_MESSAGES, _next_batch
from pidflow.temporal_host._workflow_state import WorkflowProcess

SENDER = Pid("app:processes", "7", "node-1")
ME = Pid("app:worker", "wf-1")


def post(topic: str, data: object = None) -> tuple[str, bytes]:
    """What ``TemporalHost.send`` queues for a message."""
    return protocol.message_signal(topic), codec.encode(Message(topic, data, SENDER).to_wire())


@pytest.mark.parametrize("topic, name", [
    ("approve", "msg:approve"),
    ("order.paid", "msg:order.paid"),
    ("é" * 100, "msg:" + "é" * 100),  # 200 bytes
    ("é" * 101, "pidflow.message"),
    ("x" * 201, "pidflow.message"),
])
def test_a_message_signal_is_named_after_its_topic_unless_too_long(topic: str, name: str) -> None:
    assert protocol.message_signal(topic) == name
    assert protocol.signal_kind(name) == protocol.MESSAGE


def test_batches_and_events_are_named_too() -> None:
    assert protocol.messages_signal({"tick"}) == "msgs:tick"
    assert protocol.messages_signal({"tick", "tock"}) == "pidflow.messages"
    assert protocol.messages_signal({"x" * 300}) == "pidflow.messages"
    assert protocol.event_signal("EXIT") == "event:EXIT"
    assert [protocol.signal_kind(n) for n in ("msgs:tick", "pidflow.messages", "event:LINK_DOWN", "pidflow.event",
                                               "pidflow.link", "other")] == \
        [protocol.MESSAGES, protocol.MESSAGES, protocol.EVENT, protocol.EVENT, protocol.LINK, "other"]


def test_queued_messages_of_one_topic_leave_as_one_named_batch_of_their_encodings() -> None:
    queue = deque([post("tick", i) for i in range(3)] + [(protocol.LINK, codec.encode({"from": SENDER}))])
    name, data, taken = _next_batch(queue, 1 << 20)
    assert (name, taken) == ("msgs:tick", 3)
    assert data == b"[" + b",".join(d for _, d in list(queue)[:3]) + b"]"
    assert data == codec.encode([Message("tick", i, SENDER).to_wire() for i in range(3)])


def test_a_batch_of_several_topics_has_the_generic_name() -> None:
    queue = deque([post("tick"), post("tock"), post("x" * 300)])
    assert _next_batch(queue, 1 << 20)[::2] == ("pidflow.messages", 3)
    queue = deque([post("x" * 300), post("x" * 300)])
    assert _next_batch(queue, 1 << 20)[::2] == ("pidflow.messages", 2)


def test_a_control_signal_goes_alone_and_a_lone_message_keeps_its_name() -> None:
    link = (protocol.LINK, codec.encode({"from": SENDER}))
    assert _next_batch(deque([link, post("a"), post("a")]), 1 << 20) == (*link, 1)
    assert _next_batch(deque([post("a"), link, post("a")]), 1 << 20) == (*post("a"), 1)


def test_a_batch_is_exactly_as_large_as_the_budget_allows() -> None:
    queue = deque(post("tick", "x" * 100) for _ in range(5))
    whole = len(codec.join([d for _, d in queue]))
    name, data, taken = _next_batch(queue, whole)
    assert (len(data), taken) == (whole, 5)
    name, data, taken = _next_batch(queue, whole - 1)
    assert taken == 4 and len(data) <= whole - 1
    assert _next_batch(deque(post("tick") for _ in range(BATCH_MESSAGES + 3)), 1 << 30)[2] == BATCH_MESSAGES


# -- the workflow side ----------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def plain_workflow_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """``workflow.logger`` outside a workflow: a plain logger (temporalio's asks the workflow whether it replays)."""
    monkeypatch.setattr(workflow, "logger", logging.getLogger("test.workflow"))


def receive(names_and_args: list[tuple[str, object]]) -> WorkflowProcess:
    state = WorkflowProcess(ME)
    for name, arg in names_and_args:
        # what the dynamic signal handler hands over: the decoded argument of the payload as sent
        state.on_signal(name, [codec.decode(codec.encode(arg))])
    return state


@pytest.mark.parametrize("message_signal, batch_signal, event_signal", [
    ("msg:a", "msgs:b", "event:EXIT"),
    ("pidflow.message", "pidflow.messages", "pidflow.event"),  # before issue 10
])
def test_messages_and_events_arrive_in_order_under_new_and_old_names(message_signal, batch_signal, event_signal):
    watched = Pid("app:processes", "9", "node-1")
    state = receive([
        (message_signal, Message("a", 1, SENDER).to_wire()),
        (batch_signal, [Message("b", 2, SENDER).to_wire(), Message("b", 3, None).to_wire()]),
        ("pidflow.link", {"from": SENDER}),
    ])
    state.monitoring.add(watched)
    state.on_signal(event_signal, [codec.decode(codec.encode(Event.exit(watched, ExitResult(b"\xff")).to_wire()))])
    assert [(m.topic, m.data, m.sender) for m in state.proc.inbox.drain()] == \
        [("a", 1, SENDER), ("b", 2, SENDER), ("b", 3, None)]
    assert state.proc.links == {SENDER}
    [event] = state.proc.events.drain()
    assert (event.from_, event.result) == (watched, ExitResult(b"\xff"))


def test_the_wire_form_not_the_name_says_what_a_message_is() -> None:
    state = receive([("msg:shown", Message("real", None, SENDER).to_wire())])
    assert [m.topic for m in state.proc.inbox.drain()] == ["real"]


@pytest.mark.parametrize("name, arg", [
    ("msg:x", {"data": 1}),  # no topic
    ("msg:x", {"topic": 5}),
    ("msgs:x", [Message("x").to_wire(), {"topic": ""}]),  # one bad message: the batch is dropped whole
    ("event:EXIT", {"kind": "NOPE"}),
    ("pidflow.link", {"from": "not a pid"}),
    ("pidflow.cancel", {"deadline": "soon"}),
    ("msg:x", "just text"),
])
def test_a_signal_that_does_not_carry_what_its_name_says_is_dropped_with_a_warning(name, arg, caplog):
    with caplog.at_level(logging.WARNING):
        state = receive([(name, arg), ("msg:ok", Message("ok").to_wire())])
    assert [m.topic for m in state.proc.inbox.drain()] == ["ok"]
    assert f"dropped signal {name!r}" in caplog.text


def test_an_unknown_signal_is_ignored_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        state = receive([("something.else", {})])
    assert not state.proc.inbox.drain()
    assert "ignoring unknown signal 'something.else'" in caplog.text


def test_a_link_exit_carries_its_reason_as_an_error() -> None:
    state = WorkflowProcess(ME)
    state.proc.links.add(SENDER)
    state.proc.trap_links = True
    reason = Error(ErrorKind.TIMEOUT, "slow", details={"who": SENDER})
    state.on_signal("pidflow.link_exit", [codec.decode(codec.encode({"from": SENDER, "reason": reason}))])
    [event] = state.proc.events.drain()
    assert event.reason == reason and event.reason.details == {"who": SENDER}
