"""The Lua ``time`` module (_time_module.py, _time_calendar.py, _time_layout.py, _durations.py) in local
processes, at parity with the seed runtime: nanosecond numbers, Go durations and layouts, Time and Duration
methods, timers and tickers on the trio clock (MockClock), and ``channel.select``'s default case."""

from __future__ import annotations

import pytest
import trio

from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend, parse_duration
from pidflow.lua_bindings._durations import format_go_duration, parse_go_duration

from lua_helpers import DeterministicBackend


class ClockBackend(TrioBackend):
    """Wall time read from the trio clock, so that Times carried by timers are those of the MockClock."""

    def now_ns(self) -> int:
        return round(trio.current_time() * 1e9)


def T(body: str) -> str:
    return 'local time = require("time")\n' + body


# ---------------------------------------------------------------- durations

async def test_duration_constants_are_integer_nanoseconds(lua):
    assert await lua(T("""
        local out = {}
        for _, k in ipairs{"NANOSECOND", "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR"} do
            out[#out + 1] = {time[k], math.type(time[k])}
        end
        return out
    """)) == [[n, "integer"] for n in (1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000)]


@pytest.mark.parametrize("duration, seconds", [
    ("250 * time.MILLISECOND", 0.25), ("1500000000", 1.5), ("1.5e9", 1.5), ('"1h30m"', 5400), ('"100ms"', 0.1),
    ('time.parse_duration("2m3.5s")', 123.5),
])
async def test_sleep_takes_nanoseconds_go_strings_and_durations(lua, autojump_clock, duration, seconds):
    start = trio.current_time()
    await lua(T(f"time.sleep({duration})"))
    assert trio.current_time() - start == pytest.approx(seconds)


async def test_sleep_of_zero_or_a_negative_duration_only_yields(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local order = {}
        coroutine.spawn(function() order[#order + 1] = "other" end)
        time.sleep(0)
        time.sleep("-5s")
        order[#order + 1] = "main"
        return order
    """)) == ["other", "main"]
    assert trio.current_time() == start


@pytest.mark.parametrize("arg, fragment", [
    ('"5 parsecs"', 'unknown unit " parsecs" in duration "5 parsecs"'), ('"1d"', 'unknown unit "d"'),
    ('"5"', 'missing unit in duration "5"'), ('""', 'invalid duration ""'), ("{}", "got table"),
    ("true", "got boolean"), ("0/0", "not a finite"), ("math.huge", "not a finite"),
])
async def test_a_bad_duration_gives_nil_and_invalid_naming_the_call(lua, arg, fragment):
    out = await lua(T(f"""
        local results = {{}}
        for _, name in ipairs{{"sleep", "after", "timer", "ticker", "parse_duration"}} do
            local v, err = time[name]({arg})
            results[#results + 1] = {{v == nil, err:kind(), err:message(), err:retryable()}}
        end
        return results
    """))
    for (is_nil, kind, message, retryable), name in zip(out, ["sleep", "after", "timer", "ticker", "parse_duration"]):
        assert (is_nil, kind, retryable) == (True, "INVALID", False)
        assert message.startswith(f"time.{name}: ") and fragment in message


@pytest.mark.parametrize("name", ["after", "timer", "ticker"])
async def test_after_timer_and_ticker_refuse_a_duration_that_is_not_positive(lua, name):
    assert await lua(T(f"""
        local a, e1 = time.{name}(0)
        local b, e2 = time.{name}("-1s")
        return {{a == nil, b == nil, e1:kind(), e1:message(), e2:message()}}
    """)) == [True, True, "INVALID", f"time.{name}: duration must be > 0", f"time.{name}: duration must be > 0"]


async def test_parse_duration_reads_go_strings_numbers_and_durations(lua):
    assert await lua(T("""
        local out = {}
        for _, v in ipairs{"1h30m", "1.5s", "-2m3.5s", "300us", "300µs", "1h30m45s500ms", ".5s", "0", 42, 2.9} do
            local d = time.parse_duration(v)
            out[#out + 1] = {d:nanoseconds(), tostring(d)}
        end
        local d = time.parse_duration("1m")
        out[#out + 1] = time.parse_duration(d) == d
        return out
    """)) == [[5_400_000_000_000, "1h30m0s"], [1_500_000_000, "1.5s"], [-123_500_000_000, "-2m3.5s"],
              [300_000, "300µs"], [300_000, "300µs"], [5_445_500_000_000, "1h30m45.5s"], [500_000_000, "500ms"],
              [0, "0s"], [42, "42ns"], [2, "2ns"], True]


async def test_duration_methods_count_as_go_does(lua):
    assert await lua(T("""
        local d = time.parse_duration("1h30m45s500ms")
        local n = time.parse_duration(-1500)
        return {d:hours(), d:minutes(), d:seconds(), d:milliseconds(), d:microseconds(), d:nanoseconds(),
                math.type(d:milliseconds()), n:microseconds(), n:milliseconds()}
    """)) == [1.5126388888888888, 90.75833333333334, 5445.5, 5_445_500, 5_445_500_000, 5_445_500_000_000,
              "integer", -1, 0]


async def test_durations_compare_and_add(lua):
    assert await lua(T("""
        local a, b = time.parse_duration("1s"), time.parse_duration(time.SECOND)
        local c = time.parse_duration("1500ms")
        return {a == b, a < c, c <= a, tostring(a + c), tostring(a - c)}
    """)) == [True, True, False, "2.5s", "-500ms"]


async def test_a_duration_negates_as_in_go(lua):
    # -d (Go allows it): the shortest Duration stays itself, as Go's int64 negation wraps
    assert await lua(T("""
        local c = time.parse_duration("1500ms")
        local t = time.unix(100)
        local shortest = time.parse_duration(math.mininteger)
        return {tostring(-c), (-c):nanoseconds(), -(-c) == c, tostring(-time.parse_duration(0)),
                t:add(-c):unix_nano(), (-shortest):nanoseconds() == math.mininteger,
                (-time.parse_duration(math.maxinteger)):nanoseconds() == math.mininteger + 1}
    """)) == ["-1.5s", -1_500_000_000, True, "0s", 98_500_000_000, True, True]


@pytest.mark.parametrize("expr, fragment", [
    ("d < 5", "time.Duration <: time.Duration and number"),
    ("5 <= d", "time.Duration <=: number and time.Duration"),
    ("d + 1", "time.Duration +: time.Duration and number"),
    ('d - "1s"', "time.Duration -: time.Duration and string"),
    ("time.now() < 5", "time.Time <: time.Time and number"),
    ("time.now() <= d", "time.Time <=: time.Time and time.Duration"),
])
async def test_operators_on_a_duration_or_time_and_another_value_raise_invalid(lua, expr, fragment):
    # (the operands were indexed: "attempt to index a number value", naming nothing)
    ok, kind, message = await lua(T(f"""
        local d = time.parse_duration("1s")
        local ok, err = pcall(function() return {expr} end)
        return {{ok, err:kind(), err:message()}}
    """))
    assert (ok, kind) == (False, "INVALID") and fragment in message, message


@pytest.mark.parametrize("text, ns", [
    ("1h30m", 5_400_000_000_000), ("+1.5s", 1_500_000_000), ("-0", 0), ("1.0000000001s", 1_000_000_000),
    ("9223372036854775807ns", 2**63 - 1), ("-9223372036854775808ns", -(2**63)), ("2562047h", 9_223_369_200_000_000_000),
])
def test_go_durations_parse_to_nanoseconds(text, ns):
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "-", "+", "5", ".", "s", "1.s.", "1x", "1d", "9223372036854775808ns", "2562048h",
                                  "1h 30m", " 1h"])
def test_go_durations_refuse_what_go_refuses(text):
    with pytest.raises(Error) as info:
        parse_go_duration(text)
    assert info.value.kind is ErrorKind.INVALID and info.value.message.startswith("time: ")


def test_a_long_duration_string_is_refused_with_a_short_message():
    # 5000 digits overflow (Python's int() would refuse them: not INTERNAL); over 64 KiB is refused unread (the
    # parse runs on the node's event loop); either way the message quotes the text cut short
    assert parse_go_duration("0" * 5000 + "1s") == 1_000_000_000
    for text in ["1" * 5000 + "s", "1ns" * 30000, "x" * 70000]:
        with pytest.raises(Error) as info:
            parse_go_duration(text)
        assert info.value.kind is ErrorKind.INVALID and len(info.value.message) < 200, info.value.message
        assert info.value.message.endswith('..."')


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (1_100, "1.1µs"), (2_200_000, "2.2ms"), (3_300_000_000, "3.3s"), (-1_500_000_000, "-1.5s"),
    (60_000_000_000, "1m0s"), (3_600_000_000_000, "1h0m0s"), (4_000_000_000_001, "1h6m40.000000001s"),
    (-(2**63), "-2562047h47m16.854775808s"),
])
def test_go_duration_strings(ns, text):
    assert format_go_duration(ns) == text


def test_durations_of_spawn_options_and_cancel_stay_milliseconds():
    assert parse_duration(250) == 0.25
    assert parse_duration("1h") == 3600


# ---------------------------------------------------------------- time values

async def test_now_reads_the_backends_wall_clock(lua):
    backend = TrioBackend()
    backend.now_ns = lambda: 1_735_484_645_123_456_789
    assert await lua(T("""
        local t = time.now()
        return {t:unix(), t:unix_nano(), t:nanosecond(), t:location():string(), t:utc():format(time.RFC3339NANO)}
    """), backend=backend) == [1_735_484_645, 1_735_484_645_123_456_789, 123_456_789, "Local",
                               "2024-12-29T15:04:05.123456789Z"]


async def test_sub_of_two_times_is_a_duration(lua):
    backend = TrioBackend()
    clock = iter([1_000_000_000, 2_500_000_000])
    backend.now_ns = lambda: next(clock)
    assert await lua(T("""
        local start = time.now()
        local d = time.now():sub(start)
        return {d:milliseconds(), d:seconds(), tostring(d), getmetatable(d).__name}
    """), backend=backend) == [1500, 1.5, "1.5s", "time.Duration"]


async def test_date_builds_a_time_whose_fields_read_back(lua):
    assert await lua(T("""
        local t = time.date(2024, time.DECEMBER, 29, 15, 4, 5, 123, time.utc)
        local y, m, d = t:date()
        local h, mi, s = t:clock()
        return {t:year(), t:month(), t:day(), t:hour(), t:minute(), t:second(), t:nanosecond(), t:weekday(),
                t:year_day(), y, m, d, h, mi, s, t:weekday() == time.SUNDAY, t:unix()}
    """)) == [2024, 12, 29, 15, 4, 5, 123, 0, 364, 2024, 12, 29, 15, 4, 5, True, 1_735_484_645]


async def test_date_normalizes_fields_out_of_range_as_go_does(lua):
    assert await lua(T("""
        local t = time.date(2024, 13, 32, 25, 61, 61, 1000000001, time.utc)
        local feb = time.date(2023, 2, 29, 0, 0, 0, 0, time.utc)
        return {t:format(time.RFC3339NANO), feb:format(time.DATE_ONLY)}
    """)) == ["2025-02-02T02:02:02.000000001Z", "2023-03-01"]


async def test_unix_makes_a_time_and_carries_nanoseconds_over(lua):
    assert await lua(T("""
        local t = time.unix(1735484645, 0):utc()
        local u = time.unix(1, 1500000000)
        local v = time.unix(0, -1)
        return {t:year(), t:month(), t:day(), t:hour(), u:unix(), u:nanosecond(), v:unix(), v:nanosecond()}
    """)) == [2024, 12, 29, 15, 2, 500_000_000, -1, 999_999_999]


async def test_add_takes_nanoseconds_strings_and_durations(lua):
    assert await lua(T("""
        local t = time.date(2024, 12, 29, 15, 4, 5, 0, time.utc)
        return {t:add(time.parse_duration("1h")):hour(), t:add("30m"):minute(), t:add(time.HOUR):hour(),
                t:add(-1):format(time.RFC3339NANO), t:sub(t:add("-90m")):minutes()}
    """)) == [16, 34, 16, "2024-12-29T15:04:04.999999999Z", 90]


async def test_adding_the_extreme_durations_does_not_wrap(lua):
    assert await lua(T("""
        local t = time.date(2024, 12, 29, 15, 4, 5, 999999999, time.utc)
        return {t:add(math.maxinteger):sub(t):nanoseconds() == math.maxinteger,
                t:add(math.mininteger):sub(t):nanoseconds() == math.mininteger, t:add(math.maxinteger):year()}
    """)) == [True, True, 2317]


async def test_a_date_beyond_64_bit_seconds_raises_invalid(lua):
    ok, kind, message = await lua(T("""
        local ok, err = pcall(time.date, math.maxinteger, 1, 1, 0, 0, 0, 0, time.utc)
        return {ok, err:kind(), err:message()}
    """))
    assert (ok, kind) == (False, "INVALID") and "64-bit" in message and message.startswith("time.date: ")


async def test_add_date_adds_calendar_units_and_normalizes(lua):
    assert await lua(T("""
        local t = time.date(2024, 12, 29, 15, 4, 5, 0, time.utc)
        local jan31 = time.date(2024, 1, 31, 0, 0, 0, 0, time.utc)
        local a = t:add_date(1, 2, 3)
        return {a:year(), a:month(), a:day(), jan31:add_date(0, 1, 0):format(time.DATE_ONLY),
                t:add_date(0, 0, -7):format(time.DATE_ONLY)}
    """)) == [2026, 3, 4, "2024-03-02", "2024-12-22"]


async def test_times_compare(lua):
    assert await lua(T("""
        local t1 = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
        local t2 = time.date(2024, 1, 2, 0, 0, 0, 0, time.utc)
        local ny = time.load_location("America/New_York")
        return {t1:before(t2), t2:after(t1), t1:equal(t1), t1:equal(t2), t1:in_location(ny):equal(t1),
                t1 < t2, t1 == time.unix(t1:unix(), 0), t2 <= t1}
    """)) == [True, True, True, False, True, True, True, False]


@pytest.mark.parametrize("layout, text", [
    ("time.RFC3339", "2024-12-29T15:04:05Z"), ("time.RFC3339NANO", "2024-12-29T15:04:05.0012Z"),
    ("time.RFC822", "29 Dec 24 15:04 UTC"), ("time.RFC822Z", "29 Dec 24 15:04 +0000"),
    ("time.RFC850", "Sunday, 29-Dec-24 15:04:05 UTC"), ("time.RFC1123", "Sun, 29 Dec 2024 15:04:05 UTC"),
    ("time.RFC1123Z", "Sun, 29 Dec 2024 15:04:05 +0000"), ("time.KITCHEN", "3:04PM"),
    ("time.STAMP", "Dec 29 15:04:05"), ("time.STAMP_MILLI", "Dec 29 15:04:05.001"),
    ("time.STAMP_MICRO", "Dec 29 15:04:05.001200"), ("time.STAMP_NANO", "Dec 29 15:04:05.001200000"),
    ("time.DATE_TIME", "2024-12-29 15:04:05"), ("time.DATE_ONLY", "2024-12-29"), ("time.TIME_ONLY", "15:04:05"),
    ('"Mon Jan 2 15:04:05 MST 2006"', "Sun Dec 29 15:04:05 UTC 2024"),
    ('"Monday, January _2 2006 (day 002, __2) 03:4:5 pm"', "Sunday, December 29 2024 (day 364, 364) 03:4:5 pm"),
    ('"06-1-2 3PM ,000 .999 .9"', "24-12-29 3PM ,001 .001 "),
    ('"Jan 2 Janet Mon Monkey"', "Dec 29 Janet Sun Monkey"),
])
async def test_format_follows_go_layouts(lua, layout, text):
    assert await lua(T(f"""
        return time.date(2024, 12, 29, 15, 4, 5, 1200000, time.utc):format({layout})
    """)) == text


async def test_format_in_a_zone_uses_its_offset_and_abbreviation(lua):
    assert await lua(T("""
        local ny = time.load_location("America/New_York")
        local winter = time.date(2024, 1, 15, 12, 0, 0, 0, time.utc):in_location(ny)
        local summer = time.date(2024, 7, 15, 12, 0, 0, 0, time.utc):in_location(ny)
        local ist = time.fixed_zone("IST", 5 * 3600 + 30 * 60)
        local anon = time.fixed_zone("", -(3 * 3600 + 30 * 60 + 15))
        local t = time.date(2024, 1, 15, 12, 0, 0, 0, ist)
        return {winter:format(time.RFC1123Z .. " MST"), summer:format(time.RFC3339 .. " MST"), t:format(time.RFC3339),
                t:utc():format(time.RFC3339), t:hour(), t:utc():hour(),
                time.date(2024, 1, 15, 12, 0, 0, 0, anon):format("MST Z07:00:00 -070000 -07 Z07")}
    """)) == ["Mon, 15 Jan 2024 07:00:00 -0500 EST", "2024-07-15T08:00:00-04:00 EDT", "2024-01-15T12:00:00+05:30",
              "2024-01-15T06:30:00Z", 12, 6, "-0330 -03:30:15 -033015 -03 -03"]


async def test_tostring_of_a_time_is_gos_time_string(lua):
    assert await lua(T("""
        local t = time.date(2024, 12, 29, 15, 4, 5, 120000000, time.utc)
        return {tostring(t), tostring(t:in_location(time.fixed_zone("IST", 19800))), t:format_rfc3339(), t:format()}
    """)) == ["2024-12-29 15:04:05.12 +0000 UTC", "2024-12-29 20:34:05.12 +0530 IST", "2024-12-29T15:04:05Z",
              "2024-12-29T15:04:05.12Z"]


async def test_parse_reads_go_layouts_and_zones(lua):
    assert await lua(T("""
        local ny = time.load_location("America/New_York")
        local out = {}
        local function add(t, err)
            if err then out[#out + 1] = err:message() return end
            out[#out + 1] = {t:format(time.RFC3339NANO), t:location():string()}
        end
        add(time.parse(time.RFC3339, "2024-12-29T15:04:05Z"))
        add(time.parse(time.RFC3339, "2024-12-29T15:04:05+05:30"))
        add(time.parse(time.RFC3339NANO, "2024-12-29T15:04:05.123456789-08:00"))
        add(time.parse("2006-01-02 15:04", "2024-12-29 14:30", ny))
        add(time.parse("2006-01-02 15:04:05 MST", "2024-12-29 14:30:00 EST", ny))
        add(time.parse("2006-01-02 15:04:05 MST", "2024-12-29 14:30:00 EST", time.utc))
        add(time.parse("2006-01-02 15:04:05", "2024-12-29 15:04:05.25", time.utc))
        add(time.parse("Jan _2 3:04PM", "Feb  3 12:30AM", time.utc))
        add(time.parse("2006 002", "2024 060", time.utc))
        add(time.parse(time.RFC1123, "sun, 29 dec 2024 15:04:05 GMT", time.utc))
        return out
    """)) == [["2024-12-29T15:04:05Z", "UTC"], ["2024-12-29T15:04:05+05:30", ""],
              ["2024-12-29T15:04:05.123456789-08:00", ""], ["2024-12-29T14:30:00-05:00", "America/New_York"],
              ["2024-12-29T14:30:00-05:00", "America/New_York"], ["2024-12-29T14:30:00Z", "EST"],
              ["2024-12-29T15:04:05.25Z", "UTC"], ["0000-02-03T00:30:00Z", "UTC"], ["2024-02-29T00:00:00Z", "UTC"],
              ["2024-12-29T15:04:05Z", "GMT"]]


async def test_parse_without_a_location_is_in_the_local_zone(lua):
    assert await lua(T("""
        local t = time.parse(time.DATE_TIME, "2024-12-29 15:04:05")
        return {t:location():string(), t:year(), t:hour()}
    """)) == ["Local", 2024, 15]


@pytest.mark.parametrize("layout, value, message", [
    ("time.DATE_ONLY", "invalid-date", 'parsing time "invalid-date" as "2006-01-02": cannot parse "invalid-date" as "2006"'),
    ("time.DATE_ONLY", "2024-02-30", 'parsing time "2024-02-30": day out of range'),
    ("time.DATE_ONLY", "2024-13-01", 'parsing time "2024-13-01": month out of range'),
    ("time.DATE_ONLY", "2024-01-02x", 'parsing time "2024-01-02x": extra text: "x"'),
    ("time.TIME_ONLY", "25:00:00", 'parsing time "25:00:00": hour out of range'),
    ("time.RFC3339", "2024-12-29T15:04:05", 'parsing time "2024-12-29T15:04:05" as "2006-01-02T15:04:05Z07:00": '
                                            'cannot parse "" as "Z07:00"'),
    ("time.KITCHEN", "3:04XM", 'parsing time "3:04XM" as "3:04PM": cannot parse "XM" as "PM"'),
])
async def test_parse_failures_give_nil_and_invalid_with_gos_message(lua, layout, value, message):
    assert await lua(T(f"""
        local t, err = time.parse({layout}, "{value}", time.utc)
        return {{t == nil, err:kind(), err:message(), err:retryable()}}
    """)) == [True, "INVALID", message, False]


async def test_parse_quotes_the_value_where_a_layout_literal_stopped_matching(lua):
    # Go's skip: the message quotes the rest of the value from the character that did not match
    assert await lua(T("""
        local t, err = time.parse("2006 at 15", "2024 an 15", time.utc)
        return {t == nil, err:message()}
    """)) == [True, 'parsing time "2024 an 15" as "2006 at 15": cannot parse "n 15" as " at "']


async def test_a_layout_or_value_over_64_kib_is_refused_and_one_under_it_parses(lua):
    # each field of a layout is a Python object while it is used, and the parse runs on the node's event loop
    assert await lua(T("""
        local ok_layout, ok_value = ("01"):rep(32768), ("01"):rep(32768)
        local t = time.parse(ok_layout, ok_value, time.utc)
        local a, err = time.parse(ok_layout .. "0", ok_value .. "0", time.utc)
        local b = time.parse("01", ("1"):rep(65537), time.utc)
        return {t:month(), a == nil, err:kind(), err:message(), b == nil}
    """)) == [1, True, "INVALID", "time.parse: a layout or value longer than 65536 bytes (65537 and 65537)", True]


async def test_layouts_values_and_zone_names_that_are_not_utf8_keep_their_bytes(lua):
    # Lua strings are bytes, as Go's are: a layout or zone name that is not UTF-8 formats and parses
    assert await lua(T("""
        local zone = time.fixed_zone("\xff", 3600)
        local t = time.parse("\xfe2006", "\xfe2024", time.utc)
        local bad, err = time.parse("2006", "\xff2024", time.utc)
        return {time.unix(0):utc():format("\xff2006\xfe") == "\xff1970\xfe",
                time.unix(0):in_location(zone):format("MST 15") == "\xff 01", time.unix(0):in_location(zone):hour(),
                t:year(), bad == nil, err:kind()}
    """)) == [True, True, 1, 2024, True, "INVALID"]


async def test_a_time_only_layout_gives_a_time_in_year_zero(lua):
    assert await lua(T("""
        local t = time.parse(time.TIME_ONLY, "14:30:00", time.utc)
        return {t:year(), t:month(), t:day(), t:hour(), t:is_zero(), time.date(1, 1, 1, 0, 0, 0, 0, time.utc):is_zero()}
    """)) == [0, 1, 1, 14, False, True]


async def test_round_and_truncate_work_on_absolute_time(lua):
    assert await lua(T("""
        local t = time.parse("2006-01-02T15:04:05.999999999Z", "2024-01-01T12:34:56.789Z", time.utc)
        local week = time.parse_duration("168h")
        return {t:round(time.parse_duration("1s")):format(time.RFC3339), t:truncate(time.parse_duration("1m")):format(time.RFC3339),
                t:round(time.parse_duration("500ms")):format(time.RFC3339NANO), t:round(time.parse_duration(0)) == t,
                t:truncate(week):format(time.RFC3339), t:truncate(week):weekday()}
    """)) == ["2024-01-01T12:34:57Z", "2024-01-01T12:34:00Z", "2024-01-01T12:34:57Z", True, "2024-01-01T00:00:00Z",
              1]  # weeks count from Go's zero time, January 1 of year 1, a Monday


async def test_locations(lua):
    assert await lua(T("""
        local ny = time.load_location("America/New_York")
        local a, e1 = time.load_location("Nowhere/Land")
        local b, e2 = time.load_location("")
        local t = time.date(2024, 1, 15, 12, 0, 0, 0, ny)
        return {time.utc:string(), tostring(time.localtz), ny:string(), time.load_location("UTC") == time.utc,
                a == nil, e1:kind(), b == nil, e2:kind(), e2:message(), time.fixed_zone("EST", -5 * 3600):string(),
                t:location():string(), t:utc():hour(), t:in_local():location():string()}
    """)) == ["UTC", "Local", "America/New_York", True, True, "NOT_FOUND", True, "INVALID",
              "time.load_location: empty location name", "EST", "America/New_York", 17, "Local"]


async def test_a_deterministic_backend_has_utc_as_its_local_zone(lua):
    assert await lua(T("""
        local t = time.now()
        return {time.localtz:string(), t:location():string(), time.date(2024, 1, 1, 0, 0, 0, 0):unix(),
                time.load_location("Local") == time.utc, time.unix(0, 0):location():string()}
    """), backend=DeterministicBackend()) == ["UTC", "UTC", 1_704_067_200, True, "UTC"]


@pytest.mark.parametrize("call, fragment", [
    ('time.date("2024", 1, 1, 0, 0, 0, 0)', "time.date: bad argument #1 (year): integer expected, got string"),
    ("time.date(2024, 1, 1, 0, 0, 0, 0, {})", "time.date: bad argument #8 (location): time.Location expected, got table"),
    ("time.date(2024, 1, 1, 0, 0, 0)", "time.date: bad argument #7 (nanosecond): integer expected, got nil"),
    ("time.unix()", "time.unix: bad argument #1 (sec): integer expected, got nil"),
    ('time.parse(1, "x")', "time.parse: bad argument #1 (layout): string expected, got integer"),
    ('time.parse("x", nil)', "time.parse: bad argument #2 (value): string expected, got nil"),
    ("time.load_location(5)", "time.load_location: bad argument #1 (name): string expected"),
    ('time.fixed_zone("X", "5")', "time.fixed_zone: bad argument #2 (offset): integer expected, got string"),
    ("time.now():format(5)", "time:format: bad argument #1 (layout): string expected"),
    ('time.now():sub("1s")', "time:sub: bad argument #1: time expected, got string"),
    ("time.now():before(nil)", "time:before: bad argument #1: time expected, got nil"),
    ("time.now():add({})", "time:add: a duration is a number of nanoseconds"),
    ('time.now():add_date(1, "x", 0)', "time:add_date: bad argument #2 (months): integer expected"),
    ('time.now():round("1s")', "time:round: bad argument #1 (d): time.Duration (time.parse_duration) expected"),
    ("time.now():in_location(nil)", "time:in_location: bad argument #1 (location): time.Location expected"),
    ('time.timer("1h"):reset("soon")', 'timer:reset: time: invalid duration "soon"'),
    ('time.ticker("1h"):reset(0)', "ticker:reset: duration must be > 0"),
    ("time.now():add_date(292277024573, 0, 0)", "time:add_date: integer"),   # beyond 64-bit seconds
    ('time.now():format(("x"):rep(65537))', "time:format: bad argument #1 (layout): a layout of at most 65536 bytes"),
    # a method called with a dot, or on another object: a bad self, naming the method
    ("time.now().unix()", "time:unix: bad self (time.Time expected, got nil)"),
    ('time.now().format(time.RFC3339)', "time:format: bad self (time.Time expected, got string)"),
    ('time.now().year(time.parse_duration("1s"))', "time:year: bad self (time.Time expected, got time.Duration)"),
    ('time.parse_duration("1s").hours()', "duration:hours: bad self (time.Duration expected, got nil)"),
    ("time.utc.string(5)", "location:string: bad self (time.Location expected, got number)"),
    ('time.timer("1h").channel({})', "timer:channel: bad self (time.Timer expected, got table)"),
    ('time.timer("1h").stop(time.ticker("1h"))', "timer:stop: bad self (time.Timer expected, got time.Ticker)"),
    ('time.ticker("1h").reset(nil, "1s")', "ticker:reset: bad self (time.Ticker expected, got nil)"),
])
async def test_bad_arguments_raise_invalid_naming_the_argument(lua, call, fragment):
    ok, kind, message = await lua(T(f"""
        local ok, err = pcall(function() return {call} end)
        return {{ok, err:kind(), err:message()}}
    """))
    assert (ok, kind) == (False, "INVALID") and fragment in message, message


# ---------------------------------------------------------------- timers

async def test_after_delivers_one_time_then_closes(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local ch = time.after(10 * time.MILLISECOND)
        local v, ok = ch:receive()
        local again, ok2 = ch:receive()
        return {getmetatable(v).__name, ok, v:unix_nano(), again == nil, ok2}
    """), backend=ClockBackend()) == ["time.Time", True, round(start * 1e9) + 10_000_000, True, False]
    assert trio.current_time() - start == pytest.approx(0.01)


async def test_timer_fires_once_on_its_channel(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local t = time.timer("2s")
        local same = t:channel() == t:response()
        local v = t:response():receive()
        return {same, getmetatable(t).__name, v:unix_nano()}
    """), backend=ClockBackend()) == [True, "time.Timer", round(start * 1e9) + 2_000_000_000]


async def test_timer_stop_before_it_fires_is_true_then_false_and_closes_its_channel(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local t = time.timer("1h")
        local first, second = t:stop(), t:stop()
        local v, ok = t:channel():receive()
        local fired = time.timer("1ms")
        fired:channel():receive()
        return {first, second, v == nil, ok, fired:stop()}
    """)) == [True, False, True, False, False]
    assert trio.current_time() - start == pytest.approx(0.001)


async def test_a_stopped_timer_no_longer_wakes_the_process(lua, autojump_clock):
    # with the timer left in the list the process would sleep an hour, then report the deadlock
    start = trio.current_time()
    with pytest.raises(Error, match="deadlock"):
        await lua(T("""
            time.timer("1h"):stop()
            channel.new():receive()
        """))
    assert trio.current_time() == start


async def test_timer_reset_moves_a_pending_deadline(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local t = time.timer("1h")
        local moved = t:reset(5 * time.MILLISECOND)
        t:channel():receive()
        return {moved, t:reset("1s"), t:stop()}
    """)) == [True, False, False]
    assert trio.current_time() - start == pytest.approx(0.005)


async def test_reset_in_a_select_loop_keeps_an_idle_timer_from_firing(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local activity = channel.new(10)
        coroutine.spawn(function()
            for i = 1, 3 do time.sleep("3s") activity:send(i) end
        end)
        local idle = time.timer("5s")
        local seen = {}
        while true do
            local r = channel.select{activity:case_receive(), idle:response():case_receive()}
            if r.channel == idle:response() then break end
            seen[#seen + 1] = r.value
            idle:reset("5s")
        end
        return seen
    """)) == [1, 2, 3]
    assert trio.current_time() - start == pytest.approx(9 + 5)


async def test_ticker_ticks_every_period(lua, autojump_clock):
    start = round(trio.current_time() * 1e9)
    out = await lua(T("""
        local ticker = time.ticker("10ms")
        local ticks = {}
        for i = 1, 3 do ticks[i] = ticker:channel():receive():unix_nano() end
        return {getmetatable(ticker).__name, ticks, ticker:stop()}
    """), backend=ClockBackend())
    assert out == ["time.Ticker", [start + 10_000_000, start + 20_000_000, start + 30_000_000], True]


async def test_a_ticker_keeps_sixteen_ticks_nobody_takes_and_drops_the_rest(lua, autojump_clock):
    assert await lua(T("""
        local ticker = time.ticker("10ms")
        time.sleep("1s")
        local n = 0
        while channel.select{ticker:response():case_receive(), default = true}.channel do n = n + 1 end
        ticker:stop()
        return n
    """)) == 16


async def test_a_late_ticker_skips_ticks_instead_of_bunching_them(lua):
    # real time: the process computes past several deadlines, then takes one tick; a ticker that re-armed at
    # each missed deadline would have fired them all into the buffer at once
    assert await lua(T("""
        local ticker = time.ticker("10ms")
        local ch = ticker:channel()
        ch:receive()
        local t0 = os.clock()
        while os.clock() - t0 < 0.06 do end
        ch:receive()
        local queued = 0
        while channel.select{ch:case_receive(), default = true}.channel do queued = queued + 1 end
        ticker:stop()
        return queued
    """)) == 0


async def test_ticker_stop_closes_its_channel_and_reset_changes_the_period(lua, autojump_clock):
    start = round(trio.current_time() * 1e9)
    assert await lua(T("""
        local ticker = time.ticker("1s")
        local a = ticker:channel():receive():unix_nano()
        local moved = ticker:reset("10ms")
        local b = ticker:channel():receive():unix_nano()
        local c = ticker:channel():receive():unix_nano()
        local stopped = ticker:stop()
        local v, ok = ticker:channel():receive()
        return {a, b, c, moved, stopped, v == nil, ok, ticker:reset("1s")}
    """), backend=ClockBackend()) == [start + 1_000_000_000, start + 1_010_000_000, start + 1_020_000_000, True, True,
                                      True, False, False]


async def test_a_losing_after_leaves_no_waiter_and_a_won_select_returns_at_once(lua, autojump_clock):
    start = trio.current_time()
    assert await lua(T("""
        local ready = channel.new(1)
        ready:send("now")
        local r = channel.select{ready:case_receive(), time.after("1h"):case_receive()}
        return {r.value, r.ok, r.channel == ready}
    """)) == ["now", True, True]
    assert trio.current_time() == start


# ---------------------------------------------------------------- select

async def test_select_default_answers_default_and_ok_when_nothing_is_ready(lua):
    assert await lua("""
        local a = channel.new()
        local r1 = channel.select{a:case_receive(), default = true}
        local r2 = channel.select{a:case_send(1), channel.default()}
        return {r1.default, r1.ok, r1.channel == nil, r2.default, r2.ok}
    """) == [True, True, True, True, True]


async def test_select_takes_the_first_ready_case_in_list_order(lua):
    assert await lua("""
        local a, b = channel.new(1), channel.new(1)
        a:send("a") b:send("b")
        local first = channel.select{b:case_receive(), a:case_receive(), default = true}.value
        local second = channel.select{a:case_receive(), b:case_receive(), default = true}.value
        local third = channel.select{a:case_receive(), b:case_receive(), default = true}
        return {first, second, third.default}
    """) == ["b", "a", True]


# ---------------------------------------------------------------- loading


async def test_calendar_formats_and_timers_load_on_first_use(lua):
    heap = await lua(T("""
        local function bytes() collectgarbage("collect") collectgarbage("collect") return collectgarbage("count") * 1024 end
        local before = bytes()
        time.sleep(0)
        local d = time.now():sub(time.now()):milliseconds()
        local basic = bytes()
        local y = time.now():year()
        return {basic - before, bytes() - basic}
    """))
    assert heap[1] > 10_000 > heap[0], heap
