"""The terminal view of a plan (``plan.json``): pools, centres, platform, verification."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _money(value: float, currency: str) -> str:
    return f"{value:+,.0f} {currency}" if value else "-"


def show_plan(document: dict[str, Any], console: Console) -> None:
    """Print the plan's tables."""
    currency = document.get("currency", "")
    runway_mode = document.get("mode") == "runway"
    table = Table(
        title=f"{'Runway' if runway_mode else 'Plan'}: {document['scenario']}",
        title_justify="left",
    )
    for column in ("pool", "centre", "class", "now", "needed", "change", "binding constraint",
                   "runway (today's size)", "cost Δ/yr"):  # fmt: skip
        table.add_column(
            column, justify="right" if column in ("now", "needed", "change") else "left"
        )
    for pool in document["pools"]:
        if runway_mode and pool["runway"]["date"] is None and not pool["plannable"]:
            continue
        binding = pool["binding"]
        why = "-"
        if binding:
            where = binding["failure_set"] or "growth"
            why = f"{where}, {binding['resource']}, {binding['date']}"
        elif pool["plannable"] and pool["change"] == 0:
            why = "kept" if not pool["may_shrink"] else "-"
        elif not pool["plannable"]:
            why = "not planned"
        runway = pool["runway"]["date"] or "beyond the horizon"
        change = pool["change"]
        table.add_row(
            pool["pool"],
            pool["datacenter"],
            pool["host_class"],
            str(pool["hosts_now"]),
            str(pool["hosts_needed"]),
            f"{change:+d}" if change else "",
            why,
            runway,
            _money(pool["cost_delta_per_year"], currency),
            style="bold" if change else None,
        )
    console.print(table)
    totals = Table(title="Totals", title_justify="left")
    for column in ("", "hosts now", "hosts needed", "cores now", "cores needed", "kW now",
                   "kW needed", "cost/yr now", "cost/yr needed"):  # fmt: skip
        totals.add_column(column, justify="right")
    rows = [*document["datacenters"], {"datacenter": "platform", **document["platform"]}]
    for row in rows:
        totals.add_row(
            row["datacenter"],
            f"{row['hosts_now']:,}",
            f"{row['hosts_needed']:,}",
            f"{row['cores_now']:,}",
            f"{row['cores_needed']:,}",
            f"{row['kw_now']:,.1f}",
            f"{row['kw']:,.1f}",
            f"{row['cost_per_year_now']:,.0f}",
            f"{row['cost_per_year']:,.0f}",
            style="bold" if row["datacenter"] == "platform" else None,
        )
    console.print(totals)
    peak = document["peak"]
    platform_runway = document["runway_platform"]["date"] or "beyond the horizon"
    console.print(
        f"peak: {peak['date']} (day {peak['day']}), {peak['tenant_vms']:,} tenant cloud hosts "
        f"alive; at today's size the platform runs out: {platform_runway}; "
        f"{document['quota_refused_vms']:,} cloud hosts refused for quota (not capacity)"
    )
    for warning in document.get("warnings", []):
        console.print(f"[yellow]warning[/]: {warning}", highlight=False)
    for item in document["unplaceable"]:
        console.print(
            f"[red]cannot be carried[/]: {item['count']} {item['kind']} of {item['system']} "
            f"({item['check']}): {item['reason']}"
        )
    down = document["down_by_design"]
    if down:
        sets = sorted({d["failure_set"] for d in down})
        console.print(
            f"down by design (no capacity helps): {len(down)} system-failures in "
            f"{', '.join(sets)}; see plan.json down_by_design"
        )
    for check in document["minimality"]:
        console.print(f"one host fewer in {check['pool']} ({check['hosts']}): {check['breaks']}")
    for verdict in document["verification"]:
        mark = "[green]passed[/]" if verdict["passed"] else "[bold red]FAILED[/]"
        console.print(
            f"verification {verdict['run']}: {mark} ({verdict['wall_s']:.0f} s, "
            f"{verdict['scenario']}): {verdict['detail']}",
            highlight=False,
        )
    timing = document["timing"]
    console.print(
        f"search {timing['search_s']:.1f} s, runway {timing['runway_s']:.1f} s, "
        f"verification {timing['verification_s']:.1f} s"
    )
