"""Parsing of human-written quantities: durations, sizes and bandwidths.

Durations become seconds (float), memory becomes MiB (int), disk becomes GB (int),
bandwidth becomes Gbit/s (float). Integers downstream mean results never drift with
float rounding; the parse functions are the only place where text becomes numbers.
"""

from __future__ import annotations

import math
import re

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
YEAR = 365 * DAY

_DURATION_UNITS = {
    "ms": 1e-3,
    "s": SECOND,
    "sec": SECOND,
    "m": MINUTE,
    "min": MINUTE,
    "h": HOUR,
    "d": DAY,
    "w": WEEK,
    "y": YEAR,
}

_BYTES = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}

_BANDWIDTH = {"kbps": 1e-6, "mbps": 1e-3, "gbps": 1.0, "tbps": 1e3}

_QUANTITY = re.compile(r"^\s*([+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _split(text: str, what: str, examples: str) -> tuple[float, str]:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"expected a {what} such as {examples}, got {text!r}")
    return float(match.group(1)), match.group(2)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        return math.inf if value > 0 else -math.inf


def _finite(number: float, value: object, what: str) -> float:
    if not math.isfinite(number):
        raise ValueError(f"a {what} must be a finite number, got {value!r}")
    return number


def parse_duration(value: object) -> float:
    """Seconds from ``90s``, ``15m``, ``1h``, ``365d``, ``2y`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '90s', '15m', '365d', got {value!r}")
    if isinstance(value, int | float):
        seconds = _as_float(value)
    elif isinstance(value, str):
        number, unit = _split(value, "duration", "'90s', '15m', '6h', '365d', '2y'")
        if not unit:
            seconds = number
        else:
            if unit == "M":
                raise ValueError(
                    f"ambiguous duration unit 'M' in {value!r} (minutes or months?); "
                    "write 'm' or 'min' for minutes, 'd' or 'w' for longer spans"
                )
            factor = _DURATION_UNITS.get(unit.lower())
            if factor is None:
                raise ValueError(
                    f"unknown duration unit {unit!r} in {value!r}; "
                    f"use one of {', '.join(_DURATION_UNITS)}"
                )
            seconds = number * factor
    else:
        raise ValueError(f"expected a duration such as '90s', '15m', '365d', got {value!r}")
    _finite(seconds, value, "duration")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def _parse_bytes(value: object, default_unit: str, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a {what} such as '512GiB' or '2TB', got {value!r}")
    if isinstance(value, int | float):
        nbytes = _as_float(value) * _BYTES[default_unit]
    elif isinstance(value, str):
        number, unit = _split(value, what, "'512GiB', '2TB', '64G'")
        if not unit:
            unit = default_unit
        key = unit.lower()
        if key in {"k", "m", "g", "t", "p"}:
            key += "ib"  # 'G' in memory sizes is conventionally binary
        factor = _BYTES.get(key)
        if factor is None:
            raise ValueError(
                f"unknown size unit {unit!r} in {value!r}; use one of "
                "KiB, MiB, GiB, TiB, KB, MB, GB, TB"
            )
        nbytes = number * factor
    else:
        raise ValueError(f"expected a {what} such as '512GiB' or '2TB', got {value!r}")
    _finite(nbytes, value, what)
    if nbytes < 0:
        raise ValueError(f"a size cannot be negative, got {value!r}")
    return nbytes


def parse_memory_mib(value: object) -> int:
    """MiB from ``512GiB``, ``64G`` (binary), ``1TiB`` or a plain number of MiB."""
    return round(_parse_bytes(value, "mib", "memory size") / 2**20)


def parse_disk_gb(value: object) -> int:
    """GB (10^9 bytes) from ``2TB``, ``960GB``, ``1TiB`` or a plain number of GB."""
    return round(_parse_bytes(value, "gb", "disk size") / 10**9)


def parse_bandwidth_gbps(value: object) -> float:
    """Gbit/s from ``10Gbps``, ``400Mbps`` or a plain number of Gbit/s."""
    if isinstance(value, bool):
        raise ValueError(f"expected a bandwidth such as '10Gbps', got {value!r}")
    if isinstance(value, int | float):
        gbps = _as_float(value)
    elif isinstance(value, str):
        number, unit = _split(value, "bandwidth", "'10Gbps', '400Mbps'")
        factor = _BANDWIDTH.get(unit.lower()) if unit else 1.0
        if factor is None:
            raise ValueError(f"unknown bandwidth unit {unit!r} in {value!r}; use Mbps, Gbps, Tbps")
        gbps = number * factor
    else:
        raise ValueError(f"expected a bandwidth such as '10Gbps', got {value!r}")
    _finite(gbps, value, "bandwidth")
    if gbps < 0:
        raise ValueError(f"a bandwidth cannot be negative, got {value!r}")
    return gbps


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, for messages and echoes.

    ``parse_duration(format_duration(x)) == x`` for every finite non-negative ``x``.
    """
    for unit, factor in (("y", YEAR), ("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= factor and seconds % factor == 0 and seconds // factor < 2**53:
            return f"{int(seconds // factor)}{unit}"
    text = repr(float(seconds))  # shortest text that reads back as the same float
    return f"{text.removesuffix('.0')}s"
