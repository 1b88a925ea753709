"""Requests for new cloud hosts: a non-homogeneous Poisson stream with yearly growth.

The rate is ``λ(t) = λ0 (1+g)^(t/Y)``; arrival times are drawn exactly by inverting the
integrated rate on sorted uniforms, all at once, so the simulation only replays them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.schema import (
    ExponentialLifetime,
    FixedLifetime,
    LognormalLifetime,
    Scenario,
)
from cloudsim.units import DAY, YEAR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def integrated_rate(rate_per_s: float, growth_per_year: float, t: FloatArray) -> FloatArray:
    """Λ(t) = ∫0^t λ(s) ds for λ(s) = rate (1+g)^(s/Y)."""
    if growth_per_year == 0:
        return rate_per_s * t
    k = math.log1p(growth_per_year) / YEAR
    result: FloatArray = rate_per_s * np.expm1(k * t) / k
    return result


def inverse_integrated_rate(rate_per_s: float, growth_per_year: float, m: FloatArray) -> FloatArray:
    if growth_per_year == 0:
        return m / rate_per_s
    k = math.log1p(growth_per_year) / YEAR
    result: FloatArray = np.log1p(m * k / rate_per_s) / k
    return result


def arrival_times(
    per_day: float, growth_per_year: float, horizon: float, rng: np.random.Generator
) -> FloatArray:
    """Sorted arrival times in [0, horizon) of the growing Poisson process."""
    if per_day <= 0:
        return np.zeros(0)
    rate = per_day / DAY
    total = float(integrated_rate(rate, growth_per_year, np.array([horizon]))[0])
    n = int(rng.poisson(total))
    marks = np.sort(rng.uniform(0.0, total, size=n))
    return inverse_integrated_rate(rate, growth_per_year, marks)


def lifetimes(
    spec: ExponentialLifetime | LognormalLifetime | FixedLifetime,
    n: int,
    rng: np.random.Generator,
) -> FloatArray:
    if isinstance(spec, ExponentialLifetime):
        return rng.exponential(spec.mean, size=n)
    if isinstance(spec, LognormalLifetime):
        return rng.lognormal(math.log(spec.median), spec.sigma, size=n)
    return np.full(n, spec.value)


@dataclass(frozen=True)
class RequestStream:
    """Column arrays, one row per request (a request may be for several identical VMs)."""

    time: FloatArray
    system: IntArray
    flavor: IntArray
    count: IntArray
    lifetime: FloatArray  # the same lifetime for every VM of one request

    def __len__(self) -> int:
        return len(self.time)


def request_stream(scenario: Scenario, rng: np.random.Generator) -> RequestStream:
    """Draw the whole request stream of a scenario from the workload stream ``rng``."""
    w = scenario.workload
    times = arrival_times(w.arrivals_per_day, w.growth_per_year, scenario.meta.horizon, rng)
    n = len(times)
    names = [s.name for s in scenario.systems]
    chosen = list(range(len(names))) if w.systems is None else [names.index(x) for x in w.systems]
    if n == 0 or not chosen:
        empty_i = np.zeros(0, dtype=np.int64)
        return RequestStream(np.zeros(0), empty_i, empty_i, empty_i, np.zeros(0))
    sizes = np.array([scenario.systems[i].vm_count for i in chosen], dtype=np.float64)
    weights = sizes if w.weight_by == "size" and sizes.sum() > 0 else np.ones(len(chosen))
    systems = np.asarray(chosen, dtype=np.int64)[
        rng.choice(len(chosen), size=n, p=weights / weights.sum())
    ]
    flavor_index = {f.name: i for i, f in enumerate(scenario.flavors)}
    flavors = np.empty(n, dtype=np.int64)
    uniforms = rng.random(n)
    for s in np.unique(systems):
        groups = scenario.systems[int(s)].vms
        sizes_of = [g.count for g in groups]
        if sum(sizes_of) == 0:
            sizes_of = [1] * len(groups)
        cumulative = np.cumsum(sizes_of, dtype=np.float64)
        ids = np.array([flavor_index[g.flavor] for g in groups], dtype=np.int64)
        where = systems == s
        pick = np.searchsorted(cumulative / cumulative[-1], uniforms[where], side="right")
        flavors[where] = ids[np.minimum(pick, len(ids) - 1)]
    counts = rng.integers(w.batch.min, w.batch.max + 1, size=n, dtype=np.int64)
    return RequestStream(times, systems, flavors, counts, lifetimes(w.lifetime, n, rng))
