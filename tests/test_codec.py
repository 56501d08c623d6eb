"""pidflow.codec: JSON with tags for what JSON cannot hold; every pidflow value survives encode -> decode, the
encoded text is plain JSON that any parser reads, and payloads written before issue 10 (msgpack) still decode."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidflow import Error, ErrorKind, Pid, codec

# -- values of every kind pidflow sends -----------------------------------------------------------------------------
_parts = st.text(st.characters(blacklist_characters="|{}@", blacklist_categories=("Cs",)), min_size=1, max_size=8)
pids = st.builds(Pid, _parts, st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)),
                                      min_size=1, max_size=8), st.none() | _parts)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # lone surrogates are not UTF-8
ints = st.integers(-2**63, 2**63 - 1) | st.sampled_from([2**63 - 1, -2**63, 2**64 - 1, 0, -1])
floats = st.floats(allow_nan=False) | st.sampled_from([1.0, -0.0, 1e16, 2.0**63, 5e-324, math.inf, -math.inf])
scalars = st.none() | st.booleans() | ints | floats | texts | st.binary(max_size=12) | pids
keys = texts | ints | floats | st.booleans() | st.binary(max_size=6) | pids  # what a Lua table's keys become


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    errors = st.builds(Error, st.sampled_from(list(ErrorKind)), texts, retryable=st.booleans(),
                       details=st.none() | inner)
    return (st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4)
            | st.dictionaries(keys, inner, max_size=4) | errors)


values = st.recursive(scalars, _containers, max_leaves=20)


def same(a: object, b: object) -> bool:
    """Equal as pidflow values: types kept (1 is not 1.0, True is not 1), errors with their details, -0.0 signed."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Error):
        return (a.kind, a.message, a.retryable) == (b.kind, b.message, b.retryable) and same(a.details, b.details)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(k, k2) and same(a[k], b[k2]) for k, k2 in zip(a, b))
    if isinstance(a, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or (a != a and b != b))
    return a == b


@given(values)
def test_every_pidflow_value_survives_encode_and_decode(value: object) -> None:
    assert same(codec.decode(codec.encode(value)), value)


@given(values)
def test_encoded_payloads_are_plain_json(value: object) -> None:
    data = codec.encode(value)
    json.loads(data.decode("utf-8"), parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


@given(st.lists(values, max_size=5))
def test_joined_encodings_decode_as_the_list(items: list[object]) -> None:
    joined = codec.join([codec.encode(item) for item in items])
    assert joined == codec.encode(items)
    assert same(codec.decode(joined), items)


@given(st.lists(st.one_of(st.tuples(values), st.tuples(values, values)), max_size=3))
def test_tuples_arrive_as_lists(value: list[tuple[object, ...]]) -> None:
    assert same(codec.decode(codec.encode(value)), [list(t) for t in value])


# -- the wire format ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [
    (1, "1"),
    (1.0, "1.0"),
    (2**63 - 1, "9223372036854775807"),
    (-2**63, "-9223372036854775808"),
    (1e16, "1e+16"),
    ("héllo", '"héllo"'),
    ({"a": [1, None, True]}, '{"a":[1,null,true]}'),
    ((1, 2), "[1,2]"),
    ({3, 1, 2}, "[1,2,3]"),
    (Pid("app:worker", "order-1"), '{"$pid":"{app:worker|order-1}"}'),
    (Pid("app:processes", "17", "node-1"), '{"$pid":"{app:processes@node-1|17}"}'),
    (Error(ErrorKind.NOT_FOUND, "no such order"),
     '{"$error":{"kind":"NOT_FOUND","message":"no such order","retryable":false}}'),
    (Error(ErrorKind.TIMEOUT, "slow", details={"after": 5}),
     '{"$error":{"kind":"TIMEOUT","message":"slow","retryable":true,"details":{"after":5}}}'),
    (b"\xff\x00", '{"$bytes":"/wA="}'),
    ({1: "a", 5: "b"}, '{"$map":[[1,"a"],[5,"b"]]}'),
    ({0.5: True, "x": 1}, '{"$map":[[0.5,true],["x",1]]}'),
    ({"$pid": "not a pid"}, '{"$map":[["$pid","not a pid"]]}'),
    ({"$pid": "x", "other": 1}, '{"$pid":"x","other":1}'),
    (math.nan, '{"$float":"nan"}'),
    ([math.inf, -math.inf], '[{"$float":"inf"},{"$float":"-inf"}]'),
    ({}, "{}"),
    ([], "[]"),
])
def test_wire_format(value: object, text: str) -> None:
    assert codec.encode(value).decode("utf-8") == text


def test_floats_and_ints_keep_their_type() -> None:
    assert [type(v) for v in codec.decode(codec.encode([1, 1.0, 2**64 - 1, 1e300, True]))] == \
        [int, float, int, float, bool]


@pytest.mark.parametrize("value", [2**64, -2**63 - 1, [1, 2**70], {"a": {"b": -2**65}}, list(range(20)) + [2**64]])
def test_integers_over_64_bits_are_invalid(value: object) -> None:
    with pytest.raises(Error, match="payload cannot be encoded: integer -?\\d+ does not fit in 64 bits") as info:
        codec.encode(value)
    assert info.value.kind is ErrorKind.INVALID


@pytest.mark.parametrize("value", [object(), {"f": len}, "\udc80", {"s": "a\ud800"}])
def test_what_json_cannot_hold_is_invalid(value: object) -> None:
    with pytest.raises(Error, match="payload cannot be encoded: ") as info:
        codec.encode(value)
    assert info.value.kind is ErrorKind.INVALID


def test_a_cycle_is_invalid() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(Error, match="nested deeper than 200 levels"):
        codec.encode(cycle)


def test_subclasses_of_plain_types_are_written_as_their_values() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    assert codec.encode({"kind": ErrorKind.TIMEOUT, "level": Level.HIGH}) == b'{"kind":"TIMEOUT","level":3}'
    assert type(codec.decode(codec.encode(Level.HIGH))) is int


@pytest.mark.parametrize("data", [b"{", b'{"$pid":"not a pid"}', b'{"$error":{"kind":"NOPE","message":""}}',
                                  b'{"$bytes":"!!"}', b'{"$float":"big"}', b'{"$map":[[[{}],1]]}', b"\xff"])
def test_malformed_payloads_are_invalid(data: bytes) -> None:
    with pytest.raises(Error, match="payload is not pidflow JSON") as info:
        codec.decode(data)
    assert info.value.kind is ErrorKind.INVALID


def test_unknown_tags_and_dollar_keys_of_other_writers_stay_dicts() -> None:
    assert codec.decode(b'{"$date":"2026-01-01"}') == {"$date": "2026-01-01"}
    assert codec.decode(b'{"$pid":"{a|b}","n":1}') == {"$pid": "{a|b}", "n": 1}


# -- msgpack, as written before issue 10 ------------------------------------------------------------------------------
@given(values)
def test_payloads_written_before_issue_10_still_decode(value: object) -> None:
    assert same(codec.decode_msgpack(codec.encode_msgpack(value)), value)
