"""Building blocks of every scenario section: the frozen base model and parsed quantities.

Section schemas (this package's ``schema.py`` and the ones for containers and faults)
import from here, so none of them imports another.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cloudsim.units import (
    parse_bandwidth_gbps,
    parse_disk_gb,
    parse_duration,
    parse_memory_mib,
)

Duration = Annotated[float, BeforeValidator(parse_duration)]
MemoryMiB = Annotated[int, BeforeValidator(parse_memory_mib)]
DiskGB = Annotated[int, BeforeValidator(parse_disk_gb)]
Gbps = Annotated[float, BeforeValidator(parse_bandwidth_gbps)]
Name = Annotated[
    str,
    Field(min_length=1, max_length=80, pattern=r"^[^\s\[\]=,]+$"),
]
Arch = Literal["x86_64", "aarch64"]

#: Resources tracked for every host and VM, in this order in every (R, H) array.
RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")
#: Integer unit of each resource: milli-vCPU, MiB, GB, Mbit/s.
RESOURCE_UNITS: tuple[str, ...] = ("millicores", "MiB", "GB", "Mbps")


class Model(BaseModel):
    """Frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
