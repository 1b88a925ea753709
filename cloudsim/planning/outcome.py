"""What a plan reports: per pool, per centre and for the platform; runway; ``plan.json``.

Power is the simulator's model at the peak month's allocation: each host up draws
``idle + (peak - idle) × min(allocated vCPUs / threads, 1)`` watts, times its centre's PUE
for the facility. The yearly cost of a host is its capital cost over ``amortise_years`` plus
its facility energy over a year at ``power_price_kwh``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from cloudsim.placement.core import Request
from cloudsim.planning.demand import MONTH
from cloudsim.planning.pack import PackState, Shortfall
from cloudsim.planning.search import Failure, Planner
from cloudsim.world.inventory import make_request

HOURS_PER_YEAR = 8760
#: The totals per centre and for the platform.
TOTALS = ("hosts_now", "hosts_needed", "cores_now", "cores_needed", "kw_now", "kw",
          "cost_per_year_now", "cost_per_year")  # fmt: skip


def month_date(start: datetime, month: int) -> str:
    """``YYYY-MM`` of ``month`` months after ``start``."""
    total = start.year * 12 + (start.month - 1) + month
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


@dataclass
class Runway:
    """When each pool (and the platform) runs out at a given size under the growth."""

    platform: int | None
    pools: dict[int, int | None] = field(default_factory=dict)
    #: pool -> its refusal share in the month it runs out
    share: dict[int, float] = field(default_factory=dict)


def runway(
    planner: Planner, counts: tuple[int, ...], progress: Callable[[str], None] | None = None
) -> Runway:
    """The first month whose peak refuses more than ``max_reject`` of the tenants' cloud
    hosts for capacity: for the platform, and per pool among the cloud hosts that pool could
    take (its runway). Declared cloud hosts or warm standbys without room: month 0."""
    limit = planner.question.max_reject
    world = planner.ceiling_world
    n_pools = len(world.hosts.pool_names)
    pools_of: dict[int, np.ndarray] = {}

    def candidate_pools(system: int) -> np.ndarray:
        if system not in pools_of:
            req: Request = make_request(
                world.profiles[system],
                world.flavor_demand[:, 0],
                world.profiles[system].datacenters,
            )
            mask = planner._free_placer.static_mask(req)
            pools_of[system] = np.unique(world.hosts.pool[mask])
        return pools_of[system]

    out = Runway(platform=None, pools=dict.fromkeys(range(n_pools)))
    if progress:
        progress(f"runway over {len(planner.demand.months)} months at today's size")
    for month in planner.demand.months:
        state = planner.normal(counts, month)
        eligible = np.zeros(n_pools, dtype=np.int64)
        unplaced = np.zeros(n_pools, dtype=np.int64)
        for s, n in zip(month.system, month.count, strict=True):
            eligible[candidate_pools(int(s))] += int(n)
        for short in state.shortfalls:
            pools = candidate_pools(short.system)
            if short.kind == "tenant":
                unplaced[pools] += short.count
            else:  # already short at this size
                for p in pools:
                    if out.pools[int(p)] is None:
                        out.pools[int(p)] = month.month
                        out.share[int(p)] = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(eligible > 0, unplaced / np.maximum(eligible, 1), 0.0)
        for p in np.flatnonzero(share > limit + 1e-12):
            if out.pools[int(p)] is None:
                out.pools[int(p)] = month.month
                out.share[int(p)] = float(share[p])
        total_share = state.tenant_unplaced / state.tenant_vms if state.tenant_vms else 0.0
        if out.platform is None and (total_share > limit + 1e-12 or state.hard()):
            out.platform = month.month
        if out.platform is not None and all(v is not None for v in out.pools.values()):
            break
    return out


def _power_kw(state: PackState, pue: np.ndarray) -> np.ndarray:
    """Facility kW per host of a packed state (0 for hosts down)."""
    h = state.hosts
    allocated = (h.limit[0] - h.free[0]) / np.maximum(h.capacity[0], 1)
    it = h.power_idle_w + (h.power_peak_w - h.power_idle_w) * np.minimum(allocated, 1.0)
    it = np.where(h.up, it, 0.0) / 1000
    result: np.ndarray = it * pue[h.datacenter]
    return result


def describe(planner: Planner, failure: Failure | None) -> dict[str, Any] | None:
    """A failing check as the binding constraint: which failure set, resource, month."""
    if failure is None:
        return None
    first: Shortfall = failure.shortfalls[0]
    names = planner.world.systems
    total = sum(s.count for s in failure.shortfalls)
    systems = sorted({names[s.system] for s in failure.shortfalls})
    resource = first.reason.removeprefix("no_capacity_")
    return {
        "failure_set": None if failure.check == "growth" else failure.check,
        "check": failure.check,
        "resource": resource,
        "month": failure.month,
        "date": month_date(planner.scenario.meta.start, failure.month),
        "detail": (
            f"{total} {first.kind} cloud host{'s' * (total != 1)} of "
            f"{', '.join(systems[:3])}{' …' if len(systems) > 3 else ''} find no room "
            f"({first.reason})"
        ),
    }


def plan_document(
    planner: Planner,
    counts: tuple[int, ...],
    now_runway: Runway,
    verdicts: list[dict[str, Any]],
    timing: dict[str, float],
) -> dict[str, Any]:
    """``plan.json``: the question, per pool and centre, totals, verification, minimality."""
    scenario = planner.scenario
    question = planner.question
    costs = question.costs
    world = planner.ceiling_world
    hosts = world.hosts
    pue = np.array([dc.pue for dc in scenario.datacenters])
    start = scenario.meta.start
    today = planner.today()
    state_now = planner.normal(today, planner.peak)
    state_new = planner.normal(counts, planner.peak)
    fac_now = _power_kw(state_now, pue)
    fac_new = _power_kw(state_new, pue)
    capex = {c.name: costs.host_classes.get(c.name, 0.0) for c in scenario.host_classes}
    group_of = {g.pool: i for i, g in enumerate(planner.groups)}
    pools: list[dict[str, Any]] = []
    minimality: list[dict[str, Any]] = []
    per_dc: dict[str, dict[str, float]] = {
        dc.name: dict.fromkeys(TOTALS, 0.0) for dc in scenario.datacenters
    }
    price = costs.power_price_kwh * HOURS_PER_YEAR
    for p, pool in enumerate(scenario.pools):
        in_pool = hosts.pool == p
        g = group_of.get(p)
        others = sum(x.count for x in pool.hosts) - (planner.now[pool.name] if g is not None else 0)
        if g is not None:
            group = planner.groups[g]
            now_n, new_n = others + today[g], others + counts[g]
            cls = group.host_class
        else:
            now_n = new_n = sum(x.count for x in pool.hosts)
            cls = pool.hosts[-1].host_class
        classes = {c.name: c for c in scenario.host_classes}
        cores_per = classes[cls].cores
        fixed_cores = sum(classes[x.host_class].cores * x.count for x in pool.hosts)
        fixed_capex = sum(capex[x.host_class] * x.count for x in pool.hosts)
        delta = new_n - now_n
        cores_now, cores_new = fixed_cores, fixed_cores + delta * cores_per
        capex_now = fixed_capex / costs.amortise_years
        capex_new = (fixed_capex + delta * capex[cls]) / costs.amortise_years
        kw_now, kw_new = float(fac_now[in_pool].sum()), float(fac_new[in_pool].sum())
        cost_now, cost_new = capex_now + kw_now * price, capex_new + kw_new * price
        binding = None
        if g is not None and counts[g] != today[g] and counts[g] > planner.floor(g):
            failure = planner.binding(counts, g)
            binding = describe(planner, failure)
            breaks = (
                f"{binding['check']}: {binding['detail']}"
                if binding
                else "nothing: the plan is not minimal in this pool"
            )
            minimality.append({"pool": pool.name, "hosts": new_n - 1, "breaks": breaks})
        rw = now_runway.pools.get(p)
        rule = planner.rules.get(pool.name)
        pools.append(
            {
                "pool": pool.name,
                "datacenter": pool.datacenter,
                "purpose": pool.purpose,
                "host_class": cls,
                "plannable": g is not None,
                "may_grow": bool(rule and rule.grow),
                "may_shrink": bool(rule and rule.shrink),
                "hosts_now": now_n,
                "hosts_needed": new_n,
                "change": delta,
                "cores_now": cores_now,
                "cores_needed": cores_new,
                "binding": binding,
                "runway": {
                    "month": rw,
                    "date": None if rw is None else month_date(start, rw),
                    "share_refused": now_runway.share.get(p),
                },
                "kw_now": round(kw_now, 3),
                "kw": round(kw_new, 3),
                "cost_per_year_now": round(cost_now, 2),
                "cost_per_year": round(cost_new, 2),
                "cost_delta_per_year": round(cost_new - cost_now, 2),
            }
        )
        row = per_dc[pool.datacenter]
        row["hosts_now"] += now_n
        row["hosts_needed"] += new_n
        row["cores_now"] += cores_now
        row["cores_needed"] += cores_new
        row["kw_now"] += kw_now
        row["kw"] += kw_new
        row["cost_per_year_now"] += cost_now
        row["cost_per_year"] += cost_new
    datacenters = [
        {"datacenter": name, **{k: _num(v) for k, v in row.items()}} for name, row in per_dc.items()
    ]
    platform = {
        k: _num(sum(row[k] for row in per_dc.values())) for k in next(iter(per_dc.values()))
    }
    names = planner.world.systems
    unplaceable = [
        {
            "check": u.check,
            "system": names[u.system],
            "kind": u.kind,
            "count": u.count,
            "reason": u.reason,
        }
        for u in planner.unplaceable
    ]
    down = []
    peak_normal = planner.normal(counts, planner.peak)
    for check in planner.checks[1:]:
        after = planner.packer.failure(peak_normal, check.failed)
        down += [
            {"failure_set": check.name, "system": names[d.system], "why": d.why}
            for d in after.by_design
        ]
    quota = sum(m.quota_refused for m in planner.demand.months)
    warnings = []
    if question.objective == "cost":
        free = sorted(
            {g.host_class for g in planner.groups if g.host_class not in costs.host_classes}
        )
        if free:
            warnings.append(
                f"objective cost: host classes without a price in plan.costs.host_classes "
                f"count as free capital: {', '.join(free)}"
            )
    return {
        "scenario": scenario.meta.name,
        "seed": planner.seed,
        "question": {
            **question.model_dump(mode="json"),
            "failure_sets": {
                c.name: sorted(names_of(planner, c.failed)) for c in planner.checks[1:]
            },
        },
        "currency": costs.currency,
        "peak": {
            "month": planner.peak.month,
            "date": month_date(start, planner.peak.month),
            "day": planner.peak.day,
            "tenant_vms": planner.peak.vms,
        },
        "pools": pools,
        "datacenters": datacenters,
        "platform": platform,
        "runway_platform": {
            "month": now_runway.platform,
            "date": None if now_runway.platform is None else month_date(start, now_runway.platform),
        },
        "verification": verdicts,
        "minimality": minimality,
        "unplaceable": unplaceable,
        "down_by_design": down,
        "quota_refused_vms": quota,
        "warnings": warnings,
        "timing": {k: round(v, 3) for k, v in timing.items()},
    }


def names_of(planner: Planner, centres: frozenset[int]) -> list[str]:
    return [planner.world.datacenters[c] for c in centres]


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 3)


__all__ = ["MONTH", "Runway", "month_date", "plan_document", "runway"]
