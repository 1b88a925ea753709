"""The report of one run: platform, faults and DR, maintenance, containers, energy and cost,
evaluation.

Each section is built only from what the result folder holds: a section whose inputs are
absent (no ``dr`` block, no container tables, no energy) is left out, never drawn empty.
Numbers from ``summary.json`` carry their path (see :func:`cloudsim.report.page.num`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cloudsim.dr.levels import LEVELS
from cloudsim.report.charts import Charts, binning_note, legend_outside, log_axes, plot_series
from cloudsim.report.evaluation import evaluation_section
from cloudsim.report.operations import (
    backups_paragraph,
    maintenance_section,
    mlps_part,
    resizes_paragraph,
)
from cloudsim.report.page import (
    Section,
    esc,
    key_values,
    num,
    num_pct,
    percent,
    raw,
    summary_value,
    table,
)
from cloudsim.results import RunResult
from cloudsim.units import DAY, HOUR

#: At most this many rows in the incident timeline (the longest disruptions first).
TIMELINE_ROWS = 150
#: At most this many services with their own HPA chart.
SERVICE_CHARTS = 8
#: Systems listed as the most refused.
TOP_REFUSED = 15


class RunView:
    """A run's results as the report reads them: tables as pandas frames (read once),
    the scenario's echo, the time axis."""

    def __init__(self, result: RunResult) -> None:
        self.summary = result.summary
        self.metadata = result.metadata
        self._tables = result.tables
        self._frames: dict[str, pd.DataFrame] = {}
        scenario = self.metadata.get("scenario")
        self.scenario: dict[str, Any] = scenario if isinstance(scenario, dict) else {}
        meta = self.scenario.get("meta")
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        interval = self.meta.get("sample_interval")
        self.interval: float | None = float(interval) if isinstance(interval, int | float) else None
        start = self.meta.get("start")
        self.start = str(start) if start else None

    def has(self, name: str) -> bool:
        """Whether the run wrote table ``name`` (an empty table counts)."""
        return name in self._tables

    def optional(self, name: str) -> pd.DataFrame | None:
        """Table ``name`` as a DataFrame, None when the run has none."""
        return self.frame(name) if self.has(name) else None

    def rows(self, name: str) -> int:
        table = self._tables.get(name)
        return 0 if table is None else table.num_rows

    def frame(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a DataFrame; dictionary columns as plain strings."""
        if name not in self._frames:
            table = self._tables[name]
            columns = {}
            for column_name, column in zip(table.column_names, table.columns, strict=True):
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
                columns[column_name] = column
            self._frames[name] = pa.table(columns).to_pandas()
        return self._frames[name]

    def days(self, seconds: Any) -> Any:
        return np.asarray(seconds, dtype=np.float64) / DAY

    @property
    def time_label(self) -> str:
        if not self.start:
            return "days"
        start = self.start.removesuffix("T00:00:00").replace("T", " ")
        return f"days since {start}"

    def months(self, seconds: Any) -> np.ndarray:
        """Calendar months (``YYYY-MM``) of run times, from ``meta.start``; months counted
        from the start (``M1``, ``M2``...) when the start is unknown."""
        t = np.asarray(seconds, dtype=np.float64)
        if self.start:
            try:
                # the start's own wall clock: months as the province counts them, not UTC's
                local = datetime.fromisoformat(self.start).replace(tzinfo=None)
                origin = np.datetime64(local, "s")
            except ValueError:
                origin = None
            if origin is not None:
                stamps = origin + t.astype("timedelta64[s]")
                return np.datetime_as_string(stamps.astype("datetime64[M]"), unit="M")
        return np.array([f"M{int(x // (30 * DAY)) + 1}" for x in t])

    def pool_limits(self) -> dict[str, dict[str, Any]]:
        """Per pool: centre and overcommit ratios, from the scenario echo."""
        out: dict[str, dict[str, Any]] = {}
        for pool in self.scenario.get("pools") or []:
            if isinstance(pool, dict) and "name" in pool:
                out[str(pool["name"])] = pool
        return out


def run_sections(result: RunResult, charts: Charts) -> list[Section]:
    """Every section the run's files allow, in reading order."""
    view = RunView(result)
    sections = [platform_section(view, charts)]
    if _has_faults(view):
        sections.append(faults_section(view, charts))
    else:
        mlps_part(view.summary, sections[0])  # the checks hold without any fault too
    if isinstance(view.summary.get("maintenance"), dict):
        sections.append(maintenance_section(view.summary, view.optional("maintenance_systems")))
    if isinstance(view.summary.get("containers"), dict):
        sections.append(containers_section(view, charts))
    if isinstance(view.summary.get("energy"), dict) or view.has("energy"):
        sections.append(energy_section(view, charts))
    sections.append(evaluation_section(view.summary, view.optional))
    return sections


def _has_faults(view: RunView) -> bool:
    return (
        isinstance(view.summary.get("dr"), dict)
        or view.rows("incidents") > 0
        or bool(summary_value(view.summary, "faults.outages"))
    )


# -- platform ----------------------------------------------------------------------------------
def platform_section(view: RunView, charts: Charts) -> Section:
    s = view.summary
    sec = Section("platform", "Platform")
    sec.add(
        "<p>"
        f"{num(s, 'hosts')} hosts, {num(s, 'physical_cores')} physical cores; cloud hosts: "
        f"{num(s, 'vms_initial')} initial ({num(s, 'vms_initial_unplaced')} unplaced), "
        f"{num(s, 'vms_requested')} requested, {num(s, 'vms_placed')} placed, "
        f"{num(s, 'vms_rejected')} refused (refusal ratio {num_pct(s, 'rejection_ratio', 2)}), "
        f"{num(s, 'vms_end')} at the end.</p>",
        resizes_paragraph(s),
    )
    systems_per_dc: dict[str, int] = {}
    if view.has("systems"):
        for centres in view.frame("systems").get("datacenters", pd.Series(dtype=str)):
            for dc in str(centres).split(","):
                if dc:
                    systems_per_dc[dc] = systems_per_dc.get(dc, 0) + 1
    dcs = s.get("datacenters")
    if not isinstance(dcs, dict):
        dcs = {}
    rows = []
    for name in dcs:
        p = f"datacenters.{name}"
        rows.append(
            [
                name,
                raw(num(s, f"{p}.hosts"), True),
                raw(num(s, f"{p}.physical_cores"), True),
                raw(num(s, f"{p}.vms_end"), True),
                raw(num(s, f"{p}.vms_peak"), True),
                systems_per_dc.get(name),
                raw(num_pct(s, f"{p}.cpu_allocated_ratio"), True),
                raw(num_pct(s, f"{p}.cpu_allocated_ratio_peak"), True),
                raw(num_pct(s, f"{p}.memory_allocated_ratio"), True),
                raw(num_pct(s, f"{p}.memory_allocated_ratio_peak"), True),
                raw(num(s, f"{p}.it_power_kw_mean"), True),
                raw(num(s, f"{p}.facility_power_kw_mean"), True),
            ]
        )
    sec.h3("Per data centre")
    sec.add(
        table(
            [
                "centre", "hosts", "physical cores", "cloud hosts (end)", "cloud hosts (peak)",
                "systems", "CPU alloc.", "CPU peak", "memory alloc.", "memory peak",
                "IT kW (mean)", "facility kW (mean)",
            ],
            rows,
            name="datacenters",
        )
    )  # fmt: skip
    sec.note(
        "Allocation: share of the centre's limit (physical capacity × each pool's "
        "overcommit) held by cloud hosts, at the end and at the peak sample. Systems: "
        "business systems that may run in the centre."
    )
    if view.rows("timeseries"):
        _allocation_charts(view, charts, sec)
    if view.has("events"):
        _requests_by_month(view, charts, sec)
    if view.has("systems"):
        _top_refused(view, sec)
    return sec


def _allocation_charts(view: RunView, charts: Charts, sec: Section) -> None:
    ts = view.frame("timeseries")
    resources = [("cpu", "CPU"), ("memory", "memory")]
    centres = ts[ts["scope"] == "datacenter"]
    sec.h3("Allocation over time")
    with charts.figure(
        "allocation-datacenters",
        "Allocation per data centre: the share of the limit (physical capacity × overcommit) "
        "held by cloud hosts. Dashed: the overcommit limit (100 %).",
        height=3.2,
        time_series=True,
    ) as chart:
        axes = chart.fig.subplots(1, 2, sharey=True)
        per_bin = 1
        for ax, (r, label) in zip(axes, resources, strict=True):
            for name, rows in centres.groupby("name", sort=False):
                per_bin = plot_series(
                    ax, view.days(rows["time"]), rows[f"{r}_allocated_ratio"] * 100, str(name)
                )
            ax.axhline(100, color="#cf222e", linestyle="--", linewidth=1)
            ax.set_title(f"{label} allocated, % of limit")
            ax.set_xlabel(view.time_label)
        legend_outside(axes[-1], centres["name"].nunique())
        chart.caption += binning_note(per_bin, view.interval)
    sec.add(chart.html)
    limits = view.pool_limits()
    pools = ts[ts["scope"] == "pool"]
    by_centre: dict[str, list[str]] = {}
    for pool in pools["name"].unique():
        centre = str(limits.get(str(pool), {}).get("datacenter", "other pools"))
        by_centre.setdefault(centre, []).append(str(pool))
    for centre, names in by_centre.items():
        with charts.figure(
            f"allocation-pools-{centre}",
            f"Pools of {centre}: allocated per unit of physical capacity (vCPU per core, "
            "memory per physical memory). Dashed, in the pool's colour: its overcommit "
            "limit (scenario pools[].cpu_overcommit / memory_overcommit).",
            height=3.0,
            time_series=True,
        ) as chart:
            axes = chart.fig.subplots(1, 2)
            per_bin = 1
            for ax, (r, label) in zip(axes, resources, strict=True):
                for name in names:
                    rows = pools[pools["name"] == name]
                    over = limits.get(name, {}).get(f"{r}_overcommit")
                    factor = float(over) if isinstance(over, int | float) else 1.0
                    per_bin = plot_series(
                        ax, view.days(rows["time"]), rows[f"{r}_allocated_ratio"] * factor, name
                    )
                    colour = ax.get_lines()[-1].get_color()
                    ax.axhline(factor, color=colour, linestyle="--", linewidth=0.9, alpha=0.8)
                ax.set_title(f"{label}: allocated / physical")
                ax.set_xlabel(view.time_label)
                ax.set_ylim(bottom=0)
            legend_outside(axes[-1], len(names))
            chart.caption += binning_note(per_bin, view.interval)
        sec.add(chart.html)


def _requests_by_month(view: RunView, charts: Charts, sec: Section) -> None:
    ev = view.frame("events")
    ev = ev[ev["kind"].isin(["create", "reject"])]
    sec.h3("Requests placed and refused per month")
    if ev.empty:
        sec.note("No request for a cloud host arrived during the run.")
        return
    month = view.months(ev["time"].to_numpy())
    ev = ev.assign(month=month)
    placed = ev[ev["kind"] == "create"].groupby("month")["count"].sum()
    refused = (
        ev[ev["kind"] == "reject"].groupby(["month", "reason"])["count"].sum().unstack(fill_value=0)
    )
    months = sorted(set(placed.index) | set(refused.index))
    placed = placed.reindex(months, fill_value=0)
    refused = refused.reindex(months, fill_value=0)
    reasons = list(refused.columns)
    with charts.figure(
        "requests-by-month",
        "Cloud hosts placed per month (events of kind create) and refused per month by "
        "reason (kind reject), from events.parquet.",
        height=3.0,
    ) as chart:
        ax = chart.fig.subplots()
        x = np.arange(len(months))
        ax.bar(x - 0.2, placed.to_numpy(), width=0.4, label="placed", color="#2da44e")
        bottom = np.zeros(len(months))
        for i, reason in enumerate(reasons):
            values = refused[reason].to_numpy(dtype=np.float64)
            colour = _REFUSED_COLOURS[i % len(_REFUSED_COLOURS)]
            ax.bar(
                x + 0.2, values, width=0.4, bottom=bottom, label=f"refused: {reason}", color=colour
            )
            bottom += values
        ax.set_xticks(x, months, rotation=45 if len(months) > 8 else 0, ha="right")
        ax.set_xlim(-0.8, max(len(months), 8) - 0.2)
        ax.set_ylabel("cloud hosts")
        legend_outside(ax, 1 + len(reasons))
    sec.add(chart.html)
    rows = [
        [m, int(placed[m]), *(int(refused.loc[m, r]) for r in reasons), int(refused.loc[m].sum())]
        for m in months
    ]
    sec.add(
        table(["month", "placed", *(f"refused: {r}" for r in reasons), "refused"], rows,
              name="requests-by-month")
    )  # fmt: skip


_REFUSED_COLOURS = ("#cf222e", "#bf8700", "#8250df", "#0969da", "#57606a", "#e16f24", "#bf3989")


def _top_refused(view: RunView, sec: Section) -> None:
    systems = view.frame("systems")
    if "vms_rejected" not in systems:
        return
    top = systems[systems["vms_rejected"] > 0].sort_values(
        ["vms_rejected", "name"], ascending=[False, True]
    )
    sec.h3("Most refused systems")
    if top.empty:
        sec.note("No system had a request refused.")
        return
    shown = top.head(TOP_REFUSED)
    rows = [
        [
            r["name"], r.get("department"), r.get("zone"), r.get("arch"),
            int(r["vms_requested"]), int(r["vms_rejected"]),
            percent(r["vms_rejected"] / r["vms_requested"]) if r["vms_requested"] else "",
        ]
        for _, r in shown.iterrows()
    ]  # fmt: skip
    sec.add(
        table(["system", "department", "zone", "arch", "requested", "refused", "share refused"],
              rows, name="top-refused")
    )  # fmt: skip
    if len(top) > TOP_REFUSED:
        sec.note(f"The {TOP_REFUSED} most refused of {len(top)} systems with a refusal.")


# -- faults and DR -----------------------------------------------------------------------------
def faults_section(view: RunView, charts: Charts) -> Section:
    s = view.summary
    sec = Section("faults", "Faults and DR")
    faults = s.get("faults") if isinstance(s.get("faults"), dict) else {}
    if faults:
        sec.add(
            "<p>"
            f"{num(s, 'faults.outages')} outages, {num(s, 'faults.host_down_hours')} host-hours "
            f"down; cloud hosts stopped {num(s, 'faults.vms_stopped')}, restarted "
            f"{num(s, 'faults.vms_restarted')}, lost {num(s, 'faults.vms_lost')}.</p>"
        )
    if isinstance(s.get("availability"), dict):
        sec.add(
            "<p>Availability over the horizon: mean "
            f"{num(s, 'availability.mean', percent(s['availability'].get('mean'), 5))}, "
            f"lowest {num(s, 'availability.min', percent(s['availability'].get('min'), 5))}; "
            f"{num(s, 'availability.systems_ever_down')} systems ever down, "
            f"{num(s, 'availability.downtime_hours')} h of downtime in all (a system is up "
            "while at least "
            f"{num(s, 'availability.required_fraction', percent(s['availability'].get('required_fraction'), 0))}"  # noqa: E501
            " of its declared VMs run where it is served).</p>"
        )
    dr = s.get("dr") if isinstance(s.get("dr"), dict) else None
    if dr is not None:
        sec.add(
            "<p>DR: failover policy "
            f"{num(s, 'dr.failover_policy')}, failback {num(s, 'dr.failback_policy')}, "
            f"witness {num(s, 'dr.witness')}; {num(s, 'dr.failovers')} failovers "
            f"({num(s, 'dr.unnecessary_failovers')} unnecessary), {num(s, 'dr.fences')} fences, "
            f"{num(s, 'dr.sheds')} sheds; split-brain {num(s, 'dr.split_brain_s', unit='s')} "
            f"over {num(s, 'dr.systems_with_split_brain')} systems; data lost "
            f"{num(s, 'dr.data_lost_gb', unit='GB')}; worst RPO "
            f"{num(s, 'dr.worst_rpo_s', unit='s')}, worst RTO "
            f"{num(s, 'dr.worst_rto_s', unit='s')}; "
            f"policy failures {num(s, 'dr.policy_failures')}.</p>",
            backups_paragraph(s),
        )
    if view.rows("incidents"):
        _timeline(view, charts, sec)
    if view.has("availability"):
        _rto_rpo(view, charts, sec)
        _availability(view, charts, sec)
        _split_brain(view, sec)
        _levels(view, charts, sec)
    mlps_part(s, sec)
    return sec


_STATE_COLOURS = {
    "down": "#cf222e",
    "restoring": "#e16f24",
    "failed over": "#0969da",
    "degraded": "#8c959f",
    "split-brain": "#8250df",
}


def incident_states(row: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """The states one incident row puts its system in (see the timeline's caption)."""

    def value(key: str) -> float:
        v = row.get(key)
        return float(v) if isinstance(v, int | float) and not math.isnan(v) else math.nan

    failed, restored = value("failed_at"), value("restored_at")
    if math.isnan(restored):  # no VM was stopped (a link): over when the component is back
        restored = value("repaired_at")
    service = value("service_restored_at")
    action = str(row.get("dr_action") or "")
    out: list[tuple[str, float, float]] = []
    up_again = failed
    if not math.isnan(service) and value("system_down_s") > 0:
        out.append(("down", failed, service))
        up_again = service
        decided, completed = value("decided_at"), value("completed_at")
        if "restore" in action and not math.isnan(decided) and not math.isnan(completed):
            lo, hi = max(decided, failed), min(completed, service)
            if hi > lo:
                out.append(("restoring", lo, hi))
    if math.isnan(restored) or restored <= up_again:
        return out
    dr_served = str(row.get("restored_by") or "") == "dr" or (
        ("failover" in action or "restore" in action) and math.isnan(service)
    )
    out.append(("failed over" if dr_served else "degraded", up_again, restored))
    split = value("split_brain_s")
    if split > 0:
        since = value("completed_at")
        since = up_again if math.isnan(since) else since
        out.append(("split-brain", since, since + split))
    return out


def _timeline(view: RunView, charts: Charts, sec: Section) -> None:
    inc = view.frame("incidents")
    per_system: dict[str, list[tuple[str, float, float]]] = {}
    weight: dict[str, float] = {}
    for row in inc.to_dict("records"):
        name = str(row["system"])
        spans = incident_states(row)
        per_system.setdefault(name, []).extend(spans)
        weight[name] = weight.get(name, 0.0) + sum(
            b - a for state, a, b in spans if state in ("down", "restoring")
        )
    order = sorted(per_system, key=lambda n: (-weight[n], n))
    shown = order[:TIMELINE_ROWS]
    sec.h3("Incident timeline")
    height = min(0.1 * len(shown) + 1.2, 16.0)
    caption = (
        "One row per affected system (incidents.parquet): down from the failure until the "
        "service is restored (service_restored_at), restoring while a restore from backup "
        "runs (decided_at to completed_at), failed over from then until the stopped VMs run "
        "again at home (restored_at; without stopped VMs, until the failed component is "
        "repaired) when DR restored the service, degraded over that span when the system "
        "stayed up or came back by repair; split-brain: the incident's split_brain_s drawn "
        "from the failover's completion. Every span has an outline, so that seconds show."
    )
    if len(order) > TIMELINE_ROWS:
        caption += f" The {TIMELINE_ROWS} systems longest down of {len(order)} are shown."
    with charts.figure("incident-timeline", caption, height=height) as chart:
        ax = chart.fig.subplots()
        for state, colour in _STATE_COLOURS.items():
            bars = [
                (y, a / DAY, (b - a) / DAY)
                for y, name in enumerate(shown)
                for st, a, b in per_system[name]
                if st == state
            ]
            if bars:
                ys, lefts, widths = zip(*bars, strict=True)
                ax.barh(
                    ys, widths, left=lefts, height=0.8, color=colour, edgecolor=colour,
                    linewidth=0.8, label=state,
                )  # fmt: skip
            else:
                ax.barh([0], [0], height=0, color=colour, label=state)  # the legend's swatch
        ax.set_yticks(np.arange(len(shown)), shown, fontsize=6 if len(shown) > 40 else 8)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        ax.set_xlabel(view.time_label)
        window = timeline_window(
            [(a, b) for name in shown for _, a, b in per_system[name]],
            summary_value(view.summary, "horizon_s"),
        )
        if window is not None:
            ax.set_xlim(window[0] / DAY, window[1] / DAY)
            if window != (0.0, summary_value(view.summary, "horizon_s")):
                chart.caption += (
                    f" Zoomed to days {window[0] / DAY:.2f}-{window[1] / DAY:.2f} of the "
                    "horizon, where the incidents are."
                )
        ax.grid(axis="y", visible=False)
        legend_outside(ax, len(_STATE_COLOURS))
    sec.add(chart.html)


def timeline_window(
    spans: Sequence[tuple[float, float]], horizon: object
) -> tuple[float, float] | None:
    """The time axis of the timeline: the whole horizon, or, when every span lies within
    a fifth of it, the spans' extent with a margin of a tenth on each side."""
    if not isinstance(horizon, int | float) or horizon <= 0:
        return None
    whole = (0.0, float(horizon))
    if not spans:
        return whole
    first = min(a for a, _ in spans)
    last = max(b for _, b in spans)
    if last - first > horizon / 5:
        return whole
    margin = max((last - first) / 10, 60.0)
    return max(0.0, first - margin), min(float(horizon), last + margin)


def _rto_rpo(view: RunView, charts: Charts, sec: Section) -> None:
    av = view.frame("availability")
    if not {"worst_rto_s", "worst_rpo_s"} <= set(av.columns):
        return
    hit = av[(av.get("incidents", 0) > 0) & av["worst_rto_s"].notna()]
    sec.h3("RTO and RPO per system against the GB/T 20988 levels")
    if hit.empty:
        sec.note("No system had an incident: no RTO or RPO was observed.")
        return
    floor = 1.0
    with charts.figure(
        "rto-rpo",
        "Worst RTO and RPO per system with an incident (availability.parquet; values below "
        f"{floor:g} s drawn at {floor:g} s), coloured by the level demonstrated. Dashed: the "
        "indicative GB/T 20988 bounds as cloudsim reads them (RTO 30 min for level 6, 2 d for "
        "levels 4-5; RPO 0 for level 6, 30 min for 5, 1 d for 3-4, 7 d for 1-2).",
        height=4.0,
        width=8.0,
    ) as chart:
        ax = chart.fig.subplots()
        levels = hit.get("gbt20988_level", pd.Series(0, index=hit.index)).fillna(0).astype(int)
        cmap = {6: "#1a7f37", 5: "#2da44e", 4: "#0969da", 3: "#bf8700", 2: "#d4a72c", 1: "#cf222e"}
        for level in sorted(levels.unique(), reverse=True):
            sel = levels == level
            ax.scatter(
                np.maximum(hit["worst_rto_s"][sel], floor),
                np.maximum(hit["worst_rpo_s"][sel], floor),
                s=14,
                color=cmap.get(int(level), "#57606a"),
                label=f"level {level}" if level else "no level",
            )
        log_axes(ax, x=True, y=True)
        rto_bounds = sorted({lv.max_rto_s for lv in LEVELS if math.isfinite(lv.max_rto_s)})
        rpo_bounds = sorted({lv.max_rpo_s for lv in LEVELS if lv.max_rpo_s > 0})
        for x in rto_bounds:
            ax.axvline(x, color="#57606a", linestyle="--", linewidth=0.8)
        for y in rpo_bounds:
            ax.axhline(y, color="#57606a", linestyle="--", linewidth=0.8)
        ax.set_xlabel("worst RTO (s)")
        ax.set_ylabel("worst RPO (s)")
        legend_outside(ax, levels.nunique())
    sec.add(chart.html)


def _availability(view: RunView, charts: Charts, sec: Section) -> None:
    av = view.frame("availability")
    if "availability" not in av:
        return
    ranked = av.sort_values(["availability", "system"]).reset_index(drop=True)
    required = summary_value(view.summary, "availability.required_fraction")
    sec.h3("Availability per system")
    lowest = ", ".join(
        f"{r['system']} {percent(r['availability'], 3)}" for _, r in ranked.head(5).iterrows()
    )
    with charts.figure(
        "availability",
        "Availability of every system over the horizon, sorted (availability.parquet); the "
        f"lowest: {lowest}. A system is up while the required share of its declared VMs runs "
        f"where it is served ({percent(required, 0) or 'see summary.json'}).",
        height=3.0,
    ) as chart:
        ax = chart.fig.subplots()
        x = np.arange(len(ranked))
        ax.plot(x, ranked["availability"] * 100, marker=".", markersize=3, linewidth=0.8)
        ax.set_xlabel("systems, lowest availability first")
        ax.set_ylabel("availability (%)")
    sec.add(chart.html)


def _split_brain(view: RunView, sec: Section) -> None:
    av = view.frame("availability")
    columns = [c for c in ("split_brain_s", "unnecessary_failovers") if c in av]
    if not columns:
        return
    mask = np.zeros(len(av), dtype=bool)
    for c in columns:
        mask |= av[c].fillna(0).to_numpy() > 0
    sec.h3("Split-brain and unnecessary failovers")
    found = av[mask].sort_values("system")
    if found.empty:
        sec.note("No system was writable on two sides at once, and no failover was unnecessary.")
        return
    rows = [
        [r["system"], r.get("mode"), r.get("split_brain_s"), r.get("unnecessary_failovers"),
         r.get("failovers"), r.get("data_lost_gb")]
        for _, r in found.iterrows()
    ]  # fmt: skip
    sec.add(
        table(["system", "mode", "split-brain (s)", "unnecessary failovers", "failovers",
               "data lost (GB)"], rows, scroll=True, name="split-brain")
    )  # fmt: skip


def _levels(view: RunView, charts: Charts, sec: Section) -> None:
    av = view.frame("availability")
    if "gbt20988_level" not in av:
        return
    s = view.summary
    sec.h3("DR level each system demonstrably meets")
    counts = summary_value(s, "dr.gbt20988_levels")
    if isinstance(counts, dict) and counts:
        cells = ", ".join(
            f"level {esc(k)}: {num(s, f'dr.gbt20988_levels.{k}')}"
            for k in sorted(counts, key=lambda k: -int(k) if str(k).isdigit() else 0)
        )
        sec.add(f"<p>Systems per GB/T 20988 level: {cells}.</p>")
    ranked = av.sort_values(["gbt20988_level", "system"], ascending=[True, True])
    rows = [
        [
            r["system"], r.get("priority"), r.get("mode"), _int(r.get("gbt20988_level")),
            r.get("level_basis"), r.get("worst_rto_s"), r.get("worst_rpo_s"),
            percent(r.get("availability"), 4),
        ]
        for _, r in ranked.iterrows()
    ]  # fmt: skip
    sec.add(
        table(["system", "priority", "mode", "level", "why", "worst RTO (s)", "worst RPO (s)",
               "availability"], rows, scroll=True, name="dr-levels")
    )  # fmt: skip
    sec.note(
        "The level a system's DR design allows, lowered to the highest whose indicative "
        "RTO/RPO bounds its observed worst RTO and RPO meet (cloudsim.dr.levels)."
    )


def _int(value: Any) -> int | None:
    if isinstance(value, int | float | np.integer | np.floating) and not math.isnan(value):
        return int(value)
    return None


# -- containers --------------------------------------------------------------------------------
def containers_section(view: RunView, charts: Charts) -> Section:
    s = view.summary
    c = s["containers"]
    sec = Section("containers", "Containers")
    clusters = c.get("clusters") if isinstance(c.get("clusters"), dict) else {}
    keys = [
        ("nodes_start", "nodes (start)"), ("nodes_end", "nodes (end)"),
        ("nodes_peak", "nodes (peak)"), ("cpu_allocated_ratio_peak", "CPU alloc. peak"),
        ("pods_created", "pods created"), ("pods_pending_end", "pending (end)"),
        ("pods_never_scheduled", "never scheduled"), ("wait_s_mean", "wait mean (s)"),
        ("wait_s_p95", "wait p95 (s)"), ("pods_evicted", "evicted"),
        ("pods_preempted", "preempted"), ("cpu_stranded_ratio_mean", "CPU stranded (mean)"),
        ("gpu_fragmentation_ratio_mean", "GPU fragmentation (mean)"),
    ]  # fmt: skip
    rows = []
    for name in clusters:
        row: list[object] = [name]
        for key, _ in keys:
            path = f"containers.clusters.{name}.{key}"
            ratio = "ratio" in key
            row.append(raw(num_pct(s, path) if ratio else num(s, path), True))
        rows.append(row)
    sec.add(table(["cluster", *(label for _, label in keys)], rows, name="clusters"))
    sec.add(
        "<p>HPA: "
        f"{num(s, 'containers.hpa.hpas')} autoscalers, {num(s, 'containers.hpa.rescales')} "
        "rescales; cluster autoscaler: "
        f"+{num(s, 'containers.autoscaler.nodes_added')} / "
        f"-{num(s, 'containers.autoscaler.nodes_removed')} nodes, "
        f"{num(s, 'containers.autoscaler.failed_orders')} failed orders.</p>"
    )
    services = c.get("services") if isinstance(c.get("services"), dict) else {}
    if services:
        rows = []
        for name in services:
            p = f"containers.services.{name}"
            rows.append(
                [
                    name,
                    raw(
                        num(s, f"{p}.availability", percent(services[name].get("availability"), 5)),
                        True,
                    ),
                    raw(
                        num(
                            s, f"{p}.demand_served", percent(services[name].get("demand_served"), 4)
                        ),
                        True,
                    ),
                    raw(num(s, f"{p}.required_endpoints"), True),
                    raw(num(s, f"{p}.mean_ready"), True),
                    raw(num(s, f"{p}.min_ready"), True),
                    raw(num(s, f"{p}.short_s"), True),
                    raw(num(s, f"{p}.overload_s"), True),
                    raw(num(s, f"{p}.outages"), True),
                ]
            )
        sec.add(
            table(["service", "availability", "demand served", "required endpoints",
                   "ready (mean)", "ready (min)", "short of endpoints (s)", "overloaded (s)",
                   "outages"], rows, name="services")
        )  # fmt: skip
    if view.rows("cluster_timeseries"):
        _cluster_charts(view, charts, sec)
    if view.rows("pods"):
        _waits(view, charts, sec)
    if view.rows("services"):
        _hpa_charts(view, charts, sec)
    return sec


def _cluster_charts(view: RunView, charts: Charts, sec: Section) -> None:
    ct = view.frame("cluster_timeseries")
    sec.h3("Nodes and pods over time")
    with charts.figure(
        "cluster-nodes-pods",
        "Per cluster (cluster_timeseries.parquet): Ready nodes, pods bound and pods "
        "pending at each sample.",
        height=3.0,
        time_series=True,
    ) as chart:
        axes = chart.fig.subplots(1, 3)
        per_bin = 1
        for ax, column, title in zip(
            axes,
            ("nodes_ready", "pods_bound", "pods_pending"),
            ("Ready nodes", "pods bound", "pods pending"),
            strict=True,
        ):
            for name, rows in ct.groupby("cluster", sort=False):
                per_bin = plot_series(ax, view.days(rows["time"]), rows[column], str(name))
            ax.set_title(title)
            ax.set_xlabel(view.time_label)
            ax.set_ylim(bottom=0)
        legend_outside(axes[-1], ct["cluster"].nunique())
        chart.caption += binning_note(per_bin, view.interval)
    sec.add(chart.html)
    sec.h3("Fragmentation")
    with charts.figure(
        "cluster-fragmentation",
        "Per cluster: CPU stranded (free CPU on nodes that cannot take a pod for lack of "
        "memory or GPU) and GPU fragmentation (free GPU share unusable by the pods "
        "waiting), as ratios of the free capacity (cluster_timeseries.parquet).",
        height=2.8,
        time_series=True,
    ) as chart:
        axes = chart.fig.subplots(1, 2, sharey=True)
        per_bin = 1
        for ax, column, title in zip(
            axes,
            ("cpu_stranded_ratio", "gpu_fragmentation_ratio"),
            ("CPU stranded (%)", "GPU fragmentation (%)"),
            strict=True,
        ):
            for name, rows in ct.groupby("cluster", sort=False):
                if column in rows:
                    per_bin = plot_series(
                        ax, view.days(rows["time"]), rows[column].fillna(0) * 100, str(name)
                    )
            ax.set_title(title)
            ax.set_xlabel(view.time_label)
        legend_outside(axes[-1], ct["cluster"].nunique())
        chart.caption += binning_note(per_bin, view.interval)
    sec.add(chart.html)


def _waits(view: RunView, charts: Charts, sec: Section) -> None:
    pods = view.frame("pods")
    if "wait_s" not in pods:
        return
    waits = pods["wait_s"].dropna().to_numpy(dtype=np.float64)
    sec.h3("Pending pods and waits")
    if waits.size == 0:
        sec.note("No pod was ever bound.")
        return
    immediate = int((waits <= 0).sum())
    with charts.figure(
        "pod-waits",
        f"Wait from creation to binding of the {waits.size:,} pods bound (pods.parquet): "
        f"{immediate:,} were bound at once (not drawn); the others by wait. "
        f"{int(pods['wait_s'].isna().sum()):,} pods were never bound.",
        height=2.6,
        width=8.0,
    ) as chart:
        ax = chart.fig.subplots()
        positive = waits[waits > 0]
        if positive.size and positive.max() >= 10 * positive.min():
            edges = np.logspace(np.log10(positive.min()), np.log10(positive.max() * 1.01), 30)
            ax.hist(positive, bins=edges.tolist(), color="#0969da")
            log_axes(ax)
        elif positive.size:  # within a factor of ten: linear bins read better
            ax.hist(positive, bins=20, color="#0969da")
        ax.set_xlabel("wait (s)")
        ax.set_ylabel("pods")
    sec.add(chart.html)


def _hpa_charts(view: RunView, charts: Charts, sec: Section) -> None:
    sv = view.frame("services")
    names = list(dict.fromkeys(str(n) for n in sv["service"]))
    sec.h3("Replicas against demand per service")
    for name in names[:SERVICE_CHARTS]:
        rows = sv[sv["service"] == name]
        with charts.figure(
            f"hpa-{name}",
            f"Service {name} (services.parquet): replicas asked (HPA) and ready endpoints "
            "(left), CPU demand and the CPU capacity of its ready pods in cores (right).",
            height=2.6,
            time_series=True,
        ) as chart:
            ax = chart.fig.subplots()
            t = view.days(rows["time"])
            per_bin = plot_series(ax, t, rows["replicas"], "replicas", color="#0969da")
            plot_series(ax, t, rows["ready"], "ready endpoints", color="#1a7f37")
            ax.set_ylabel("pods")
            ax.set_xlabel(view.time_label)
            ax.set_ylim(bottom=0)
            right = ax.twinx()
            right.grid(False)
            plot_series(right, t, rows["demand_cpu_milli"] / 1000, "CPU demand", color="#cf222e")
            plot_series(
                right, t, rows["capacity_cpu_milli"] / 1000, "CPU capacity", color="#bf8700"
            )
            right.set_ylabel("cores")
            right.set_ylim(bottom=0)
            handles = ax.get_legend_handles_labels()
            extra = right.get_legend_handles_labels()
            right.legend(
                handles[0] + extra[0],
                handles[1] + extra[1],
                loc="upper left",
                bbox_to_anchor=(1.08, 1.0),
            )
            chart.caption += binning_note(per_bin, view.interval)
        sec.add(chart.html)
    if len(names) > SERVICE_CHARTS:
        sec.note(f"The first {SERVICE_CHARTS} of {len(names)} services are drawn.")


# -- energy and cost ---------------------------------------------------------------------------
#: Columns of an energy table read as power, most telling first.
_POWER_COLUMNS = ("facility_kw", "facility_power_kw", "it_kw", "it_power_kw", "power_kw", "kw")


def energy_section(view: RunView, charts: Charts) -> Section:
    sec = Section("energy", "Energy and cost")
    block = view.summary.get("energy")
    if isinstance(block, dict):
        rows = [
            [key, raw(num(view.summary, f"energy.{key}"), True)]
            for key, value in key_values(block)
            if not isinstance(value, str) or value
        ]
        sec.add(table(["summary.json energy", "value"], rows, scroll=True, name="energy"))
    if view.rows("energy"):
        energy = view.frame("energy")
        power = power_column(energy)
        if {"time", "datacenter"} <= set(energy.columns) and power is not None:
            per_dc = power_per_centre(energy, power)
            with charts.figure(
                "energy-power",
                f"Power per data centre over time: {power} of energy.parquet summed over the "
                "centre's rows at each time.",
                height=3.0,
                time_series=True,
            ) as chart:
                ax = chart.fig.subplots()
                per_bin = 1
                for name, rows in per_dc.groupby("datacenter", sort=False):
                    per_bin = plot_series(ax, view.days(rows["time"]), rows[power], str(name))
                ax.set_ylabel("kW")
                ax.set_xlabel(view.time_label)
                ax.set_ylim(bottom=0)
                legend_outside(ax, per_dc["datacenter"].nunique())
                chart.caption += binning_note(per_bin, view.interval)
            sec.add(chart.html)
        else:
            sec.note(
                "energy.parquet has no time, datacenter and power (kW) columns to draw: "
                f"columns {', '.join(map(str, energy.columns))}."
            )
    return sec


def power_per_centre(energy: pd.DataFrame, power: str) -> pd.DataFrame:
    """Column ``power`` summed over each centre's rows (its pools) at each time."""
    return energy.groupby(["datacenter", "time"], sort=True)[power].sum().reset_index()


def power_column(frame: pd.DataFrame) -> str | None:
    """The power column of an energy table (facility before IT; else any ``*kw*`` that
    is not energy)."""
    columns = [str(c) for c in frame.columns]
    for name in _POWER_COLUMNS:
        if name in columns:
            return name
    candidates = [c for c in columns if "kw" in c.lower() and "kwh" not in c.lower()]
    return candidates[0] if candidates else None


def run_lead(summary: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    """The line under the title: scenario, seed, horizon, modules, cloudsim version."""
    horizon = summary.get("horizon_s")
    span = f"{horizon / DAY:g} days" if isinstance(horizon, int | float) else "?"
    if isinstance(horizon, int | float) and horizon < DAY:
        span = f"{horizon / HOUR:g} h"
    modules = metadata.get("modules")
    versions = metadata.get("versions")
    version = versions.get("cloudsim") if isinstance(versions, dict) else None
    parts = [
        f"seed {summary.get('seed')}",
        f"horizon {span}",
        f"modules {', '.join(map(str, modules))}" if isinstance(modules, list) else "",
        f"cloudsim {version}" if version else "",
    ]
    return "Run report: " + "; ".join(p for p in parts if p) + "."


def run_title(summary: Mapping[str, Any]) -> str:
    return f"{summary.get('scenario', 'run')}"
