"""Pid string form and parsing; the codec for payloads crossing a boundary (more in tests/test_codec.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

import pidflow
from pidflow import Error, ErrorKind, Pid, codec

# What each part of "{HOST@NODE|ID}" may contain (DESIGN: HOST and NODE never contain '|', '{', '}' or '@').
_host_part = st.text(st.characters(blacklist_characters="|{}@", blacklist_categories=("Cs",)), min_size=1)
_id_part = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), min_size=1)
pids = st.builds(Pid, _host_part, _id_part, st.none() | _host_part)


@given(pids)
def test_parse_of_str_round_trips(pid: Pid) -> None:
    assert Pid.parse(str(pid)) == pid


def test_local_pid_string_names_host_node_and_id() -> None:
    pid = Pid("app:processes", "17", "node-a")
    assert str(pid) == "{app:processes@node-a|17}"
    assert repr(pid) == "Pid('{app:processes@node-a|17}')"
    assert pid.is_local


def test_durable_pid_string_has_no_node() -> None:
    pid = Pid.parse("{app:worker|order-123}")
    assert (pid.host, pid.id, pid.node) == ("app:worker", "order-123", None)
    assert not pid.is_local


def test_parse_passes_a_pid_through() -> None:
    pid = Pid("h", "1")
    assert Pid.parse(pid) is pid


@pytest.mark.parametrize("text", ["", "h|1", "{h|1", "{|1}", "{h|}", "{h}", "{h@|1}", "{@n|1}", "x{h|1}", "{h|1}x"])
def test_malformed_pid_string_raises_invalid(text: str) -> None:
    with pytest.raises(Error, match="malformed pid") as info:
        Pid.parse(text)
    assert info.value.kind is ErrorKind.INVALID


def test_pid_string_with_trailing_newline_raises_invalid() -> None:
    with pytest.raises(Error, match="malformed pid"):
        Pid.parse("{h|1}\n")


def test_pid_with_separator_in_host_is_rejected() -> None:
    with pytest.raises(Error) as info:
        Pid("a|b", "1")
    assert info.value.kind is ErrorKind.INVALID


def test_parse_of_non_string_raises_invalid() -> None:
    with pytest.raises(Error, match="a pid must be a string") as info:
        Pid.parse(17)  # type: ignore[arg-type]
    assert info.value.kind is ErrorKind.INVALID


def test_pids_are_hashable_values() -> None:
    assert {Pid("h", "1", "n"), Pid.parse("{h@n|1}")} == {Pid("h", "1", "n")}
    assert Pid("h", "1") != Pid("h", "1", "n")


# -- codec -----------------------------------------------------------------------------------------------------

@given(pids)
def test_pid_survives_codec_round_trip(pid: Pid) -> None:
    assert codec.roundtrip(pid) == pid


_kinds = st.sampled_from(list(ErrorKind))
_json = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.text(),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                     max_leaves=8)


@given(_kinds, st.text(), st.booleans(), _json)
def test_error_survives_codec_round_trip(kind: ErrorKind, message: str, retryable: bool, details: object) -> None:
    err = Error(kind, message, retryable=retryable, details=details)
    back = codec.roundtrip(err)
    assert isinstance(back, Error)
    assert (back.kind, back.message, back.retryable, back.details) == (kind, message, retryable, details)


def test_pids_and_errors_nested_in_payloads_survive_codec_round_trip() -> None:
    pid = Pid("app:worker", "order-1")
    payload = {"reply_to": pid, "errors": [Error(ErrorKind.TIMEOUT, "slow", details={"who": pid})], "n": 1.5}
    back = codec.roundtrip(payload)
    assert back == payload
    assert back["errors"][0].details == {"who": pid}


def test_tuples_and_sets_arrive_as_lists() -> None:
    assert codec.roundtrip({"t": (1, 2), "s": {3, 1}}) == {"t": [1, 2], "s": [1, 3]}


@pytest.mark.parametrize("value", [object(), {"f": lambda: 1}, [1, {2: pidflow}], 2**70])
def test_unencodable_payload_raises_invalid(value: object) -> None:
    with pytest.raises(Error, match="payload cannot be encoded: ") as info:
        codec.encode(value)
    assert info.value.kind is ErrorKind.INVALID


def test_encode_error_names_what_was_encoded() -> None:
    with pytest.raises(Error, match="message data cannot be encoded: cannot encode object"):
        codec.encode(object(), what="message data")
