"""pidflow.Error: kinds, retryable defaults, string form, wire form, wrapping, pickling."""

from __future__ import annotations

import pickle

import pytest
import trio

import pidflow
from pidflow import Error, ErrorKind

DESIGN_KINDS = ["NOT_FOUND", "INVALID", "INTERNAL", "TIMEOUT", "CANCELED", "ALREADY_EXISTS", "CONFLICT",
                "UNAVAILABLE", "PERMISSION_DENIED"]


@pytest.mark.parametrize("kind", DESIGN_KINDS)
def test_every_kind_of_the_design_exists(kind: str) -> None:
    assert ErrorKind(kind).value == kind


def test_error_carries_kind_message_and_details() -> None:
    err = Error(ErrorKind.CONFLICT, "order already paid", details={"order": 7})
    assert (err.kind, err.message, err.details) == (ErrorKind.CONFLICT, "order already paid", {"order": 7})


def test_kind_may_be_given_as_a_string_in_any_case() -> None:
    assert Error("not_found", "x").kind is ErrorKind.NOT_FOUND


def test_unknown_kind_is_rejected_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown error kind 'OOPS'; expected one of NOT_FOUND, INVALID"):
        Error("OOPS", "x")


@pytest.mark.parametrize(("kind", "retryable"),
                         [(k, k in ("TIMEOUT", "UNAVAILABLE", "INTERNAL", "RATE_LIMITED")) for k in ErrorKind])
def test_retryable_defaults_by_kind(kind: ErrorKind, retryable: bool) -> None:
    assert Error(kind, "x").retryable is retryable


@pytest.mark.parametrize("kind", ["UNKNOWN", "RATE_LIMITED"])
def test_the_kinds_of_the_lua_api_exist_and_cross_the_wire(kind: str) -> None:
    # Lua's errors.new("msg") is UNKNOWN; RATE_LIMITED is one of errors.X (the seed runtime's kinds)
    err = Error(kind.lower(), "x", details={"n": 1})
    assert err.kind is ErrorKind(kind) and str(err) == f"{kind}: x"
    assert Error.from_dict(err.to_dict()) == err
    assert pickle.loads(pickle.dumps(err)) == err


def test_rate_limited_is_retryable_and_unknown_is_not_unless_told() -> None:
    # a rate limit passes with time; an UNKNOWN error says nothing about its cause, so it is not retried by default
    assert Error(ErrorKind.RATE_LIMITED, "slow down").retryable is True
    assert Error(ErrorKind.UNKNOWN, "boom").retryable is False
    assert Error(ErrorKind.UNKNOWN, "boom", retryable=True).retryable is True
    assert Error(ErrorKind.RATE_LIMITED, "quota", retryable=False).retryable is False


def test_the_existing_kinds_stay() -> None:
    assert {"TERMINATED", "NON_DETERMINISTIC"} <= {k.value for k in ErrorKind}


def test_explicit_retryable_overrides_the_default() -> None:
    assert Error(ErrorKind.INVALID, "x", retryable=True).retryable is True
    assert Error(ErrorKind.TIMEOUT, "x", retryable=False).retryable is False


def test_str_is_kind_colon_message() -> None:
    assert str(Error(ErrorKind.TIMEOUT, "took too long")) == "TIMEOUT: took too long"
    assert str(ErrorKind.TIMEOUT) == "TIMEOUT"


def test_errors_with_same_kind_message_and_retryable_are_equal_and_hash_alike() -> None:
    a = Error(ErrorKind.INVALID, "bad", details={"a": 1})
    b = Error(ErrorKind.INVALID, "bad", details={"b": 2})
    assert a == b and hash(a) == hash(b)
    assert a != Error(ErrorKind.INVALID, "bad", retryable=True)
    assert a != Error(ErrorKind.NOT_FOUND, "bad")


def test_dict_round_trip_keeps_every_field() -> None:
    err = Error(ErrorKind.CONFLICT, "busy", retryable=True, details={"k": [1, 2]})
    wire = err.to_dict()
    assert wire == {"kind": "CONFLICT", "message": "busy", "retryable": True, "details": {"k": [1, 2]}}
    back = Error.from_dict(wire)
    assert back == err and back.details == err.details


def test_dict_form_omits_absent_details() -> None:
    assert "details" not in Error(ErrorKind.INVALID, "x").to_dict()


def test_pickle_round_trip_keeps_every_field() -> None:
    err = Error(ErrorKind.UNAVAILABLE, "down", retryable=False, details={"host": "h"})
    back = pickle.loads(pickle.dumps(err))
    assert back == err and back.retryable is False and back.details == {"host": "h"}


def test_wrap_boxes_exception_as_internal_with_traceback() -> None:
    def fail() -> None:
        raise RuntimeError("missing")

    try:
        fail()
    except RuntimeError as exc:
        err = Error.wrap(exc)
    assert err.kind is ErrorKind.INTERNAL and err.retryable
    assert err.message == "RuntimeError: missing"
    assert "in fail" in err.details["traceback"] and "RuntimeError" in err.details["traceback"]


@pytest.mark.parametrize(("exc", "kind", "retryable"), [
    (ValueError("bad"), ErrorKind.INVALID, False), (TypeError("bad"), ErrorKind.INVALID, False),
    (KeyError("k"), ErrorKind.INVALID, False), (IndexError("i"), ErrorKind.INVALID, False),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), ErrorKind.INVALID, False),
    (TimeoutError("slow"), ErrorKind.TIMEOUT, True), (ConnectionRefusedError("no"), ErrorKind.UNAVAILABLE, True),
    (PermissionError("no"), ErrorKind.PERMISSION_DENIED, False), (FileNotFoundError("f"), ErrorKind.NOT_FOUND, False),
    (RuntimeError("r"), ErrorKind.INTERNAL, True), (ZeroDivisionError("z"), ErrorKind.INTERNAL, True),
])
def test_wrap_gives_a_python_exception_the_kind_of_its_table_row(exc: BaseException, kind: ErrorKind,
                                                                 retryable: bool) -> None:
    err = Error.wrap(exc)
    assert (err.kind, err.retryable) == (kind, retryable)
    assert err.message.startswith(type(exc).__name__ + ":")


def test_wrap_with_a_kind_keeps_that_kind() -> None:
    assert Error.wrap(ValueError("x"), ErrorKind.CONFLICT).kind is ErrorKind.CONFLICT


async def _bad_input(_input: object) -> None:
    raise ValueError("quantity must be positive")


async def _chosen(_input: object) -> None:
    raise Error(ErrorKind.UNAVAILABLE, "the bank is down", retryable=False)


async def test_a_value_error_from_a_process_is_invalid_and_a_raised_error_keeps_its_kind() -> None:
    async with pidflow.open_node() as node:
        with pytest.raises(Error, match="ValueError: quantity must be positive") as info:
            await node.process.exec(_bad_input)
        assert (info.value.kind, info.value.retryable) == (ErrorKind.INVALID, False)
        with pytest.raises(Error, match="the bank is down") as info:
            await node.process.exec(_chosen)
        assert (info.value.kind, info.value.retryable) == (ErrorKind.UNAVAILABLE, False)


def test_wrap_passes_an_error_through_unchanged() -> None:
    err = Error(ErrorKind.CONFLICT, "x")
    assert Error.wrap(err) is err


def test_cancellation_is_not_an_error() -> None:
    assert not issubclass(trio.Cancelled, Error)
    assert issubclass(Error, Exception)


def test_error_is_the_public_pidflow_error() -> None:
    assert pidflow.Error is Error and pidflow.ErrorKind is ErrorKind
