"""The HPAs' behaviour as arrays, the scale events the policies count, and what the arrays
imply (derived once: the arrays are read-only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.containers import ScalingRules

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SELECT = {"Max": 0, "Min": 1, "Disabled": 2}
PODS, PERCENT = 0, 1
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


@dataclass
class Rules:
    """One direction's behaviour for every HPA: padded policy arrays (H, P)."""

    window: FloatArray  # (H,)
    select: IntArray  # (H,)
    kind: IntArray  # (H, P) PODS / PERCENT, -1 padding
    value: IntArray  # (H, P)
    period: FloatArray  # (H, P)

    @classmethod
    def of(cls, rules: Sequence[ScalingRules]) -> Rules:
        width = max((len(r.policies) for r in rules), default=1)
        h = len(rules)
        kind = np.full((h, width), -1, dtype=np.int64)
        value = np.zeros((h, width), dtype=np.int64)
        period = np.zeros((h, width))
        for i, r in enumerate(rules):
            for j, p in enumerate(r.policies):
                kind[i, j] = PODS if p.type == "Pods" else PERCENT
                value[i, j] = p.value
                period[i, j] = p.period
        return cls(
            window=np.array([r.stabilization_window for r in rules], dtype=np.float64),
            select=np.array([SELECT[r.select_policy] for r in rules], dtype=np.int64),
            kind=kind,
            value=value,
            period=period,
        )


class ScaleEvents:
    """Scale events of one direction: (H, E) times and replica changes, oldest replaced."""

    def __init__(self, hpas: int, slots: int) -> None:
        self.time = np.full((hpas, slots), -np.inf)
        self.change = np.zeros((hpas, slots), dtype=np.int64)
        self.newest = -math.inf  # the latest time stored

    def within(self, times: FloatArray, period: FloatArray) -> IntArray:
        """(J, H, P) replicas changed in the ``period`` seconds of each policy before each of
        ``times`` (strictly after the cutoff, as ``getReplicasChangePerPeriod``)."""
        if self.time.max(initial=-np.inf) <= times.min() - period.max(initial=0.0):
            return np.zeros((len(times), *period.shape), dtype=np.int64)
        cutoff = times[:, None, None, None] - period[None, :, :, None]
        after = self.time[None, :, None, :] > cutoff
        result: IntArray = (after * self.change[None, :, None, :]).sum(axis=3)
        return result

    def store(self, rows: IntArray, now: float, change: IntArray) -> None:
        slot = np.argmin(self.time[rows], axis=1)
        self.time[rows, slot] = now
        self.change[rows, slot] = change
        self.newest = max(self.newest, now)


@dataclass
class Derived:
    """What the (read-only) spec and rule arrays imply, derived once."""

    sync: float  # the sync period they were derived for
    all_utilization: bool
    no_utilization: bool
    up_ticks: IntArray  # (H,) syncs inside each scale-up window (``stabilisation.sliding``)
    down_ticks: IntArray
    up_back: IntArray  # (H,) syncs before each inside its scale-up window (at least 0)
    down_back: IntArray
    back: IntArray  # (2, H) up_back and down_back, for the compiled forecast
    windows: FloatArray  # (2, H) the scale-up and scale-down windows, in seconds
    up_window: float  # the longest scale-up window
    down_window: float
    period_max: float  # the longest policy period (0 included)
    whole: bool  # sync period and windows in whole seconds (exact sums of times)
    bounded: bool  # min and max replicas inside int32 (the windows' fills)
    #: Scale limits per replica vector when no scale event counts (``RateLimits.allowed``).
    limits: dict[bytes, tuple[IntArray, IntArray]] = field(default_factory=dict)
