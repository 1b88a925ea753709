"""The report of a capacity plan (``plan.json`` of ``cloudsim plan``): hosts now against
hosts needed per pool, the constraint that binds, the runway, the cost; per centre and for
the platform; the verification and minimality checks; systems that cannot be placed.

Rendered tolerantly: a key the file lacks is shown blank, an unknown one is ignored, a
value of an unexpected type is shown as text; nothing in the file stops the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cloudsim.report.charts import Charts, legend_outside
from cloudsim.report.page import Section, fmt, is_number, key_values, raw, table


def _list(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def plan_sections(plan: Mapping[str, Any], charts: Charts) -> list[Section]:
    runway_only = plan.get("mode") == "runway"
    sec = Section("plan", "Runway at today's size" if runway_only else "Plan")
    if runway_only:
        sec.note(
            "A runway (cloudsim plan --runway): no search was made; hosts needed equal hosts "
            "now, and the runway columns say when each pool stops sufficing."
        )
    currency = plan.get("currency")
    peak = _dict(plan.get("peak"))
    platform_runway = _dict(plan.get("runway_platform"))
    facts = [
        ["peak month", peak.get("date")],
        ["tenant cloud hosts at the peak", peak.get("tenant_vms")],
        ["platform runs out (today's size)", platform_runway.get("date") or "beyond the horizon"],
        ["cloud hosts refused for quota (not capacity)", plan.get("quota_refused_vms")],
        ["currency", currency],
    ]
    sec.add(table(["", ""], [f for f in facts if f[1] is not None], name="plan-facts"))
    for warning in plan.get("warnings") or []:
        sec.note(f"Warning: {warning}")
    question = plan.get("question")
    if isinstance(question, dict) and question:
        sec.h3("Question")
        sec.add(table(["field", "value"], key_values(question), name="question"))
    pools = _list(plan, "pools")
    sec.h3("Pools: hosts now and needed")
    if pools:
        rows = []
        for p in pools:
            binding = _dict(p.get("binding"))
            runway = _dict(p.get("runway"))
            rows.append(
                [
                    p.get("pool"),
                    p.get("datacenter"),
                    p.get("host_class"),
                    p.get("hosts_now"),
                    p.get("hosts_needed"),
                    p.get("change"),
                    binding.get("resource"),
                    binding.get("failure_set") or (binding.get("check") if binding else None),
                    binding.get("date", binding.get("month")),
                    binding.get("detail"),
                    runway.get("month"),
                    runway.get("date"),
                    p.get("cost_delta_per_year"),
                ]
            )
        sec.add(
            table(
                ["pool", "centre", "host class", "hosts now", "hosts needed", "change",
                 "binding resource", "check (failure set or growth)", "month", "detail",
                 "runway (month)", "runway (date)", "cost Δ per year"],
                rows,
                scroll=True,
                name="plan-pools",
            )
        )  # fmt: skip
        sec.note(
            "Binding: the resource and failure set that decide the hosts needed, and the month "
            "it binds. Runway: the month (and date) the current hosts stop sufficing; blank "
            "when they suffice over the horizon."
        )
        _pool_chart(pools, charts, sec)
    else:
        sec.note("The plan lists no pools.")
    centres = _list(plan, "datacenters")
    if centres:
        sec.h3("Data centres")
        sec.add(_totals_table(centres, "datacenter", "centre", "plan-datacenters"))
    platform = plan.get("platform")
    if isinstance(platform, dict) and platform:
        sec.h3("Platform")
        sec.add(_totals_table([platform], None, "", "plan-platform"))
    sections = [sec]
    checks = Section("plan-checks", "Plan checks")
    verification = [{**v, "passed": _passed(v.get("passed"))} for v in _list(plan, "verification")]
    _listing(
        checks,
        verification,
        "Verification runs",
        "plan-verification",
        {"run": "run", "result": "passed", "detail": "detail"},
        "The plan records no verification run.",
    )
    _listing(
        checks,
        _list(plan, "minimality"),
        "Minimality",
        "plan-minimality",
        {"pool": "pool", "hosts": "hosts", "what breaks with one host fewer": "breaks"},
        "The plan records no minimality check.",
    )
    _listing(
        checks,
        _list(plan, "unplaceable"),
        "Systems that cannot be placed",
        "plan-unplaceable",
        {
            "system": "system",
            "check": "check",
            "kind": "kind",
            "cloud hosts": "count",
            "reason": "reason",
        },
        "None.",
    )
    _listing(checks, _list(plan, "down_by_design"), "Down by design (no capacity helps)",
             "plan-down-by-design",
             {"failure set": "failure_set", "system": "system", "why": "why"},
             "None.", scroll=True)  # fmt: skip
    sections.append(checks)
    return sections


def _listing(
    sec: Section,
    items: list[Any],
    title: str,
    name: str,
    columns: dict[str, str],
    empty: str,
    scroll: bool = False,
) -> None:
    """A heading, then a table of ``items`` (column heading -> key) or ``empty``."""
    sec.h3(title)
    if not items:
        sec.note(empty)
        return
    rows = [[_dict(item).get(key) for key in columns.values()] for item in items]
    sec.add(table(list(columns), rows, scroll=scroll, name=name))


def _passed(value: Any) -> Any:
    if value is True:
        return raw('<span class="ok">passed</span>')
    if value is False:
        return raw('<span class="fail">failed</span>')
    return value


_TOTALS = (
    ("hosts_now", "hosts now"),
    ("hosts_needed", "hosts needed"),
    ("cores_needed", "cores needed"),
    ("kw", "kW"),
    ("cost_per_year", "cost per year"),
)


def _totals_table(rows: list[dict[str, Any]], key: str | None, label: str, name: str) -> str:
    header = ([label] if key else []) + [title for _, title in _TOTALS]
    body = [([r.get(key)] if key else []) + [r.get(k) for k, _ in _TOTALS] for r in rows]
    return table(header, body, name=name)


def _pool_chart(pools: list[dict[str, Any]], charts: Charts, sec: Section) -> None:
    names = [str(p.get("pool", "")) for p in pools]
    now = np.array([_number(p.get("hosts_now")) or 0.0 for p in pools])
    needed = np.array([_number(p.get("hosts_needed")) or 0.0 for p in pools])
    with charts.figure(
        "plan-hosts",
        "Hosts now and hosts needed per pool (plan.json pools[].hosts_now, .hosts_needed); "
        "the label is the binding resource.",
        height=0.32 * len(pools) + 1.2,
        width=9.0,
    ) as chart:
        ax = chart.fig.subplots()
        y = np.arange(len(pools))
        ax.barh(y - 0.2, now, height=0.4, label="hosts now", color="#8c959f")
        ax.barh(y + 0.2, needed, height=0.4, label="hosts needed", color="#0969da")
        for i, p in enumerate(pools):
            resource = _dict(p.get("binding")).get("resource")
            if resource:
                ax.annotate(
                    str(resource),
                    (max(now[i], needed[i]), i),
                    textcoords="offset points",
                    xytext=(4, -3),
                    fontsize=7,
                )
        ax.set_yticks(y, names)
        ax.set_ylim(len(pools) - 0.5, -0.5)
        ax.set_xlabel("hosts")
        legend_outside(ax, 2)
    sec.add(chart.html)


def plan_lead(plan: Mapping[str, Any]) -> str:
    platform = _dict(plan.get("platform"))
    parts = [f"scenario {plan.get('scenario', '?')}"]
    if platform:
        parts.append(
            f"hosts now {fmt(platform.get('hosts_now'))}, "
            f"needed {fmt(platform.get('hosts_needed'))}"
        )
    return "Capacity plan: " + "; ".join(parts) + "."
