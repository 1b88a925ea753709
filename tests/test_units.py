"""Parsing of human-written quantities: durations, memory, disk, bandwidth."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudsim.units import (
    DAY,
    HOUR,
    MINUTE,
    WEEK,
    YEAR,
    format_duration,
    parse_bandwidth_gbps,
    parse_disk_gb,
    parse_duration,
    parse_memory_mib,
)

# ----------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 15 * MINUTE),
        ("6h", 6 * HOUR),
        ("365d", 365 * DAY),
        ("2y", 2 * YEAR),
        ("1w", WEEK),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("30min", 1800.0),
        ("10sec", 10.0),
        (" 7 d ", 7 * DAY),
        ("2H", 2 * HOUR),
        ("120", 120.0),
        ("0", 0.0),
        ("1e3", 1000.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_duration_parses(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_year_is_365_days_and_week_7() -> None:
    assert parse_duration("1y") == parse_duration("365d") == 31_536_000
    assert parse_duration("1w") == parse_duration("7d")


@pytest.mark.parametrize("value", ["-5d", "-1s", -3, -0.5])
def test_negative_duration_refused(value: object) -> None:
    with pytest.raises(ValueError, match="cannot be negative") as info:
        parse_duration(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", ["5 parsecs", "3fortnights", "10x"])
def test_unknown_duration_unit_lists_units(value: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    message = str(info.value)
    assert "unknown duration unit" in message
    assert repr(value) in message
    for unit in ("ms", "s", "m", "h", "d", "w", "y"):
        assert unit in message


def test_capital_m_is_ambiguous_for_durations() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("3M")
    message = str(info.value)
    assert "ambiguous" in message
    assert "'3M'" in message
    assert "minutes or months" in message
    # lower-case m is minutes
    assert parse_duration("3m") == 180.0


@pytest.mark.parametrize("value", ["", "abc", "d5", "1.2.3s", "five minutes", [1], {"s": 1}, None])
def test_duration_garbage_says_what_is_expected(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_duration_refuses_booleans() -> None:
    # YAML reads `yes`/`true` as booleans; they must not become 1 second.
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(True)


@pytest.mark.parametrize("value", [math.inf, math.nan, "1e400s", 10**400])
def test_duration_refuses_non_finite(value: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        parse_duration(value)


# ----------------------------------------------------------------------------- memory


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("512GiB", 512 * 1024),
        ("64G", 64 * 1024),  # bare G is binary for memory
        ("64GiB", 64 * 1024),
        ("1TiB", 1024 * 1024),
        ("1T", 1024 * 1024),
        ("4096MiB", 4096),
        ("4096M", 4096),
        ("1.5GiB", 1536),
        ("2048", 2048),  # plain number: MiB
        (8192, 8192),
        ("1GB", round(10**9 / 2**20)),  # explicit decimal GB stays decimal
        ("256 gib", 256 * 1024),
    ],
)
def test_memory_parses_to_mib(text: object, mib: int) -> None:
    assert parse_memory_mib(text) == mib


def test_memory_is_an_integer() -> None:
    assert isinstance(parse_memory_mib("1.5GiB"), int)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1GiB", "cannot be negative"),
        ("256GHz", "unknown size unit 'GHz'"),
        ("lots", "expected a memory size"),
        (True, "expected a memory size"),
        (math.inf, "finite"),
        ("1e400GiB", "finite"),
    ],
)
def test_memory_errors(value: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_memory_mib(value)


def test_unknown_size_unit_lists_units() -> None:
    with pytest.raises(ValueError) as info:
        parse_memory_mib("12 bananas")
    for unit in ("KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB"):
        assert unit in str(info.value)


# ----------------------------------------------------------------------------- disk


@pytest.mark.parametrize(
    ("text", "gb"),
    [
        ("2TB", 2000),  # decimal
        ("960GB", 960),
        ("1TiB", 1100),  # 1.0995e12 bytes -> 1100 GB
        ("500", 500),  # plain number: GB
        (300, 300),
        ("1PB", 1_000_000),
        ("0", 0),
    ],
)
def test_disk_parses_to_gb(text: object, gb: int) -> None:
    assert parse_disk_gb(text) == gb


def test_disk_negative_and_bad_unit() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_disk_gb("-2TB")
    with pytest.raises(ValueError, match="unknown size unit 'TBs'"):
        parse_disk_gb("2TBs")


# ----------------------------------------------------------------------------- bandwidth


@pytest.mark.parametrize(
    ("text", "gbps"),
    [
        ("10Gbps", 10.0),
        ("400Mbps", 0.4),
        ("1Tbps", 1000.0),
        ("100gbps", 100.0),
        ("25", 25.0),
        (40, 40.0),
    ],
)
def test_bandwidth_parses_to_gbps(text: object, gbps: float) -> None:
    assert parse_bandwidth_gbps(text) == pytest.approx(gbps)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10GB", "unknown bandwidth unit 'GB'"),  # bytes are not a rate
        ("-1Gbps", "cannot be negative"),
        ("fast", "expected a bandwidth"),
        (False, "expected a bandwidth"),
        (math.inf, "finite"),
    ],
)
def test_bandwidth_errors(value: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_bandwidth_gbps(value)


# ----------------------------------------------------------------------------- format_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (YEAR, "1y"),
        (2 * YEAR, "2y"),
        (30 * DAY, "30d"),
        (7 * DAY, "7d"),
        (6 * HOUR, "6h"),
        (90 * MINUTE, "90m"),
        (90.0, "90s"),
        (0.25, "0.25s"),
        (0.0, "0s"),
        (1234567.5, "1234567.5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_format_then_parse_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["s", "m", "h", "d", "w", "y"]),
)
def test_parse_then_format_round_trips(count: int, unit: str) -> None:
    seconds = parse_duration(f"{count}{unit}")
    assert parse_duration(format_duration(seconds)) == seconds
    assert len(format_duration(seconds)) <= len(f"{count}{unit}") or unit == "w"


@given(st.integers(min_value=0, max_value=2**40))
def test_memory_plain_mib_and_gib_agree(gib: int) -> None:
    assert parse_memory_mib(f"{gib}GiB") == parse_memory_mib(gib * 1024) == gib * 1024
