"""MLPS 2.0 (等保 2.0, GB/T 22239-2019) level 3 "data backup and recovery" as checks.

Level 3 asks, besides local backup and restore, for **real-time off-site backup over the
network** (异地实时备份) and **hot redundancy of the important data-processing systems**
(重要数据处理系统热冗余); levels 4 and 5 include level 3's requirements. In a scenario's
terms (see DOMAIN.md):

- *real-time off-site backup*: the system's data is replicated continuously (asynchronous
  or synchronous replication, not a periodic backup) to a centre at another **site** than
  every one of its own centres (the two Changsha centres are one site: a same-city pair
  is not off site);
- *hot redundancy*: the system runs active-active, or active-standby with a **warm**
  standby (pre-created and running; a cold standby is created only at failover).

A system of MLPS level 3 or above that lacks either is flagged: ``cloudsim validate`` warns
(``meta.mlps_checks: warn``, the default), refuses the scenario naming the system's
``mlps_level`` field under ``meta.mlps_checks: strict`` (or ``cloudsim validate --strict``),
and every run lists the flagged systems in ``summary.json`` (key ``mlps``). MLPS sets no
RTO or RPO numbers; the GB/T 20988 level of each system is the DR module's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from cloudsim.dr.plan import SystemPlan, build_plan
from cloudsim.kernel import Finding, Module, Results
from cloudsim.world import World

#: The lowest MLPS level whose "data backup and recovery" controls are checked.
CHECKED_LEVEL = 3
REAL_TIME = "real-time off-site backup"
HOT = "hot redundancy"


@dataclass(frozen=True)
class MLPSGap:
    """A system of MLPS level 3 or above and the level-3 controls its design lacks."""

    system: int  # index in scenario.systems
    name: str
    level: int
    missing: tuple[str, ...]  # REAL_TIME and/or HOT
    why: str  # what its design has instead, in words


def _sites(plan: SystemPlan, site_of: list[str]) -> set[str]:
    return {site_of[c] for c in plan.home}


def real_time_off_site(plan: SystemPlan, site_of: list[str]) -> bool:
    """Continuous replication of the data to a centre at another site than all of the
    system's own: asynchronous to such a centre, synchronous to a standby there, or
    synchronous between the two centres of an active-active pair on two sites."""
    home = _sites(plan, site_of)
    if plan.async_to >= 0 and site_of[plan.async_to] not in home:
        return True
    if not plan.sync:
        return False
    if plan.mode == "active-active":
        return len(home) > 1
    return plan.standby_dc >= 0 and site_of[plan.standby_dc] not in home


def hot_redundant(plan: SystemPlan) -> bool:
    """Active-active, or a warm (pre-created, running) standby."""
    if plan.mode == "active-active":
        return True
    return (
        plan.mode == "active-standby" and plan.standby is not None and plan.standby.kind == "warm"
    )


def _design(plan: SystemPlan, site_of: list[str]) -> str:
    """The system's DR design in a few words (what a reader needs to see the gap)."""
    if plan.mode == "none":
        return "no DR design (no dr.systems entry selects it)"
    parts = [f"{plan.mode} (dr.systems[{plan.entry}])"]
    home = _sites(plan, site_of)
    if plan.standby is not None:
        parts.append(f"{plan.standby.kind} standby")
    if plan.async_to >= 0:
        where = "same site" if site_of[plan.async_to] in home else "off site"
        parts.append(f"asynchronous replication ({where})")
    if plan.sync:
        parts.append("synchronous replication within " + "/".join(sorted(home)))
    if plan.backup is not None:
        parts.append("periodic backups only" if plan.async_to < 0 else "periodic backups")
    return ", ".join(parts)


def mlps_gaps(world: World, plans: list[SystemPlan] | None = None) -> list[MLPSGap]:
    """Every system of MLPS level 3 or above whose design lacks a level-3 control."""
    plans = build_plan(world) if plans is None else plans
    centre_site = {dc.name: dc.site for dc in world.scenario.datacenters}
    site_of = [centre_site[dc.name] for dc in world.scenario.datacenters]
    gaps = []
    for system, plan in zip(world.scenario.systems, plans, strict=True):
        if system.mlps_level < CHECKED_LEVEL:
            continue
        missing = tuple(
            what
            for what, ok in (
                (REAL_TIME, real_time_off_site(plan, site_of)),
                (HOT, hot_redundant(plan)),
            )
            if not ok
        )
        if missing:
            gaps.append(
                MLPSGap(plan.index, system.name, system.mlps_level, missing, _design(plan, site_of))
            )
    return gaps


def gap_message(gap: MLPSGap) -> str:
    return (
        f"system {gap.name!r} is MLPS level {gap.level}, which requires real-time off-site "
        "backup over the network and hot redundancy of important data processing "
        f"(GB/T 22239-2019, level 3); it lacks {' and '.join(gap.missing)}: its design is "
        f"{gap.why}"
    )


def mlps_findings(world: World) -> list[Finding]:
    """Each gap as a finding on the system's ``mlps_level`` field."""
    return [  # shown by name: a generated population has no item of its own in the file
        Finding(
            ("systems", gap.system, "mlps_level"),
            gap_message(gap),
            f"systems[{gap.name}].mlps_level",
        )
        for gap in mlps_gaps(world)
    ]


class MLPSModule(Module):
    """MLPS level-3 checks: a warning, an error under ``meta.mlps_checks: strict``, and the
    flagged systems in the run's summary (always on; nothing to run)."""

    name = "mlps"

    @classmethod
    def enabled(cls, scenario: Any) -> bool:
        return bool(scenario.meta.mlps_checks != "ignore")

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        if world.scenario.meta.mlps_checks != "strict":
            return []
        return mlps_findings(world)

    def summary(self, results: Results) -> Mapping[str, Any]:
        world = self.ctx.world
        gaps = mlps_gaps(world)
        level3 = sum(1 for s in world.scenario.systems if s.mlps_level >= CHECKED_LEVEL)
        return {
            "mlps": {
                "checks": world.scenario.meta.mlps_checks,
                "level3_systems": level3,
                "flagged": len(gaps),
                "systems": [
                    {"name": g.name, "level": g.level, "missing": list(g.missing), "design": g.why}
                    for g in gaps
                ],
            }
        }

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        mlps = summary.get("mlps")
        if not isinstance(mlps, dict) or not mlps["flagged"]:
            return []
        names = [s["name"] for s in mlps["systems"]]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        return [
            Text(
                f"MLPS level 3 (GB/T 22239-2019): {mlps['flagged']:,} of "
                f"{mlps['level3_systems']:,} systems lack real-time off-site backup or hot "
                f"redundancy: {shown} (see summary.json, mlps)",
                style="yellow",
            )
        ]
