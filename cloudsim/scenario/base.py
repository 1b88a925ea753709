"""Building blocks of every scenario section: the frozen base model and parsed quantities.

Section schemas (this package's ``schema.py`` and the ones for containers and faults)
import from here, so none of them imports another.

Every quantity has a finite, sane range (a scenario is untrusted input: a number beyond
the range would overflow the integer arithmetic of the world's tables or run for ever);
floats are finite everywhere (``allow_inf_nan`` off for every model).
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from cloudsim.units import (
    YEAR,
    format_duration,
    parse_bandwidth_gbps,
    parse_disk_gb,
    parse_duration,
    parse_memory_mib,
)

#: A URL scheme at the start of a path or of one of its parts (``s3://``, ``/dir/s3:/``).
_SCHEME = re.compile(r"(^|/)[A-Za-z][A-Za-z0-9+.-]+:/")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: The longest duration a scenario may give (a horizon, a mean time to failure, ...).
MAX_DURATION = 100_000 * YEAR
#: The largest memory size (1 PiB, in MiB): a host, a flavor, a quota.
MAX_MEMORY_MIB = 2**30
#: The largest disk size (1 EB, in GB).
MAX_DISK_GB = 10**9
#: The largest bandwidth (1 Pbit/s, in Gbit/s).
MAX_GBPS = 1e6


def _at_most(limit: float, shown: str, what: str) -> Callable[[float], float]:
    def check(value: float) -> float:
        if value > limit:
            raise ValueError(f"a {what} must be at most {shown}")
        return value

    return check


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_at_most(MAX_DURATION, format_duration(MAX_DURATION), "duration")),
]
MemoryMiB = Annotated[
    int,
    BeforeValidator(parse_memory_mib),
    AfterValidator(_at_most(MAX_MEMORY_MIB, "1PiB", "memory size")),
]
DiskGB = Annotated[
    int,
    BeforeValidator(parse_disk_gb),
    AfterValidator(_at_most(MAX_DISK_GB, "1EB (10^9 GB)", "disk size")),
]
Gbps = Annotated[
    float,
    BeforeValidator(parse_bandwidth_gbps),
    AfterValidator(_at_most(MAX_GBPS, "1000000Gbps (1 Pbit/s)", "bandwidth")),
]


def _no_control(value: object) -> object:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("a name must not contain control characters (NUL, tab, newline, ...)")
    return value


#: What a name may hold (no spaces, control characters, brackets, '=' or ',').
NAME_PATTERN = r"^[^\s\x00-\x1f\x7f\[\]=,]+$"
NAME_MAX = 80
Name = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN),
    BeforeValidator(_no_control),
]
Arch = Literal["x86_64", "aarch64"]


def _local_path(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"a file path must not contain control characters, got {value!r}")
    if _SCHEME.search(value):
        raise ValueError(
            f"expected a local file path, not a URL, got {value!r} "
            "(data files are read from the local disk only)"
        )
    return value


#: The path of a data file on the local disk (no URL: readers never reach for the network).
LocalPath = Annotated[str, Field(min_length=1), AfterValidator(_local_path)]


def local_file(path: str | Path, what: str) -> Path:
    """``path`` if it names a regular file on the local disk; ValueError saying why not."""
    text = str(path)
    try:
        _local_path(text)
    except ValueError as exc:
        raise ValueError(f"the {what} path: {exc}") from None
    found = Path(text)
    try:
        mode = found.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"no {what} file at {text!r}") from None
    except OSError as exc:
        raise ValueError(f"cannot read the {what} {text!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{text!r} is a folder, not a {what} file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{text!r} is not a regular file (a {what} is read from a file)")
    return found


#: Resources tracked for every host and VM, in this order in every (R, H) array.
RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")
#: Integer unit of each resource: milli-vCPU, MiB, GB, Mbit/s.
RESOURCE_UNITS: tuple[str, ...] = ("millicores", "MiB", "GB", "Mbps")


class Model(BaseModel):
    """Frozen, unknown keys are errors, floats are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
