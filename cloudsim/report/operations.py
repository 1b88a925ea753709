"""The report's parts for what operators do to a running platform: maintenance drains
(a section of their own), resizes (a paragraph of the platform section), periodic backups
and the MLPS level-3 checks (paragraphs and a table of the faults and DR section).

Each part is drawn only from what the run wrote (``summary.json`` blocks ``maintenance``,
``resizes``, ``dr.backups``, ``mlps`` and the ``maintenance*`` tables), never empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cloudsim.report.page import Section, esc, num, summary_value, table
from cloudsim.units import HOUR

#: Systems listed in the per-system table of a drain (the most VM downtime first).
DRAIN_SYSTEMS = 20
#: Systems flagged by the MLPS checks listed by name.
MLPS_ROWS = 40


def _hours(summary: Mapping[str, Any], path: str) -> str:
    """A duration in seconds (the summary's figure) with its hours beside it."""
    value = summary_value(summary, path)
    shown = num(summary, path, unit="s")
    return f"{shown} ({value / HOUR:,.2f} h)" if isinstance(value, int | float) else shown


def _reasons(text: Any) -> str:
    """``{"no_room": 3}`` (a table's JSON column or a summary mapping) as ``no_room 3``."""
    if isinstance(text, str):
        try:
            text = json.loads(text) if text else {}
        except ValueError:
            return str(text)
    if not isinstance(text, Mapping) or not text:
        return ""
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in text.items())


def maintenance_section(summary: Mapping[str, Any], systems: pd.DataFrame | None) -> Section:
    """Per drain: how long, what moved and how, what could not move and why, the downtime
    it cost; then the systems it touched most."""
    sec = Section("maintenance", "Maintenance drains")
    drains = summary.get("maintenance")
    drains = drains if isinstance(drains, Mapping) else {}
    for name in drains:
        p = f"maintenance.{name}"
        down = summary_value(summary, f"{p}.systems_down_names") or []
        done = bool(summary_value(summary, f"{p}.complete"))
        sec.h3(f"Drain {name}")
        target = esc(summary_value(summary, f"{p}.target"))
        sec.add(
            f"<p>Target {target}: {num(summary, f'{p}.hosts_done')} of "
            f"{num(summary, f'{p}.hosts')} hosts maintained"
            + (
                f", {num(summary, f'{p}.hosts_not_emptied')} not emptied (skipped or still "
                "holding VMs that could not move)"
                if summary_value(summary, f"{p}.hosts_not_emptied")
                else ""
            )
            + f" {'(complete)' if done else '(not complete at the end of the run)'} in "
            f"{_hours(summary, f'{p}.duration_s')}, emptied after "
            f"{_hours(summary, f'{p}.evacuated_s')}. Of {num(summary, f'{p}.vms')} cloud "
            f"hosts, {num(summary, f'{p}.moved_live')} moved live "
            f"({num(summary, f'{p}.moved_forced')} forced to stop copying), "
            f"{num(summary, f'{p}.moved_cold')} restarted elsewhere, "
            f"{num(summary, f'{p}.moved_across_centres')} to another centre, "
            f"{num(summary, f'{p}.not_moved')} not moved"
            + (
                f" ({esc(_reasons(summary_value(summary, f'{p}.not_moved_reasons')))})"
                if summary_value(summary, f"{p}.not_moved")
                else ""
            )
            + f"; {num(summary, f'{p}.bytes_moved_gb', unit='GB')} copied; live-migration "
            f"pause max {num(summary, f'{p}.max_pause_s', unit='s')}, mean "
            f"{num(summary, f'{p}.mean_pause_s', unit='s')}; cloud-host downtime "
            f"{_hours(summary, f'{p}.vm_downtime_s')}; "
            f"{num(summary, f'{p}.systems_down')} business systems down because of it"
            + (f" ({esc(', '.join(str(d) for d in down))})" if down else "")
            + ".</p>"
        )
        if systems is None or systems.empty or "drain" not in systems:
            continue
        mine = systems[systems["drain"] == name]
        if mine.empty:
            continue
        order = mine.sort_values(
            ["service_down_s", "vm_downtime_s", "system"], ascending=[False, False, True]
        ).head(DRAIN_SYSTEMS)
        rows = [
            [
                r["system"], r["vms"], r["moved_live"], r["moved_cold"], r["not_moved"],
                _reasons(r.get("not_moved_reasons")), r["max_pause_s"],
                r["vm_downtime_s"] / HOUR, r["service_down_s"],
            ]
            for _, r in order.iterrows()
        ]  # fmt: skip
        sec.add(
            table(
                ["system", "cloud hosts", "live", "cold", "not moved", "why not",
                 "max pause (s)", "VM downtime (h)", "service down (s)"],
                rows,
                scroll=True,
                name=f"drain-systems-{name}",
            )
        )  # fmt: skip
        sec.note(
            f"The {min(DRAIN_SYSTEMS, len(mine))} of {len(mine):,} systems with cloud hosts "
            "on the drained hosts that lost the most (service down first, then cloud-host "
            "downtime); every system in maintenance_systems.parquet, every cloud host in "
            "maintenance_vms.parquet."
        )
    return sec


def resizes_paragraph(summary: Mapping[str, Any]) -> str:
    """One paragraph on the resize requests (blank when the run had none)."""
    if not isinstance(summary.get("resizes"), Mapping):
        return ""
    refused = summary_value(summary, "resizes.refused_by_reason")
    return (
        f"<p>Resizes of running cloud hosts: {num(summary, 'resizes.requests')} asked, "
        f"{num(summary, 'resizes.accepted')} done ({num(summary, 'resizes.accepted_up')} up, "
        f"{num(summary, 'resizes.accepted_down')} down), {num(summary, 'resizes.refused')} "
        "refused" + (f" ({esc(_reasons(refused))})" if refused else "") + ".</p>"
    )


def backups_paragraph(summary: Mapping[str, Any]) -> str:
    """One paragraph on the periodic backups as copies over the links (blank: none)."""
    if not isinstance(summary_value(summary, "dr.backups"), Mapping):
        return ""
    p = "dr.backups"
    return (
        f"<p>Backups over the links: {num(summary, f'{p}.completed')} completed "
        f"({num(summary, f'{p}.full')} full), {num(summary, f'{p}.skipped')} skipped and "
        f"{num(summary, f'{p}.queued')} queued for overrunning the next slot, "
        f"{num(summary, f'{p}.abandoned')} abandoned when the source went down; copy time "
        f"mean {_hours(summary, f'{p}.mean_duration_s')}, longest "
        f"{_hours(summary, f'{p}.max_duration_s')}; oldest last copy at the end "
        f"{_hours(summary, f'{p}.worst_age_end_s')}, backlog "
        f"{num(summary, f'{p}.backlog_gb_end', unit='GB')}.</p>"
    )


def mlps_part(summary: Mapping[str, Any], sec: Section) -> None:
    """The MLPS level-3 checks: how many level-3 systems lack what, and which."""
    if not isinstance(summary.get("mlps"), Mapping):
        return
    sec.h3("MLPS level 3 (GB/T 22239-2019)")
    sec.add(
        f"<p>{num(summary, 'mlps.flagged')} of {num(summary, 'mlps.level3_systems')} systems "
        "of level 3 or above lack real-time off-site backup (replication to another site) or "
        f"hot redundancy (active-active or a warm standby); checks "
        f"{esc(summary_value(summary, 'mlps.checks'))}.</p>"
    )
    flagged = summary_value(summary, "mlps.systems") or []
    rows = [
        [f.get("name"), f.get("level"), ", ".join(f.get("missing") or []), f.get("design")]
        for f in flagged[:MLPS_ROWS]
        if isinstance(f, Mapping)
    ]
    if rows:
        sec.add(table(["system", "level", "missing", "design"], rows, scroll=True, name="mlps"))
        if len(flagged) > MLPS_ROWS:
            sec.note(f"The first {MLPS_ROWS} of {len(flagged):,}; all in summary.json (mlps).")
