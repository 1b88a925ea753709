"""The evaluation of a run along the four dimensions used for government cloud
infrastructure (platform capability, security, operations, outcomes): each indicator the
run measures with its definition, its value and where the value came from; the indicators
it cannot measure are listed as such, never estimated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cloudsim.report.page import (
    Section,
    esc,
    fmt,
    is_number,
    num,
    num_pct,
    percent,
    raw,
    summary_value,
    table,
)

Frames = Callable[[str], "pd.DataFrame | None"]


@dataclass(frozen=True)
class Indicator:
    dimension: str
    name: str
    definition: str
    value: str  # HTML
    source: str


@dataclass(frozen=True)
class Unmeasured:
    dimension: str
    name: str
    why: str


DIMENSIONS = ("platform capability", "security", "operations", "outcomes")


def _derived(value: float | int | None, text: str, source: str) -> str:
    """A value computed from tables: raw value and source in data attributes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<span class="missing">—</span>'
    return f'<span data-derived="{esc(source)}" data-value="{esc(value)}">{esc(text)}</span>'


def _per_centre(summary: Mapping[str, Any], key: str) -> str:
    centres = summary.get("datacenters")
    if not isinstance(centres, dict) or not centres:
        return '<span class="missing">—</span>'
    return ", ".join(
        f"{esc(name)} {num_pct(summary, f'datacenters.{name}.{key}')}" for name in centres
    )


def indicators(
    summary: Mapping[str, Any], frames: Frames
) -> tuple[list[Indicator], list[Unmeasured]]:
    """What the run measures and what it cannot, per dimension."""
    s = summary
    found: list[Indicator] = []
    missing: list[Unmeasured] = []
    has = summary_value
    systems = frames("systems")
    availability = frames("availability")
    incidents = frames("incidents")

    # platform capability
    pc = "platform capability"
    if isinstance(s.get("datacenters"), dict):
        for key, label in (("cpu", "CPU"), ("memory", "memory")):
            found.append(
                Indicator(
                    pc,
                    f"resource allocation rate ({label})",
                    f"share of each centre's {label} limit (physical capacity × overcommit) "
                    "allocated to cloud hosts at the end of the run",
                    _per_centre(s, f"{key}_allocated_ratio"),
                    f"summary.json datacenters.*.{key}_allocated_ratio",
                )
            )
    if has(s, "rejection_ratio") is not None:
        found.append(
            Indicator(
                pc,
                "request refusal rate",
                "cloud hosts refused over cloud hosts requested during the run (capacity, "
                "quota, zone, architecture or anti-affinity)",
                f"{num_pct(s, 'rejection_ratio', 2)} ({num(s, 'vms_rejected')} of "
                f"{num(s, 'vms_requested')})",
                "summary.json rejection_ratio, vms_rejected, vms_requested",
            )
        )
    if has(s, "availability.mean") is not None:
        found.append(
            Indicator(
                pc,
                "cloud reliability: availability against the required fraction",
                "time share of the horizon a system was up, a system counting as up while "
                "at least the required fraction of its declared VMs ran where it is served; "
                "mean and lowest over the systems",
                f"mean {num(s, 'availability.mean', percent(has(s, 'availability.mean'), 4))}, "
                f"lowest {num(s, 'availability.min', percent(has(s, 'availability.min'), 4))} "
                "(required fraction "
                f"{num(s, 'availability.required_fraction', percent(has(s, 'availability.required_fraction'), 0))})",  # noqa: E501
                "summary.json availability.mean, .min, .required_fraction",
            )
        )
    levels = has(s, "dr.gbt20988_levels")
    if isinstance(levels, dict) and levels:
        found.append(
            Indicator(
                pc,
                "DR capability level per system (GB/T 20988)",
                "systems per level their DR design allows and their observed worst RTO and "
                "RPO demonstrate (per system in the DR levels table above)",
                ", ".join(
                    f"L{esc(k)}: {num(s, f'dr.gbt20988_levels.{k}')}"
                    for k in sorted(levels, key=lambda k: -int(k) if str(k).isdigit() else 0)
                ),
                "summary.json dr.gbt20988_levels; availability.parquet gbt20988_level",
            )
        )
    else:
        missing.append(
            Unmeasured(pc, "DR capability level per system", "the scenario has no dr section")
        )
    services = has(s, "containers.services")
    if isinstance(services, dict) and services:
        found.append(
            Indicator(
                pc,
                "application support: container services",
                "per service, the time share with at least its required ready endpoints, "
                "and the share of its CPU demand served",
                "; ".join(
                    f"{esc(n)} "
                    f"{num(s, f'containers.services.{n}.availability', percent(v.get('availability'), 4))}"  # noqa: E501
                    f" up, {num(s, f'containers.services.{n}.demand_served', percent(v.get('demand_served'), 3))} served"  # noqa: E501
                    for n, v in services.items()
                    if isinstance(v, dict)
                ),
                "summary.json containers.services.*.availability, .demand_served",
            )
        )
    else:
        missing.append(Unmeasured(pc, "application support", "the run has no container services"))
    missing += [
        Unmeasured(
            pc,
            "network service quality",
            "links fail and degrade as faults, but no traffic, latency or throughput of the "
            "services over them is simulated",
        ),
        Unmeasured(pc, "data sharing", "data exchange between departments is not modelled"),
        Unmeasured(
            pc,
            "data-centre hardware and DR management",
            "facilities (cooling, power chain) are modelled only as failure domains; DR "
            "management processes are reduced to the failover policy",
        ),
    ]

    # security
    sec = "security"
    if (
        systems is not None
        and availability is not None
        and "mlps_level" in systems
        and "gbt20988_level" in availability
    ):
        merged = systems[["name", "mlps_level"]].merge(
            availability[["system", "gbt20988_level"]], left_on="name", right_on="system"
        )
        level3 = merged[merged["mlps_level"] >= 3]
        meeting = int((level3["gbt20988_level"] >= 5).sum())
        total = len(level3)
        share = meeting / total if total else None
        found.append(
            Indicator(
                sec,
                "share of MLPS level-3 systems with level-3 redundancy",
                "systems of MLPS level 3 or above whose demonstrated GB/T 20988 level is 5 or "
                "6 (real-time off-site replication and redundant processing with an automatic "
                "switch, which MLPS 2.0 level 3 asks as real-time off-site backup and hot "
                "redundancy), over all systems of MLPS level 3 or above",
                _derived(
                    share,
                    f"{percent(share)} ({meeting} of {total})" if total else "no such system",
                    "systems.parquet mlps_level; availability.parquet gbt20988_level",
                ),
                "systems.parquet mlps_level, availability.parquet gbt20988_level",
            )
        )
    else:
        missing.append(
            Unmeasured(
                sec,
                "share of MLPS level-3 systems with level-3 redundancy",
                "needs the systems' MLPS levels and their DR levels (a dr section)",
            )
        )
    if has(s, "dr.data_lost_gb") is not None:
        found.append(
            Indicator(
                sec,
                "data security: data lost",
                "data written but not yet replicated or backed up when the failures "
                "struck, in GB, and the worst RPO (seconds of writes lost by one system)",
                f"{num(s, 'dr.data_lost_gb', unit='GB')}, worst RPO "
                f"{num(s, 'dr.worst_rpo_s', unit='s')}",
                "summary.json dr.data_lost_gb, dr.worst_rpo_s",
            )
        )
        found.append(
            Indicator(
                sec,
                "split-brain exposure",
                "time two sides of a system accepted writes at once, summed over systems",
                f"{num(s, 'dr.split_brain_s', unit='s')} over "
                f"{num(s, 'dr.systems_with_split_brain')} systems",
                "summary.json dr.split_brain_s, dr.systems_with_split_brain",
            )
        )
    else:
        missing.append(Unmeasured(sec, "data security", "the scenario has no dr section"))
    missing += [
        Unmeasured(
            sec,
            "data-centre, network and operations security",
            "physical access, intrusion and operator error are not simulated (a ransomware "
            "drill corrupts data as a scripted fault, measured under data security)",
        )
    ]

    # operations
    ops = "operations"
    if incidents is not None and "rto_s" in incidents and "system_down_s" in incidents:
        down = incidents[incidents["system_down_s"].fillna(0) > 0]
        mttr = float(down["rto_s"].mean()) if len(down) else None
        found.append(
            Indicator(
                ops,
                "mean time to recover",
                "mean over incidents that took a system down of the time from the failure to "
                "the service's restoration (RTO from ground truth)",
                _derived(
                    mttr,
                    f"{fmt(mttr, 's')} over {len(down)} incidents" if mttr is not None else "",
                    "incidents.parquet rto_s where system_down_s > 0",
                )
                if len(down)
                else "no incident took a system down",
                "incidents.parquet rto_s, system_down_s",
            )
        )
        if "detected_at" in incidents and "failed_at" in incidents:
            delay = (incidents["detected_at"] - incidents["failed_at"]).dropna()
            if len(delay):
                mttd = float(delay.mean())
                found.append(
                    Indicator(
                        ops,
                        "monitoring: mean time to detect",
                        "mean over incidents the DR controller saw of the time from the "
                        "failure to its detection (missed heartbeats)",
                        _derived(
                            mttd,
                            f"{fmt(mttd, 's')} over {len(delay)} incidents",
                            "incidents.parquet detected_at - failed_at",
                        ),
                        "incidents.parquet detected_at, failed_at",
                    )
                )
        if "restored_by" in incidents and len(incidents):
            by = incidents["restored_by"].astype(str).value_counts()
            dr_n, repair_n = int(by.get("dr", 0)), int(by.get("repair", 0))
            share = dr_n / (dr_n + repair_n) if dr_n + repair_n else None
            found.append(
                Indicator(
                    ops,
                    "fault recovery by DR",
                    "incidents whose service came back through a DR action (failover, "
                    "restore) rather than by repairing the failed component",
                    _derived(
                        share,
                        f"{dr_n} by DR, {repair_n} by repair"
                        + (f" ({percent(share)} by DR)" if share is not None else ""),
                        "incidents.parquet restored_by",
                    ),
                    "incidents.parquet restored_by",
                )
            )
    if has(s, "dr.unnecessary_failovers") is not None:
        found.append(
            Indicator(
                ops,
                "unnecessary failovers and policy failures",
                "failovers of a system whose home side was in fact still able to serve, and "
                "decisions of the failover policy that raised or were invalid",
                f"{num(s, 'dr.unnecessary_failovers')} of {num(s, 'dr.failovers')} failovers; "
                f"{num(s, 'dr.policy_failures')} policy failures",
                "summary.json dr.unnecessary_failovers, dr.failovers, dr.policy_failures",
            )
        )
    missing.append(
        Unmeasured(
            ops,
            "user and permission management",
            "accounts, roles and permissions are not modelled",
        )
    )

    # outcomes
    out = "outcomes"
    if systems is not None and len(systems):
        departments = int(systems["department"].nunique()) if "department" in systems else 0
        found.append(
            Indicator(
                out,
                "service coverage",
                "business systems and departments hosted, and cloud hosts running at the end",
                _derived(
                    len(systems),
                    f"{len(systems):,} systems of {departments:,} departments",
                    "systems.parquet rows, department",
                )
                + f"; {num(s, 'vms_end')} cloud hosts",
                "systems.parquet; summary.json vms_end",
            )
        )
    hosts, vms = has(s, "hosts"), has(s, "vms_end")
    if isinstance(hosts, int) and isinstance(vms, int) and hosts:
        density = vms / hosts
        found.append(
            Indicator(
                out,
                "consolidation",
                "cloud hosts running at the end per physical host",
                _derived(density, f"{density:.2f}", "summary.json vms_end / hosts"),
                "summary.json vms_end, hosts",
            )
        )
    energy = s.get("energy")
    energy = energy if isinstance(energy, Mapping) else {}
    lines = []
    if is_number(energy.get("cost")):
        currency = esc(energy.get("currency") or "")
        lines.append(
            f"{num(s, 'energy.cost')} {currency} over the run: electricity "
            f"{num(s, 'energy.electricity_cost')}, capital {num(s, 'energy.capital_cost')}"
        )
    centres = energy.get("datacenters")
    for name, figures in (centres if isinstance(centres, Mapping) else {}).items():
        costs = [
            k for k, v in (figures if isinstance(figures, Mapping) else {}).items()
            if "cost" in k and is_number(v)
        ]  # fmt: skip
        if costs:
            lines.append(
                f"{esc(name)}: "
                + ", ".join(
                    f"{esc(k.replace('_', ' '))} {num(s, f'energy.datacenters.{name}.{k}')}"
                    for k in costs
                )
            )
    if lines:
        found.append(
            Indicator(
                out,
                "energy cost",
                "electricity (time-of-use prices) and amortised capital over the run, in all "
                "and per centre (per department in the energy section; a saving needs a "
                "baseline: compare two runs or a sweep)",
                "<br>".join(lines),
                "summary.json energy.cost, energy.electricity_cost, energy.capital_cost, "
                "energy.datacenters.*.cost",
            )
        )
        missing.append(
            Unmeasured(out, "cost saving", "a saving needs a baseline run to compare with")
        )
    else:
        missing.append(
            Unmeasured(out, "cost saving", "the run has no energy or cost block (and no baseline)")
        )
    return found, missing


def evaluation_section(summary: Mapping[str, Any], frames: Frames) -> Section:
    """The section: one table of measured indicators, one of those the run cannot measure;
    ``frames(name)`` is a table of the run as a DataFrame, None when the run has none."""
    found, missing = indicators(summary, frames)
    sec = Section("evaluation", "Evaluation")
    sec.note(
        "The four dimensions used to evaluate government cloud infrastructure: platform "
        "capability, security, operations and outcomes. Each indicator the run measures, with "
        "its definition, its value and its source; then those it cannot measure."
    )
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    found.sort(key=lambda i: order.get(i.dimension, len(order)))
    sec.add(
        table(
            ["dimension", "indicator", "definition", "value", "source"],
            [[i.dimension, i.name, i.definition, raw(i.value), i.source] for i in found],
            name="indicators",
        )
    )
    sec.h3("Not measurable by this run")
    missing.sort(key=lambda u: order.get(u.dimension, len(order)))
    sec.add(
        table(
            ["dimension", "indicator", "why"],
            [[u.dimension, u.name, u.why] for u in missing],
            name="not-measured",
        )
    )
    return sec
