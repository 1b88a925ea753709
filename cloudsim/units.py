"""Parsing of human-written quantities: durations, sizes and bandwidths.

Durations become seconds (float), memory becomes MiB (int), disk becomes GB (int),
bandwidth becomes Gbit/s (float). Integers downstream mean results never drift with
float rounding; the parse functions are the only place where text becomes numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

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


def _quantity(
    value: object,
    *,
    noun: str,
    what: str,
    examples: str,
    units: Mapping[str, float],
    plain: float,
    unit_key: Callable[[str], str] = str.lower,
    known: str,
) -> float:
    """``value`` in base units: text is a number and a unit of ``units``; a bare number (or
    text without a unit) counts ``plain`` base units. Finite and non-negative, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a {what} such as {examples}, got {value!r}")
    if isinstance(value, str):
        number, unit = _split(value, what, examples)
        factor = units.get(unit_key(unit)) if unit else plain
        if factor is None:
            raise ValueError(f"unknown {noun} unit {unit!r} in {value!r}; use one of {known}")
        amount = number * factor
    else:
        amount = _as_float(value) * plain
    _finite(amount, value, what)
    if amount < 0:
        raise ValueError(f"a {noun} cannot be negative, got {value!r}")
    return amount


def parse_duration(value: object) -> float:
    """Seconds from ``90s``, ``15m``, ``1h``, ``365d``, ``2y`` or a plain number of seconds."""
    if isinstance(value, str) and _QUANTITY.match(value) and value.strip().endswith("M"):
        raise ValueError(
            f"ambiguous duration unit 'M' in {value!r} (minutes or months?); "
            "write 'm' or 'min' for minutes, 'd' or 'w' for longer spans"
        )
    return _quantity(
        value,
        noun="duration",
        what="duration",
        examples="'90s', '15m', '6h', '365d', '2y'",
        units=_DURATION_UNITS,
        plain=SECOND,
        known=", ".join(_DURATION_UNITS),
    )


def _byte_unit(unit: str) -> str:
    key = unit.lower()
    return key + "ib" if key in {"k", "m", "g", "t", "p"} else key  # bare 'G' is binary


def _parse_bytes(value: object, default_unit: str, what: str) -> float:
    return _quantity(
        value,
        noun="size",
        what=what,
        examples="'512GiB', '2TB', '64G'",
        units=_BYTES,
        plain=_BYTES[default_unit],
        unit_key=_byte_unit,
        known="KiB, MiB, GiB, TiB, KB, MB, GB, TB",
    )


def parse_memory_mib(value: object) -> int:
    """MiB from ``512GiB``, ``64G`` (binary), ``1TiB`` or a plain number of MiB."""
    return round(_parse_bytes(value, "mib", "memory size") / 2**20)


def parse_disk_gb(value: object) -> int:
    """GB (10^9 bytes) from ``2TB``, ``960GB``, ``1TiB`` or a plain number of GB."""
    return round(_parse_bytes(value, "gb", "disk size") / 10**9)


def parse_bandwidth_gbps(value: object) -> float:
    """Gbit/s from ``10Gbps``, ``400Mbps`` or a plain number of Gbit/s."""
    return _quantity(
        value,
        noun="bandwidth",
        what="bandwidth",
        examples="'10Gbps', '400Mbps'",
        units=_BANDWIDTH,
        plain=1.0,
        known="Mbps, Gbps, Tbps",
    )


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, for messages and echoes.

    ``parse_duration(format_duration(x)) == x`` for every finite non-negative ``x``.
    """
    for unit, factor in (("y", YEAR), ("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= factor and seconds % factor == 0 and seconds // factor < 2**53:
            return f"{int(seconds // factor)}{unit}"
    text = repr(float(seconds))  # shortest text that reads back as the same float
    return f"{text.removesuffix('.0')}s"


def round6(value: float) -> float:
    """A figure of ``summary.json``: a float rounded to 6 decimals."""
    return round(float(value), 6)
