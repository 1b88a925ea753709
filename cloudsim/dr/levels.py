"""GB/T 20988 disaster-recovery capability levels a system demonstrably meets.

Two parts, both from DOMAIN.md's table: the **infrastructure** a system has sets a ceiling
(level 6 needs synchronous, zero-loss replication to an equal-capacity cluster at another
site — the other side of an active-active pair across sites, or a full-size warm standby
there — and an automatic switch; a same-city pair at one site is not remote; 5 real-time
asynchronous replication to a remote centre with standby compute and an automatic switch;
4 standby compute ready at all times (active-active or a warm standby) with data sent
electronically (replication, or backups at least daily); 3 backups at least daily to
another site with standby equipment to restore on; 2 backups at least weekly and a standby
site; 1 backups at least weekly kept off site), and the **observed** worst RTO and RPO of
the run must fall within the level's indicative bounds (the RTO/RPO column of the table,
read as upper bounds: "minutes" as 30 minutes, "0" as no data lost at all).
A system with no incident keeps its infrastructure level ("not contradicted").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cloudsim.dr.plan import SystemPlan
from cloudsim.units import DAY, MINUTE

AUTOMATIC_POLICIES_EXCLUDED = ("manual",)


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    max_rto_s: float
    max_rpo_s: float


LEVELS: tuple[Level, ...] = (
    Level(6, "zero data loss, remote cluster", 30 * MINUTE, 0.0),
    Level(5, "real-time transfer, full equipment", 2 * DAY, 30 * MINUTE),
    Level(4, "electronic transfer, full equipment", 2 * DAY, DAY),
    Level(3, "electronic transfer, partial equipment", math.inf, DAY),
    Level(2, "standby site", math.inf, 7 * DAY),
    Level(1, "basic support", math.inf, 7 * DAY),
)


def infrastructure_level(
    plan: SystemPlan, site_of: list[str], failover_policy: str
) -> tuple[int, str]:
    """The highest level a system's design allows, and why."""
    automatic = failover_policy not in AUTOMATIC_POLICIES_EXCLUDED
    home_sites = {site_of[c] for c in plan.home}
    remote_standby = plan.standby_dc >= 0 and site_of[plan.standby_dc] not in home_sites
    remote_async = plan.async_to >= 0 and site_of[plan.async_to] not in home_sites
    backup = plan.backup
    off_site_backup = backup is not None and site_of[plan.backup_to] not in home_sites
    if automatic and plan.sync and _equal_remote_cluster(plan, site_of):
        return 6, "synchronous replication to an equal-capacity remote cluster, automatic switch"
    if remote_async and automatic and (plan.mode == "active-active" or remote_standby):
        return 5, "real-time asynchronous replication to a remote standby, automatic switch"
    ready = plan.mode == "active-active" or (
        plan.standby is not None and plan.standby.kind == "warm"
    )
    electronic = remote_async or (off_site_backup and backup is not None and backup.interval <= DAY)
    if ready and electronic:
        return 4, "standby equipment ready, data sent electronically"
    restore_site = plan.restore_to >= 0 and site_of[plan.restore_to] not in home_sites
    if (
        off_site_backup
        and backup is not None
        and backup.interval <= DAY
        and (remote_standby or restore_site)
    ):
        return 3, "daily off-site backups, partial standby equipment"
    if off_site_backup and backup is not None and backup.interval <= 7 * DAY:
        if remote_standby or restore_site:
            return 2, "weekly off-site backups, a standby site"
        return 1, "weekly off-site backups"
    return 0, "no off-site copy of the data"


def _equal_remote_cluster(plan: SystemPlan, site_of: list[str]) -> bool:
    """Whether the system replicates synchronously (zero loss) to a cluster at another
    site that can carry all of it: the other side of an active-active pair at another
    site, or a warm standby of full size at another site."""
    if plan.mode == "active-active" and len(plan.home) == 2:
        return site_of[plan.home[0]] != site_of[plan.home[1]]
    standby = plan.standby
    return (
        standby is not None
        and plan.standby_dc >= 0
        and standby.kind == "warm"
        and standby.size >= 1.0
        and site_of[plan.standby_dc] not in {site_of[c] for c in plan.home}
    )


def demonstrated_level(
    ceiling: int, worst_rto_s: float, worst_rpo_s: float, incidents: int
) -> tuple[int, str]:
    """The highest level up to ``ceiling`` whose bounds the observed worst RTO/RPO meet."""
    if ceiling == 0:
        return 0, "no level: no off-site copy of the data"
    if incidents == 0:
        return ceiling, "infrastructure only (no incident observed)"
    for level in LEVELS:
        if level.level > ceiling:
            continue
        if worst_rto_s <= level.max_rto_s and worst_rpo_s <= level.max_rpo_s:
            return level.level, (
                f"observed RTO {worst_rto_s:.0f} s, RPO {worst_rpo_s:.0f} s within level "
                f"{level.level} ({level.name})"
            )
    return 0, f"observed RTO {worst_rto_s:.0f} s / RPO {worst_rpo_s:.0f} s beyond level 1"
