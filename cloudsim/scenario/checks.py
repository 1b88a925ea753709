"""Checks that span sections: names that refer to each other, and memory.

The layers above add their own (each module checks its section, against the compiled world,
and whether what it asks for can fit at all) through :class:`ScenarioChecks`; this module
knows none of them. Every check returns :class:`Finding` (a location and a message) or
problems naming the file that set the value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from cloudsim.errors import Problem
from cloudsim.registry import did_you_mean
from cloudsim.scenario.base import Model
from cloudsim.scenario.paths import format_path
from cloudsim.scenario.plan import PLANNABLE_PURPOSES
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY, HOUR, YEAR

Source = Callable[[tuple[str | int, ...]], str]
#: Bytes of memory one host row costs in the tables (measured order of magnitude, with names).
BYTES_PER_HOST = 260
#: Bytes of memory one VM row costs in the tables and the archive (order of magnitude).
BYTES_PER_VM = 200
#: Bytes of memory one business system costs beyond its VMs (placement profile, ledger, DR
#: plan and state): measured 6.6-7.3 KB (tracemalloc peak, 1,000 vs 5,000 one-VM systems,
#: 1 and 30 days, DR and host failures on); up to ~21 KB reported with more modules, so 20 KB.
BYTES_PER_SYSTEM = 20_000
#: A scenario location (``("faults", "scripted", 0, "at")``).
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """One problem found in a scenario; ``path`` overrides how ``loc`` is shown."""

    loc: Loc
    message: str
    path: str | None = None


class ScenarioChecks(Protocol):
    """Checks the layers above the scenario add (the composition root's modules)."""

    def sections(self) -> Mapping[str, type[Model]]:
        """Top-level sections of modules outside the scenario package, with their schema."""
        ...

    def references(self, scenario: Scenario) -> list[Finding]:
        """Names a section uses that the scenario does not define."""
        ...

    def world(self, scenario: Scenario) -> list[Finding]:
        """Problems only the compiled world shows (run once names and memory are fine)."""
        ...

    def feasibility(self, scenario: Scenario) -> list[Finding]:
        """What cannot fit even on an empty platform (run once everything else is fine)."""
        ...


class _Collector:
    def __init__(self, raw: Any, source: Source) -> None:
        self.raw = raw
        self.source = source
        self.problems: list[Problem] = []

    def add(self, loc: tuple[str | int, ...], message: str, path: str | None = None) -> None:
        shown = path if path is not None else str(format_path(loc, self.raw))
        self.problems.append(Problem(self.source(loc), shown, message))

    def unique(self, section: str, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.add((section, i, "name"), f"duplicate name {name!r} in {section}")
            seen.add(name)
        return seen

    def unique_in(self, loc: tuple[str | int, ...], names: Iterable[str], what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.add((*loc, i, "name"), f"duplicate {what} name {name!r}")
            seen.add(name)

    def known(self, loc: tuple[str | int, ...], value: str, names: set[str], what: str) -> None:
        if value not in names:
            self.add(loc, did_you_mean(value, tuple(names), what))

    def findings(self, found: Iterable[Finding]) -> None:
        for finding in found:
            self.add(finding.loc, finding.message, finding.path)


def check_references(
    scenario: Scenario, raw: Any, source: Source, checks: ScenarioChecks | None = None
) -> list[Problem]:
    """Every name used is defined once; preset and scorers exist."""
    c = _Collector(raw, source)
    s = scenario
    sites = c.unique("sites", (x.name for x in s.sites))
    dcs = c.unique("datacenters", (x.name for x in s.datacenters))
    zones = c.unique("zones", (x.name for x in s.zones))
    classes = c.unique("host_classes", (x.name for x in s.host_classes))
    c.unique("pools", (x.name for x in s.pools))
    flavors = c.unique("flavors", (x.name for x in s.flavors))
    depts = c.unique("departments", (x.name for x in s.departments))
    c.unique("systems", (x.name for x in s.systems))

    for i, dc in enumerate(s.datacenters):
        c.known(("datacenters", i, "site"), dc.site, sites, "site")
        if dc.name in sites:
            c.add(("datacenters", i, "name"), f"{dc.name!r} is already the name of a site")
    pairs: set[frozenset[str]] = set()
    for i, link in enumerate(s.links):
        for j, end in enumerate(link.between):
            c.known(("links", i, "between", j), end, dcs, "data centre")
        pair = frozenset(link.between)
        if pair in pairs:
            c.add(("links", i, "between"), f"duplicate link {' — '.join(sorted(pair))}")
        pairs.add(pair)
    for i, pool in enumerate(s.pools):
        c.known(("pools", i, "datacenter"), pool.datacenter, dcs, "data centre")
        c.known(("pools", i, "zone"), pool.zone, zones, "zone")
        for j, host_group in enumerate(pool.hosts):
            c.known(
                ("pools", i, "hosts", j, "host_class"), host_group.host_class, classes, "host class"
            )
        if pool.dedicated_to is not None:
            c.known(("pools", i, "dedicated_to"), pool.dedicated_to, depts, "department")
    for i, system in enumerate(s.systems):
        c.known(("systems", i, "department"), system.department, depts, "department")
        c.known(("systems", i, "zone"), system.zone, zones, "zone")
        for j, dc_name in enumerate(system.datacenters):
            c.known(("systems", i, "datacenters", j), dc_name, dcs, "data centre")
        for j, group in enumerate(system.vms):
            c.known(("systems", i, "vms", j, "flavor"), group.flavor, flavors, "flavor")
    if s.population is not None:
        for name in s.population.flavors:
            c.known(("population", "flavors", name), name, flavors, "flavor")
        for name in s.population.zones:
            c.known(("population", "zones", name), name, zones, "zone")
        for i, option in enumerate(s.population.datacenters):
            for j, dc_name in enumerate(option.datacenters):
                c.known(
                    ("population", "datacenters", i, "datacenters", j), dc_name, dcs, "data centre"
                )
            if len(set(option.datacenters)) != len(option.datacenters):
                c.add(
                    ("population", "datacenters", i, "datacenters"),
                    "lists a data centre twice",
                )
        _check_population(c, s)
    if s.plan is not None:
        _check_plan(c, s, dcs, classes)
    if s.meta.sample_interval > s.meta.horizon:
        c.add(("meta", "sample_interval"), "must not be longer than meta.horizon")

    if not any(w > 0 for w in s.placement.resource_weights.values()):
        c.add(("placement", "resource_weights"), "give at least one resource a positive weight")
    if checks is not None:
        c.findings(checks.references(s))
    return c.problems


def _check_population(c: _Collector, s: Scenario) -> None:
    """What expand_population would refuse, as one problem per offending field."""
    population = s.population
    assert population is not None
    weights: dict[str, Mapping[Any, float]] = {
        "flavors": population.flavors,
        "zones": population.zones,
        "arch": population.arch,
        "mlps_levels": population.mlps_levels,
        "priorities": population.priorities,
    }
    for field, mapping in weights.items():
        bad = False
        for key, weight in mapping.items():
            if not math.isfinite(weight) or weight < 0:
                c.add(
                    ("population", field, key),
                    f"a weight must be a finite number >= 0, got {weight!r}",
                )
                bad = True
        if not bad and not any(weight > 0 for weight in mapping.values()):
            c.add(("population", field), "at least one weight must be positive")
    for level in population.mlps_levels:
        if not 1 <= level <= 5:
            c.add(("population", "mlps_levels", level), f"an MLPS level is 1..5, got {level}")
    counts = population.vms_per_system
    if counts.min > counts.max:
        c.add(
            ("population", "vms_per_system"),
            f"min ({counts.min}) must not exceed max ({counts.max})",
        )


def _check_plan(c: _Collector, s: Scenario, dcs: set[str], classes: set[str]) -> None:
    plan = s.plan
    assert plan is not None
    if isinstance(plan.survive, list):
        c.unique_in(("plan", "survive"), (f.name for f in plan.survive), "failure set")
        for i, failure in enumerate(plan.survive):
            for j, name in enumerate(failure.datacenters):
                c.known(("plan", "survive", i, "datacenters", j), name, dcs, "data centre")
    pools = [p.name for p in s.pools]
    plannable = [p.name for p in s.pools if p.purpose in PLANNABLE_PURPOSES]
    for i, rule in enumerate(plan.pools):
        if not any(fnmatchcase(name, rule.match) for name in pools):
            c.add(("plan", "pools", i, "match"), f"{rule.match!r} matches no pool")
        elif not any(fnmatchcase(name, rule.match) for name in plannable):
            c.add(
                ("plan", "pools", i, "match"),
                f"{rule.match!r} matches only container or storage pools, which a plan does "
                "not change (their platforms size them)",
            )
        if rule.host_class is not None:
            c.known(("plan", "pools", i, "host_class"), rule.host_class, classes, "host class")
            _check_plan_arch(c, s, i)
    for name in plan.costs.host_classes:
        c.known(("plan", "costs", "host_classes", name), name, classes, "host class")


def _check_plan_arch(c: _Collector, s: Scenario, i: int) -> None:
    """A rule's host class must have the architecture of the pools it grows (the systems
    placed there could not use the new hosts)."""
    assert s.plan is not None
    rule = s.plan.pools[i]
    arch = {hc.name: hc.arch for hc in s.host_classes}
    wanted = arch.get(str(rule.host_class))
    if wanted is None:
        return
    for pool in s.pools:
        first = next((r for r in s.plan.pools if fnmatchcase(pool.name, r.match)), None)
        if first is not rule:
            continue
        have = {arch[g.host_class] for g in pool.hosts if g.host_class in arch}
        if have and wanted not in have:
            c.add(
                ("plan", "pools", i, "host_class"),
                f"host class {rule.host_class!r} is {wanted}; pool {pool.name!r} holds "
                f"{', '.join(sorted(have))} hosts, which its systems need",
            )
            return


def _growth_years(scenario: Scenario) -> float:
    """The horizon in years, growth integrated (infinite rather than an OverflowError)."""
    g = scenario.workload.growth_per_year
    years = scenario.meta.horizon / YEAR
    if g == 0:
        return years
    try:
        return float(((1 + g) ** years - 1) / math.log1p(g))
    except OverflowError:
        return math.inf


def expected_arrivals(scenario: Scenario) -> float:
    """Expected number of requests (batches) over the horizon (growth integrated)."""
    return scenario.workload.arrivals_per_day * (YEAR / DAY) * _growth_years(scenario)


def expected_requests(scenario: Scenario) -> float:
    """Expected number of VMs requested over the horizon (growth integrated)."""
    w = scenario.workload
    return expected_arrivals(scenario) * (w.batch.min + w.batch.max) / 2


def memory_budget_mib(scenario: Scenario) -> int:
    if scenario.meta.memory_limit is not None:
        return scenario.meta.memory_limit
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(total * 0.75 / 2**20)


def _float(count: int) -> float:
    """``float(count)``, infinite for integers beyond the float range (no OverflowError)."""
    try:
        return float(count)
    except OverflowError:
        return math.inf


def expected_population_vms(scenario: Scenario) -> float:
    """Expected VMs of the systems ``population`` would generate (0 without one)."""
    population = scenario.population
    if population is None:
        return 0.0
    dist = population.vms_per_system
    try:
        mean = dist.median * math.exp(dist.sigma**2 / 2)
    except OverflowError:
        mean = math.inf
    return population.systems * min(max(mean, dist.min), dist.max)


def _system_count(scenario: Scenario) -> float:
    population = scenario.population
    return len(scenario.systems) + (population.systems if population is not None else 0)


def estimate_memory_mib(scenario: Scenario) -> tuple[float, dict[str, float]]:
    """A conservative estimate of the run's table memory, by part.

    Cheap and exact-input only: it runs before anything is built, and before a population is
    drawn (using the population's expected size), so an absurd scenario is refused at once.
    """
    samples = scenario.meta.horizon / scenario.meta.sample_interval + 1
    vms = (
        _float(sum(x.vm_count for x in scenario.systems))
        + expected_population_vms(scenario)
        + expected_requests(scenario)
    )
    parts = {
        "hosts": _float(scenario.host_count) * BYTES_PER_HOST * 2.5,  # table + placement masks
        "vms": vms * BYTES_PER_VM * 3,  # table, archive, event log
        "timeseries": samples * (len(scenario.datacenters) + len(scenario.pools)) * 120,
        "systems": _system_count(scenario) * BYTES_PER_SYSTEM,
    }
    return sum(parts.values()) / 2**20, parts


def _largest(counts: Iterable[tuple[tuple[str | int, ...], int]]) -> tuple[str | int, ...] | None:
    best: tuple[tuple[str | int, ...], int] | None = None
    for loc, count in counts:
        if best is None or count > best[1]:
            best = (loc, count)
    return best[0] if best is not None else None


#: What counts as usual for the fields that drive the estimates: a field beyond its usual
#: value is blamed before a lower ``meta.memory_limit`` is.
_USUAL_YEARS = 10.0
_USUAL_ARRIVALS_PER_DAY = 100.0
_USUAL_BATCH = 10.0


def _request_culprit(scenario: Scenario) -> tuple[tuple[str | int, ...], float]:
    """The field driving the expected requests, and how far beyond its usual value it is."""
    w = scenario.workload
    years = scenario.meta.horizon / YEAR
    growth = _growth_years(scenario) / years if years > 0 else 1.0
    ratios: dict[tuple[str | int, ...], float] = {
        ("workload", "arrivals_per_day"): w.arrivals_per_day / _USUAL_ARRIVALS_PER_DAY,
        ("meta", "horizon"): years / _USUAL_YEARS,
        ("workload", "growth_per_year"): growth / _USUAL_YEARS,
        ("workload", "batch", "max"): (w.batch.min + w.batch.max) / 2 / _USUAL_BATCH,
    }
    loc = max(ratios, key=lambda k: ratios[k])
    return loc, ratios[loc]


def _memory_culprit(scenario: Scenario, part: str) -> tuple[str | int, ...]:
    """The field that makes ``part`` of the estimate big (the file that set it gets named):
    the one beyond its usual value, else a lower ``meta.memory_limit`` if one is set."""
    limit: tuple[str | int, ...] | None = (
        ("meta", "memory_limit") if scenario.meta.memory_limit is not None else None
    )
    if part == "hosts":
        group = _largest(
            (("pools", i, "hosts", j, "count"), g.count)
            for i, pool in enumerate(scenario.pools)
            for j, g in enumerate(pool.hosts)
        )
        return group or ("pools",)
    if part == "systems":
        if scenario.population is not None:
            return ("population", "systems")
        return ("systems",)
    if part == "vms":
        declared = _float(sum(x.vm_count for x in scenario.systems))
        generated = expected_population_vms(scenario)
        requested = expected_requests(scenario)
        if generated >= max(declared, requested):
            return ("population", "systems")
        if requested >= declared:
            loc, ratio = _request_culprit(scenario)
            return limit if limit is not None and ratio <= 1 else loc
        group = _largest(
            (("systems", i, "vms", j, "count"), g.count)
            for i, system in enumerate(scenario.systems)
            for j, g in enumerate(system.vms)
        )
        return group or ("systems",)
    # the time series: samples = horizon / sample_interval
    if scenario.meta.sample_interval < HOUR:
        return ("meta", "sample_interval")
    if limit is not None and scenario.meta.horizon <= _USUAL_YEARS * YEAR:
        return limit
    return ("meta", "horizon")


def _size(mib: float) -> str:
    """A memory size for a message: MiB below 1 GiB (so a small limit is not "0.0 GiB")."""
    if mib < 1024:
        return f"{mib:,.1f} MiB"
    return f"{mib / 1024:,.1f} GiB"


# -- the number of events ---------------------------------------------------------------
#: The work of one business system (placement profile, initial placement, ledger, DR plan)
#: counted as events: ~1-2 ms per system measured (20,000 one-VM systems over 30 days with
#: host failures: 46 s), about a hundred events' worth.
EVENTS_PER_SYSTEM = 100


def component_counts(scenario: Scenario) -> dict[str, float]:
    """How many components of each class can fail (the ``faults`` section's classes)."""
    return {
        "host": _float(scenario.host_count),
        "rack": float(sum(dc.racks for dc in scenario.datacenters)),
        "power_domain": float(sum(dc.power_domains for dc in scenario.datacenters)),
        "datacenter": float(len(scenario.datacenters)),
        "site": float(len(scenario.sites)),
        "link": float(len(scenario.links)),
        "witness": 1.0,
    }


def estimate_events(scenario: Scenario) -> dict[tuple[str | int, ...], float]:
    """Expected number of events of a run, by the field that drives each part.

    Failures and repairs of every component class (its count over the horizon, divided by a
    failure-and-repair cycle), scripted faults, requests and the VMs' departures, the
    initial placements, and the periodic loops (samples, the DR tick, HPA syncs, cluster
    autoscaler scans). Data files (traces, pod lists) are counted by their modules' checks.
    """
    meta = scenario.meta
    horizon = meta.horizon
    parts: dict[tuple[str | int, ...], float] = {}

    def add(loc: tuple[str | int, ...], count: float) -> None:
        parts[loc] = parts.get(loc, 0.0) + count

    faults = scenario.faults
    if faults is not None:
        counts = component_counts(scenario)
        for kind, spec in faults.rates().items():
            cycle = spec.time_to_failure.mean_s + spec.repair.mean_s
            add(("faults", kind, "time_to_failure"), 2 * counts[kind] * horizon / cycle)
        for i, fault in enumerate(faults.scripted):
            add(("faults", "scripted", i, "times"), 2.0 * fault.times)
    arrivals = expected_arrivals(scenario)
    if arrivals > 0:
        loc, _ = _request_culprit(scenario)
        add(loc, arrivals + expected_requests(scenario))
    add(
        ("systems",),
        _float(sum(x.vm_count for x in scenario.systems))
        + len(scenario.systems) * EVENTS_PER_SYSTEM,
    )
    if scenario.population is not None:
        add(
            ("population", "systems"),
            expected_population_vms(scenario) + scenario.population.systems * EVENTS_PER_SYSTEM,
        )
    add(("meta", "sample_interval"), horizon / meta.sample_interval)
    if scenario.dr is not None:
        add(("dr", "tick"), horizon / scenario.dr.tick)
    containers = scenario.containers
    if containers is not None:
        if containers.hpas:
            add(("containers", "hpa_sync_period"), horizon / containers.hpa_sync_period)
        for i, cluster in enumerate(containers.clusters):
            if cluster.autoscaler is not None:
                add(
                    ("containers", "clusters", i, "autoscaler", "scan_interval"),
                    horizon / cluster.autoscaler.scan_interval,
                )
    return parts


def events_problem(scenario: Scenario, extra: Mapping[Loc, float] | None = None) -> Finding | None:
    """A finding at the field driving most of them if the run's expected events (plus
    ``extra``: those of data files, by field) are over ``meta.max_events``; else None."""
    parts = estimate_events(scenario)
    for loc, count in (extra or {}).items():
        parts[loc] = parts.get(loc, 0.0) + count
    total = sum(parts.values())
    limit = scenario.meta.max_events
    if total <= limit:
        return None
    worst = max(parts, key=lambda k: parts[k])
    return Finding(
        worst,
        f"this run would take about {total:.3g} events ({parts[worst]:.3g} of them from "
        f"this field), over the limit of {limit:,} (meta.max_events); refused before "
        "running: set meta.max_events higher to run it anyway",
    )


def check_memory(scenario: Scenario, raw: Any, source: Source) -> list[Problem]:
    """Refuse, with the estimate, a scenario whose tables would not fit in memory or whose
    run would take more than ``meta.max_events`` events."""
    c = _Collector(raw, source)
    needed, parts = estimate_memory_mib(scenario)
    budget = memory_budget_mib(scenario)
    if needed > budget:
        worst = max(parts, key=lambda k: parts[k])
        c.add(
            _memory_culprit(scenario, worst),
            f"this scenario would need about {_size(needed)} of memory "
            f"({_float(scenario.host_count):,.0f} hosts; {worst} alone "
            f"{_size(parts[worst] / 2**20)}), over the limit of {_size(budget)} "
            "(meta.memory_limit, default 3/4 of RAM); refused before building anything",
        )
        return c.problems
    found = events_problem(scenario)
    if found is not None:
        c.findings([found])
    return c.problems


def check_resources(
    scenario: Scenario,
    raw: Any,
    source: Source,
    checks: ScenarioChecks | None = None,
    *,
    feasibility: bool = True,
) -> list[Problem]:
    """Workload references, the memory estimate, then the added checks: against the
    compiled world, and (once everything else passed) feasibility."""
    c = _Collector(raw, source)
    names = {x.name for x in scenario.systems}
    for i, name in enumerate(scenario.workload.systems or []):
        c.known(("workload", "systems", i), name, names, "system")
    resizes = scenario.workload.resizes
    for i, name in enumerate(resizes.systems or [] if resizes is not None else []):
        c.known(("workload", "resizes", "systems", i), name, names, "system")

    memory = check_memory(scenario, raw, source)
    if memory:
        return [*c.problems, *memory]
    if checks is None:
        return c.problems
    c.findings(checks.world(scenario))  # builds the world: only once memory is known OK
    if c.problems or not feasibility:
        return c.problems
    c.findings(checks.feasibility(scenario))
    return c.problems
