"""What one VM asks of the placer: its demand and where it may go."""

from __future__ import annotations

from dataclasses import dataclass

from cloudsim.state.hosts import PURPOSES, IntArray

ANTI_AFFINITY_LEVELS: tuple[str, ...] = ("none", "host", "rack")
#: The purposes of pools an ordinary cloud host may land on (dedicated: own department only).
VM_PURPOSES: tuple[int, ...] = (PURPOSES.index("general"), PURPOSES.index("dedicated"))


@dataclass(frozen=True, eq=False)
class Request:
    """What one VM needs and where it may go; indices refer to the host table's names."""

    demand: IntArray  # (R,) integer units
    zone: int
    datacenters: tuple[int, ...]
    arch: int = -1  # -1: any architecture
    department: int = -1
    system: int = -1  # -1: no anti-affinity group
    anti_affinity: int = 0  # index into ANTI_AFFINITY_LEVELS
    purposes: tuple[int, ...] = VM_PURPOSES

    @property
    def static_key(self) -> tuple[object, ...]:
        return (self.zone, self.datacenters, self.arch, self.department, self.purposes)
