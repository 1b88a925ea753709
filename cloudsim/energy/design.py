"""The energy module's design: its section compiled once against the world into arrays.

Host classes are not in the host table; they are recovered in the table's own order (pools
in order, their host groups in order), so every host knows its class, its power curve and
its capital cost per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cloudsim.energy.schema import Energy, Profile
from cloudsim.energy.trace import UtilisationTrace, read_trace
from cloudsim.units import DAY, HOUR, WEEK
from cloudsim.world import World

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Curve:
    """A piecewise-linear function on [0, 1] (power of a class, PUE of a centre)."""

    x: FloatArray
    y: FloatArray

    def __call__(self, value: FloatArray) -> FloatArray:
        return np.interp(value, self.x, self.y)


@dataclass(frozen=True)
class Campaigns:
    """Every profile's campaigns: ``profile`` index, start (s from ``meta.start``),
    duration, period (``inf``: once; a periodic campaign recurs before its start too, as
    a tax season does every year) and factor."""

    profile: IntArray
    start: FloatArray
    duration: FloatArray
    every: FloatArray
    factor: FloatArray

    def factors(self, t: float, profiles: int) -> FloatArray:
        """Each profile's product of the factors of the campaigns active at ``t``."""
        since = t - self.start
        periodic = np.isfinite(self.every)
        period = np.where(periodic, self.every, 1.0)
        active = np.where(
            periodic, np.mod(since, period) < self.duration, (since >= 0) & (since < self.duration)
        )
        out = np.ones(profiles)
        np.multiply.at(out, self.profile[active], self.factor[active])
        return out


@dataclass(frozen=True)
class EnergyDesign:
    """Everything a run of the energy module needs, as arrays."""

    section: Energy
    tick: float
    #: Per host: its class index, idle power (W, the curve at 0) and capital cost per second.
    host_class: IntArray
    class_names: tuple[str, ...]
    curves: tuple[Curve, ...]  # per class
    capital_per_s: FloatArray  # per host
    #: Per centre: PUE curve over IT load (constant for a centre without one), peak IT kW.
    pue: tuple[Curve, ...]
    peak_kw: FloatArray
    #: Per system: profile index or -1, trace index or -1.
    system_profile: IntArray
    system_trace: IntArray
    #: Per profile: CPU mean, memory mean, noise, noise timescale; diurnal (P, 24) and
    #: weekly (P, 7) factors normalised to mean 1.
    cpu_mean: FloatArray
    memory_mean: FloatArray
    noise: FloatArray
    timescale: FloatArray
    diurnal: FloatArray
    weekly: FloatArray
    campaigns: Campaigns
    traces: tuple[UtilisationTrace, ...]
    trace_memory: FloatArray
    #: Seconds from the Monday 00:00 before ``meta.start`` to ``meta.start``.
    week_offset: float
    #: Price per kWh at each hour boundary of a day: ``price_steps`` (x, price) where the
    #: price holds from x (hours) to the next x; ``day_cost`` is ∫ price over a day (h).
    price_x: FloatArray
    price: FloatArray
    price_cumulative: FloatArray  # ∫ price from 0 to each x (price × hours)

    def price_integral(self, t0: float, t1: float) -> float:
        """∫ price dt over [t0, t1] (price × hours), local time from ``meta.start``."""
        return self._price_to(t1) - self._price_to(t0)

    def _price_to(self, t: float) -> float:
        hours = (t + self.week_offset) / HOUR
        days = np.floor(hours / 24.0)
        h = hours - days * 24.0
        k = int(np.searchsorted(self.price_x, h, side="right")) - 1
        partial = self.price_cumulative[k] + self.price[k] * (h - self.price_x[k])
        return float(days * self.price_cumulative[-1] + partial)


def _profile_of(section: Energy, system: str) -> str | None:
    for profile in section.profiles:
        if system in profile.systems:
            return profile.name
    return None


def _price_steps(section: Energy) -> tuple[FloatArray, FloatArray, FloatArray]:
    edges = sorted(
        {
            0.0,
            24.0,
            *(p.start_hour for p in section.price.time_of_use),
            *(p.end_hour for p in section.price.time_of_use),
        }
    )
    x = np.array(edges[:-1])
    price = np.full(len(x), section.price.per_kwh)
    for period in section.price.time_of_use:  # later periods override earlier ones
        price[(x >= period.start_hour) & (x < period.end_hour)] = period.price
    widths = np.diff(np.array(edges))
    cumulative = np.concatenate([[0.0], np.cumsum(price * widths)])
    return np.append(x, 24.0), np.append(price, price[-1]), cumulative


def _normalised(rows: list[list[float]]) -> FloatArray:
    values = np.array(rows, dtype=np.float64)
    out: FloatArray = values / values.mean(axis=1, keepdims=True)
    return out


def compile_design(world: World, section: Energy) -> EnergyDesign:
    """The section as arrays against ``world`` (names already checked)."""
    scenario = world.scenario
    hosts = world.hosts
    class_names = tuple(hc.name for hc in scenario.host_classes)
    class_index = {name: i for i, name in enumerate(class_names)}
    host_class = np.concatenate(
        [
            np.full(group.count, class_index[group.host_class], dtype=np.int64)
            for pool in scenario.pools
            for group in pool.hosts
            if group.count
        ]
        or [np.zeros(0, dtype=np.int64)]
    )
    given = {c.host_class: c for c in section.power_curves}
    curves = []
    for hc in scenario.host_classes:
        c = given.get(hc.name)
        if c is not None and c.points is not None:
            curves.append(
                Curve(np.array([p[0] for p in c.points]), np.array([p[1] for p in c.points]))
            )
            continue
        idle = hc.power_idle_w if c is None or c.idle_w is None else c.idle_w
        peak = hc.power_peak_w if c is None or c.peak_w is None else c.peak_w
        curves.append(Curve(np.array([0.0, 1.0]), np.array([idle, max(peak, idle)])))
    capital = np.zeros(len(class_names))
    for cap in section.capital:
        capital[class_index[cap.host_class]] = cap.price / cap.life
    peak_w = np.array([curves[c].y.max() for c in range(len(curves))]) if curves else np.zeros(0)
    peak_kw = (
        np.bincount(hosts.datacenter, weights=peak_w[host_class], minlength=len(world.datacenters))
        / 1000.0
    )
    pue_given = {p.datacenter: p for p in section.pue}
    pue = tuple(
        Curve(
            np.array([p[0] for p in pue_given[dc.name].points]),
            np.array([p[1] for p in pue_given[dc.name].points]),
        )
        if dc.name in pue_given
        else Curve(np.array([0.0, 1.0]), np.array([dc.pue, dc.pue]))
        for dc in scenario.datacenters
    )
    profiles: list[Profile] = list(section.profiles)
    profile_index = {p.name: i for i, p in enumerate(profiles)}
    trace_of = {s: i for i, tr in enumerate(section.traces) for s in tr.systems}
    system_profile = np.full(len(world.systems), -1, dtype=np.int64)
    system_trace = np.full(len(world.systems), -1, dtype=np.int64)
    for i, system in enumerate(scenario.systems):
        if system.name in trace_of:
            system_trace[i] = trace_of[system.name]
            continue
        name = _profile_of(section, system.name) or section.default_profile
        if name is None:
            raise ValueError(f"system {system.name!r} has no utilisation profile or trace")
        system_profile[i] = profile_index[name]
    start = scenario.meta.start
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    week_offset = start.weekday() * DAY + (start - midnight).total_seconds()
    camp = [(i, c) for i, p in enumerate(profiles) for c in p.campaigns]
    x, price, cumulative = _price_steps(section)
    return EnergyDesign(
        section=section,
        tick=section.tick,
        host_class=host_class,
        class_names=class_names,
        curves=tuple(curves),
        capital_per_s=capital[host_class],
        pue=pue,
        peak_kw=peak_kw,
        system_profile=system_profile,
        system_trace=system_trace,
        cpu_mean=np.array([p.cpu_mean for p in profiles]),
        memory_mean=np.array([p.memory_mean for p in profiles]),
        noise=np.array([p.noise for p in profiles]),
        timescale=np.array([p.noise_timescale for p in profiles]),
        diurnal=_normalised([p.diurnal for p in profiles]) if profiles else np.ones((0, 24)),
        weekly=_normalised([p.weekly for p in profiles]) if profiles else np.ones((0, 7)),
        campaigns=Campaigns(
            profile=np.array([i for i, _ in camp], dtype=np.int64),
            start=np.array([(c.start - start).total_seconds() for _, c in camp]),
            duration=np.array([c.duration for _, c in camp]),
            every=np.array([np.inf if c.every is None else c.every for _, c in camp]),
            factor=np.array([c.factor for _, c in camp]),
        ),
        traces=tuple(read_trace(tr.path) for tr in section.traces),
        trace_memory=np.array([tr.memory_mean for tr in section.traces]),
        week_offset=week_offset % WEEK,
        price_x=x,
        price=price,
        price_cumulative=cumulative,
    )
