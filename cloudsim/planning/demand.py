"""The demand a plan must carry: the tenants' cloud hosts alive at each month's peak.

The request stream is the run's own (the ``workload`` stream of the same seed, drawn over the
plan's horizon), so the plan and its verification run see the same orders. Orders are
replayed in time order against the departments' quotas exactly as the platform checks them
(an order refused for quota never needs capacity, and is reported apart); every other order
is assumed placed. A month's demand is each (system, flavor) at the most cloud hosts it has
alive at once during the month, exactly (a system's anti-affinity binds on its own peak, not
on the platform's); the month's peak day, where a verification failure is placed, is the day
with the most vCPUs alive.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cloudsim.iaas.requests import request_stream
from cloudsim.kernel.streams import random_stream
from cloudsim.platform.platform import quota_limits, quota_need
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY, YEAR
from cloudsim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: A month in seconds (a twelfth of the simulator's year).
MONTH = YEAR / 12


@dataclass(frozen=True)
class MonthDemand:
    """The tenants' cloud hosts of one month, by (system, flavor), each at its own busiest
    day of the month; ``day`` is the month's busiest day for the platform as a whole."""

    month: int
    day: int
    system: IntArray
    flavor: IntArray
    count: IntArray
    #: Cloud hosts requested during the month (orders that passed the quota) and refused
    #: for quota.
    requested: int
    quota_refused: int

    @property
    def vms(self) -> int:
        return int(self.count.sum())


@dataclass(frozen=True)
class Demand:
    """Every month's peak over the plan's horizon."""

    months: list[MonthDemand]

    @property
    def peak(self) -> MonthDemand:
        """The month whose peak holds the most tenant cloud hosts (the latest on ties)."""
        best = max(range(len(self.months)), key=lambda m: (self.months[m].vms, m))
        return self.months[best]


def tenant_demand(world: World, years: float, seed: int, initial_usage: IntArray) -> Demand:
    """The peak of each month over ``years`` (see the module docstring). ``initial_usage``:
    the departments' quota usage at time 0 (declared cloud hosts, node VMs, warm standbys),
    ``(4, D)`` as the platform counts it."""
    scenario: Scenario = world.scenario.model_copy(
        update={"meta": world.scenario.meta.model_copy(update={"horizon": years * YEAR})}
    )
    stream = request_stream(scenario, random_stream(seed, "workload"))
    n = len(stream)
    demand = world.flavor_demand
    quota = quota_limits(world)
    usage = initial_usage.copy()
    accepted = np.zeros(n, dtype=np.bool_)
    departments = np.array([p.department for p in world.profiles], dtype=np.int64)
    ends = stream.time + stream.lifetime
    heap: list[tuple[float, int]] = []
    for i in range(n):
        t = float(stream.time[i])
        while heap and heap[0][0] <= t:
            _, j = heapq.heappop(heap)
            usage[:, departments[stream.system[j]]] -= quota_need(
                demand, int(stream.flavor[j]), int(stream.count[j])
            )
        d = int(departments[stream.system[i]])
        need = quota_need(demand, int(stream.flavor[i]), int(stream.count[i]))
        limits = quota[:, d]
        if ((limits >= 0) & (usage[:, d] + need > limits)).any():
            continue
        usage[:, d] += need
        accepted[i] = True
        heapq.heappush(heap, (float(ends[i]), i))

    months = max(1, math.ceil(years * 12 - 1e-9))
    days = math.ceil(months * MONTH / DAY)
    n_flavors = demand.shape[1]
    key = stream.system * n_flavors + stream.flavor
    keys, inverse = np.unique(key[accepted], return_inverse=True)
    counts = stream.count[accepted]
    peaks = _monthly_peaks(
        stream.time[accepted], ends[accepted], counts, inverse, len(keys), months
    )
    # the platform's busiest day of each month (vCPUs alive at the start of the day): where a
    # verification failure is placed
    first = np.ceil(stream.time[accepted] / DAY).astype(np.int64)
    last = np.ceil(ends[accepted] / DAY).astype(np.int64)
    delta = np.zeros((days + 1, len(keys)), dtype=np.int64)
    np.add.at(delta, (np.minimum(first, days), inverse), counts)
    np.add.at(delta, (np.minimum(last, days), inverse), -counts)
    alive = np.cumsum(delta, axis=0)[:days]
    vcpus = demand[0, keys % n_flavors] if len(keys) else np.zeros(0, dtype=np.int64)
    load = alive @ vcpus if len(keys) else np.zeros(days, dtype=np.int64)
    month_of_request = np.minimum((stream.time / MONTH).astype(np.int64), months - 1)
    out: list[MonthDemand] = []
    # day d belongs to the month it starts in; every day up to the horizon belongs to one
    month_of_day = np.minimum(np.arange(days) * DAY // MONTH, months - 1).astype(np.int64)
    bounds = np.searchsorted(month_of_day, np.arange(months + 1))
    for m in range(months):
        lo, hi = int(bounds[m]), int(bounds[m + 1])
        day = lo + int(np.argmax(load[lo:hi])) if len(keys) else lo
        row = peaks[:, m]
        live = np.flatnonzero(row > 0)
        in_month = month_of_request == m
        out.append(
            MonthDemand(
                month=m,
                day=day,
                system=(keys[live] // n_flavors).astype(np.int64),
                flavor=(keys[live] % n_flavors).astype(np.int64),
                count=row[live].astype(np.int64),
                requested=int(stream.count[in_month & accepted].sum()),
                quota_refused=int(stream.count[in_month & ~accepted].sum()),
            )
        )
    return Demand(out)


def _monthly_peaks(
    start: FloatArray, end: FloatArray, count: IntArray, key: IntArray, keys: int, months: int
) -> IntArray:
    """``(keys, months)``: the most cloud hosts of each key alive at once in each month,
    exactly (every arrival and departure; departures first at equal times, as the run
    replays them; the count carried into a month is probed at its start)."""
    peaks = np.zeros((keys, months), dtype=np.int64)
    if keys == 0:
        return peaks
    probe_t = np.tile(np.arange(months) * MONTH, keys)
    probe_k = np.repeat(np.arange(keys), months)
    t = np.concatenate([end, probe_t, start])
    k = np.concatenate([key, probe_k, key])
    d = np.concatenate([-count, np.zeros(len(probe_t), dtype=np.int64), count])
    kind = np.concatenate(
        [np.zeros(len(end)), np.ones(len(probe_t)), np.full(len(start), 2.0)]
    )  # departures, probes, arrivals at the same instant
    order = np.lexsort((kind, t, k))
    running = np.cumsum(d[order])  # each key's events sum to 0: runs restart at 0 per key
    month = (t[order] // MONTH).astype(np.int64)
    inside = month < months
    np.maximum.at(peaks, (k[order][inside], month[inside]), running[inside])
    return peaks
