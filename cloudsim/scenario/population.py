"""Expand a scenario's ``population:`` into explicit departments and systems.

The inventory of a scenario is fixed: it is drawn from ``population.seed`` alone, never from
the run seed, so every replication and every policy of a sweep sees the same departments and
systems. The result is the fully resolved scenario (``population`` is ``None``), which is what
results echo; expanding it again is a no-op.

Draws use one child stream per attribute, spawned in a fixed order from
``numpy.random.default_rng(population.seed)``, so that changing, say, the flavour weights does
not reshuffle which zone or centres each system got.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from cloudsim.scenario.schema import (
    Arch,
    Department,
    Flavor,
    Population,
    Quota,
    Scenario,
    System,
    VMGroup,
)

__all__ = ["expand_population", "quota_for_usage"]

Priority = Literal["critical", "important", "normal"]
K = TypeVar("K")

#: Spread of the department size weights: lognormal(0, sigma). With sigma = 1 the largest of
#: 60 departments gets roughly 5-10 % of the systems dealt by weight, so a few departments
#: (public security, health, human resources and social security...) own many systems while
#: most own two or three, as in real provincial inventories.
DEPARTMENT_SIZE_SIGMA = 1.0

#: Minimum widths of the zero-padded generated names (dept-001, sys-0001).
DEPARTMENT_NAME_WIDTH = 3
SYSTEM_NAME_WIDTH = 4

# Child streams, in spawn order. Append new streams at the end to keep old draws stable.
_STREAMS = (
    "departments",
    "vm_counts",
    "flavors",
    "zones",
    "centres",
    "arch",
    "mlps",
    "priority",
)


def expand_population(scenario: Scenario) -> Scenario:
    """The scenario with its population drawn and appended as explicit departments/systems.

    Returns ``scenario`` itself when it has no population. Raises :class:`ValueError` when the
    population cannot be drawn (unknown names, bad weights, or a zone and set of centres with
    no general-purpose hosts of any allowed architecture).
    """
    population = scenario.population
    if population is None:
        return scenario
    _check_references(scenario, population)
    flavors = {flavor.name: flavor for flavor in scenario.flavors}

    root = np.random.default_rng(population.seed)
    streams = dict(zip(_STREAMS, root.spawn(len(_STREAMS)), strict=True))

    dept_names = list(
        _names(
            "dept",
            population.departments,
            DEPARTMENT_NAME_WIDTH,
            {d.name for d in scenario.departments},
        )
    )
    sys_names = list(
        _names(
            "sys",
            population.systems,
            SYSTEM_NAME_WIDTH,
            {s.name for s in scenario.systems},
        )
    )
    owner = _deal_systems(population.departments, population.systems, streams["departments"])

    n = population.systems
    vm_counts = _vm_counts(population, n, streams["vm_counts"])
    zone_names, zone_p = _weights(population.zones, "population.zones")
    zone_idx = streams["zones"].choice(len(zone_names), size=n, p=zone_p)
    centre_options = [list(option.datacenters) for option in population.datacenters]
    centre_p = _normalise(
        [option.weight for option in population.datacenters], "population.datacenters weights"
    )
    centre_idx = streams["centres"].choice(len(centre_options), size=n, p=centre_p)
    arch_by_combo = _arch_choices(scenario, population, zone_names, centre_options)
    arch_u = streams["arch"].random(size=n)
    mlps_levels, mlps_p = _weights(population.mlps_levels, "population.mlps_levels")
    mlps_idx = streams["mlps"].choice(len(mlps_levels), size=n, p=mlps_p)
    priorities, priority_p = _weights(population.priorities, "population.priorities")
    priority_idx = streams["priority"].choice(len(priorities), size=n, p=priority_p)
    flavor_names, flavor_p = _weights(population.flavors, "population.flavors")
    n_flavors, flavor_idx, flavor_split = _flavor_mixes(
        vm_counts, flavor_p, population.flavors_per_system, streams["flavors"]
    )

    systems: list[System] = []
    for i in range(n):
        zone = zone_names[int(zone_idx[i])]
        archs, cumulative = arch_by_combo[(int(zone_idx[i]), int(centre_idx[i]))]
        arch = archs[min(int(np.searchsorted(cumulative, arch_u[i], side="right")), len(archs) - 1)]
        groups = [
            VMGroup(flavor=flavor_names[int(f)], count=int(c))
            for f, c in zip(
                flavor_idx[i, : n_flavors[i]], flavor_split[i, : n_flavors[i]], strict=True
            )
        ]
        systems.append(
            System(
                name=sys_names[i],
                department=dept_names[int(owner[i])],
                mlps_level=mlps_levels[int(mlps_idx[i])],
                priority=priorities[int(priority_idx[i])],
                zone=zone,
                arch=arch,
                datacenters=list(centre_options[int(centre_idx[i])]),
                anti_affinity=population.anti_affinity,
                vms=groups,
            )
        )

    departments = _departments(dept_names, systems, flavors, population.quota_headroom)
    return scenario.model_copy(
        update={
            "departments": [*scenario.departments, *departments],
            "systems": [*scenario.systems, *systems],
            "population": None,
        }
    )


def quota_for_usage(headroom: float, vcpus: int, memory_mib: int, disk_gb: int, vms: int) -> Quota:
    """``ceil(headroom × usage)`` per resource, with ``headroom`` read as the decimal written.

    ``Fraction(repr(1.1))`` is exactly 11/10, so 1.1 × 100 gives 110, not the 111 that binary
    floating point would round up to.
    """
    factor = Fraction(repr(headroom))
    return Quota(
        vcpus=math.ceil(factor * vcpus),
        memory=math.ceil(factor * memory_mib),
        disk=math.ceil(factor * disk_gb),
        vms=math.ceil(factor * vms),
    )


# --------------------------------------------------------------------------- helpers


def _check_references(scenario: Scenario, population: Population) -> None:
    known_flavors = {f.name for f in scenario.flavors}
    known_zones = {z.name for z in scenario.zones}
    known_centres = {d.name for d in scenario.datacenters}
    problems: list[str] = []
    for name in population.flavors:
        if name not in known_flavors:
            problems.append(f"population.flavors names unknown flavor {name!r}")
    for name in population.zones:
        if name not in known_zones:
            problems.append(f"population.zones names unknown zone {name!r}")
    for option in population.datacenters:
        for name in option.datacenters:
            if name not in known_centres:
                problems.append(f"population.datacenters names unknown data centre {name!r}")
        if len(set(option.datacenters)) != len(option.datacenters):
            problems.append(
                f"population.datacenters lists a data centre twice in {option.datacenters}"
            )
    for level in population.mlps_levels:
        if not 1 <= level <= 5:
            problems.append(f"population.mlps_levels: MLPS level must be 1..5, got {level}")
    counts = population.vms_per_system
    if counts.min > counts.max:
        problems.append(
            f"population.vms_per_system: min ({counts.min}) must not exceed max ({counts.max})"
        )
    if problems:
        raise ValueError("; ".join(problems))


def _names(prefix: str, count: int, min_width: int, taken: Collection[str]) -> Iterator[str]:
    """``count`` names ``prefix-001``…, skipping names already taken (the count stays exact)."""
    width = max(min_width, len(str(count)))
    made = 0
    index = 0
    while made < count:
        index += 1
        name = f"{prefix}-{index:0{width}d}"
        if name in taken:
            continue
        made += 1
        yield name


def _normalise(weights: Sequence[float], what: str) -> NDArray[np.float64]:
    array = np.asarray(weights, dtype=np.float64)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{what}: weights must be finite and non-negative, got {list(weights)}")
    total = float(array.sum())
    if total <= 0:
        raise ValueError(f"{what}: at least one weight must be positive, got {list(weights)}")
    return array / total


def _weights(mapping: Mapping[K, float], what: str) -> tuple[list[K], NDArray[np.float64]]:
    keys = list(mapping)
    return keys, _normalise([mapping[k] for k in keys], what)


def _deal_systems(departments: int, systems: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """The owning department index of each system, sorted so a department's systems are adjacent.

    With at least as many systems as departments, each department gets one system and the rest
    go to departments drawn with lognormal weights (a few departments own many systems).
    With fewer systems, each goes to a different department chosen at random.
    """
    if systems < departments:
        owners = rng.choice(departments, size=systems, replace=False)
    else:
        weights = rng.lognormal(0.0, DEPARTMENT_SIZE_SIGMA, size=departments)
        extra = rng.choice(departments, size=systems - departments, p=weights / weights.sum())
        owners = np.concatenate([np.arange(departments), extra])
    return np.sort(owners).astype(np.int64)


def _vm_counts(population: Population, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    dist = population.vms_per_system
    raw = rng.lognormal(math.log(dist.median), dist.sigma, size=n)
    return np.clip(np.rint(raw), dist.min, dist.max).astype(np.int64)


def _flavor_mixes(
    counts: NDArray[np.int64],
    flavor_p: NDArray[np.float64],
    per_system: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per system: how many distinct flavours, which (in draw order), and VMs of each.

    Each system takes k ~ uniform{1..per_system} distinct flavours (fewer if it has fewer VMs
    or there are fewer flavours of positive weight), drawn by weight without replacement, and
    its VMs are split evenly at random among them with at least one each. Vectorised: the
    draw without replacement sorts exponential keys E/w (Efraimidis-Spirakis), which picks
    flavours in the same law as successive weighted draws.

    Returns ``k`` (n,), ``chosen`` (n, F) flavour indices of which the first k of each row
    are used, and ``split`` (n, F) VM counts aligned with ``chosen`` (zero beyond k).
    """
    n = counts.shape[0]
    usable = int(np.count_nonzero(flavor_p))
    most = np.minimum(min(per_system, usable), counts)
    k = rng.integers(1, most + 1, size=n).astype(np.int64)
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=(n, flavor_p.shape[0])) / flavor_p
    chosen = np.argsort(keys, axis=1, kind="stable").astype(np.int64)
    split = np.zeros_like(chosen)
    for kk in range(1, int(k.max(initial=1)) + 1):
        rows = np.flatnonzero(k == kk)
        if rows.size == 0:
            continue
        extra = rng.multinomial(counts[rows] - kk, np.full(kk, 1.0 / kk))
        split[rows, :kk] = 1 + extra
    return k, chosen, split


def _arch_choices(
    scenario: Scenario,
    population: Population,
    zone_names: list[str],
    centre_options: list[list[str]],
) -> dict[tuple[int, int], tuple[list[Arch], NDArray[np.float64]]]:
    """For each (zone, centre option) that can be drawn: the feasible archs and their CDF.

    An architecture is feasible when every listed centre has general-purpose hosts of it in
    the zone (generated systems deal their VMs over all listed centres). Dedicated, container
    and standby pools do not count: ordinary VMs of generated departments are not placed there.
    """
    classes = {hc.name: hc for hc in scenario.host_classes}
    available: dict[tuple[str, str], set[Arch]] = {}
    for pool in scenario.pools:
        if pool.purpose != "general":
            continue
        for group in pool.hosts:
            host_class = classes.get(group.host_class)
            if host_class is None:
                raise ValueError(f"pools[{pool.name}] uses unknown host class {group.host_class!r}")
            if group.count > 0:
                available.setdefault((pool.datacenter, pool.zone), set()).add(host_class.arch)

    allowed = [a for a, w in population.arch.items() if w > 0]
    _normalise(list(population.arch.values()), "population.arch")  # validates the weights
    zone_w = population.zones
    centre_w = [option.weight for option in population.datacenters]
    result: dict[tuple[int, int], tuple[list[Arch], NDArray[np.float64]]] = {}
    for zi, zone in enumerate(zone_names):
        for ci, centres in enumerate(centre_options):
            if zone_w[zone] <= 0 or centre_w[ci] <= 0:
                continue  # never drawn
            feasible = [
                a for a in allowed if all(a in available.get((dc, zone), set()) for dc in centres)
            ]
            if not feasible:
                have = {dc: sorted(available.get((dc, zone), set())) for dc in centres}
                raise ValueError(
                    f"population: systems in zone {zone!r} on centres {centres} need general "
                    f"hosts of an architecture in {allowed} in every one of those centres, "
                    f"but the general pools there offer {have}; add pools or change the "
                    "population's zones, datacenters or arch weights"
                )
            p = _normalise([population.arch[a] for a in feasible], "population.arch")
            result[(zi, ci)] = (feasible, np.cumsum(p))
    return result


def _departments(
    names: list[str],
    systems: list[System],
    flavors: Mapping[str, Flavor],
    headroom: float | None,
) -> list[Department]:
    if headroom is None:
        return [Department(name=name) for name in names]
    usage = {name: [0, 0, 0, 0] for name in names}
    for system in systems:
        totals = usage[system.department]
        for group in system.vms:
            flavor = flavors[group.flavor]
            totals[0] += flavor.vcpus * group.count
            totals[1] += flavor.memory * group.count
            totals[2] += flavor.disk * group.count
            totals[3] += group.count
    return [Department(name=name, quota=quota_for_usage(headroom, *usage[name])) for name in names]
