"""``cloudsim plan``: search, runway, verification, and the plan folder.

The folder holds ``plan.json``, ``planned.yaml`` (the input ``extends``-ed with the planned
host counts, the plan's horizon and no failures: the growth verification run) and
``verify/<failure set>.yaml`` (``planned.yaml`` with that set's centres failing at the peak):
``cloudsim run`` on any of them reproduces its verification run. It is written as a whole
(built beside ``--out`` and swapped in), so an interrupted plan leaves the previous one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import cloudsim
from cloudsim.errors import PlanError
from cloudsim.planning.outcome import plan_document, runway
from cloudsim.planning.search import Planner, with_growth
from cloudsim.planning.verify import FAILURE_HOUR, RunSpec, Verdict, verify
from cloudsim.results import replace_folder, write_json
from cloudsim.scenario.loader import parse_override
from cloudsim.scenario.plan import PlanQuestion
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY, YEAR

#: What a plan folder holds (anything else in ``--out`` is refused, not deleted).
PLAN_FILES = ("plan.json", "planned.yaml", "verify", "report.html")
_QUIET = ("host", "rack", "power_domain", "datacenter", "site", "link", "witness")


@dataclass(frozen=True)
class PlanRun:
    """What ``cloudsim plan`` produced."""

    document: dict[str, Any]
    verified: bool | None  # None: not verified


def _dump(path: Path, header: str, data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")


def carried(overrides: list[str], scenario: Scenario) -> dict[str, Any]:
    """The ``--set`` overrides as a mapping ``extends`` merges as ``--set`` applied them
    (list items by name), so ``planned.yaml`` is the scenario the plan was made for.
    PlanError for an override of a list item without a name (it cannot be carried)."""
    reference: Any = scenario.dump()
    overlay: dict[str, Any] = {}
    for text in overrides:
        loc, value = parse_override(text)
        shown = text.split("=", 1)[0].strip()
        ref: Any = reference
        holder: Any = overlay
        for depth, key in enumerate(loc):
            last = depth == len(loc) - 1
            if isinstance(ref, list):
                if isinstance(key, int):
                    item = ref[key] if 0 <= key < len(ref) else None
                else:
                    item = next(
                        (x for x in ref if isinstance(x, dict) and x.get("name") == key), None
                    )
                name = item.get("name") if isinstance(item, dict) else None
                if not isinstance(name, str) or last:
                    raise PlanError(
                        f"--set {shown}: cannot be carried into planned.yaml (a whole list "
                        "item, or one without a name); set it in the scenario file instead"
                    )
                entry = next((x for x in holder if x.get("name") == name), None)
                if entry is None:
                    entry = {"name": name}
                    holder.append(entry)
                holder, ref = entry, item
                continue
            if last:
                holder[key] = value
                break
            following = ref.get(key) if isinstance(ref, dict) else None
            holder = holder.setdefault(key, [] if isinstance(following, list) else {})
            ref = following
    return overlay


def _named(items: list[Any]) -> bool:
    return all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in items)


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base`` (mappings by key, lists of named items by name)."""
    out = dict(base)
    for key, value in extra.items():
        have = out.get(key)
        if isinstance(have, dict) and isinstance(value, dict):
            out[key] = _merged(have, value)
        elif isinstance(have, list) and isinstance(value, list) and _named(have) and _named(value):
            items = {x["name"]: dict(x) for x in have}
            for item in value:
                items[item["name"]] = _merged(items.get(item["name"], {}), item)
            out[key] = list(items.values())
        else:
            out[key] = value
    return out


def planned_files(
    planner: Planner,
    counts: tuple[int, ...],
    source: Path,
    folder: Path,
    out: Path,
    overlay: dict[str, Any],
) -> dict[str, Path]:
    """Write ``planned.yaml`` and ``verify/*.yaml`` into ``folder`` (which becomes ``out``);
    their paths by check name."""
    scenario = planner.scenario
    question = planner.question
    relative = os.path.relpath(source.resolve(), out.resolve())
    planned = with_growth(scenario, question, dict(zip(planner.names, counts, strict=True)))
    changed = [
        {
            "name": new.name,
            "hosts": [g.model_dump(mode="json") for g in new.hosts],
        }
        for old, new in zip(scenario.pools, planned.pools, strict=True)
        if old.hosts != new.hosts
    ]
    horizon = round(question.years * YEAR)
    body: dict[str, Any] = _merged(
        {"extends": relative},
        _merged(overlay, {"meta": {"seed": planner.seed}}),
    )
    planned_part: dict[str, Any] = {
        "meta": {"name": f"{scenario.meta.name}-planned", "horizon": f"{horizon}s"},
    }
    if scenario.faults is not None:
        planned_part["faults"] = {**dict.fromkeys(_QUIET), "scripted": [], "traces": []}
    if changed:
        planned_part["pools"] = changed
    body = _merged(body, planned_part)
    header = (
        f"# Written by `cloudsim plan` from {source.name}: the planned host counts over "
        f"{question.years:g} years without failures\n# (the growth verification run; "
        "`cloudsim run` reproduces it).\n"
    )
    _dump(folder / "planned.yaml", header, body)
    paths = {"growth": folder / "planned.yaml"}
    (folder / "verify").mkdir()
    at_h = planner.peak.day * 24 + FAILURE_HOUR / 3600
    duration = round(question.failure_duration)
    for check in planner.checks[1:]:
        centres = sorted(planner.world.datacenters[c] for c in check.failed)
        h = round(at_h * 3600 + duration + DAY)
        failure = {
            "extends": "../planned.yaml",
            "meta": {"name": f"{scenario.meta.name}-planned-{check.name}", "horizon": f"{h}s"},
            "faults": {
                "scripted": [
                    {
                        "name": f"plan-{dc}",
                        "target": dc,
                        "at": f"{at_h:g}h",
                        "duration": f"{duration}s",
                    }
                    for dc in centres
                ]
            },
        }
        header = (
            f"# Written by `cloudsim plan`: the planned scenario with {', '.join(centres)} "
            f"failing at the peak (day {planner.peak.day}, 10:00) for {duration} s.\n"
        )
        path = folder / "verify" / f"{check.name}.yaml"
        _dump(path, header, failure)
        paths[check.name] = path
    return paths


def make_plan(
    source: Path,
    overrides: list[str],
    out: Path,
    *,
    runway_only: bool = False,
    run_verification: bool = True,
    workers: int = 1,
    seed: int | None = None,
    say: Callable[[str], None] | None = None,
    verdict_done: Callable[[Verdict], None] | None = None,
    load: Callable[[Path, list[str]], Scenario] | None = None,
) -> PlanRun:
    """The whole ``cloudsim plan`` (see the module docstring); raises ScenarioError for a
    bad scenario or plan section, PlanError when no plan can be found."""
    loader = load or (
        lambda path, sets: cloudsim.load_scenario(path, sets, check_feasibility=False)
    )
    scenario = loader(source, overrides)
    overlay = carried(overrides, scenario)  # before any work: refused overrides say so now
    question = scenario.plan or PlanQuestion()
    if scenario.plan is None:
        scenario = scenario.model_copy(update={"plan": question})
    started = time.perf_counter()
    planner = Planner(scenario, question, seed, progress=say)
    if not runway_only and not planner.names:
        raise PlanError(
            "no pool the plan may change: plan.pools matches no general, dedicated or standby pool"
        )
    counts = planner.today() if runway_only else planner.solve()
    search_s = time.perf_counter() - started
    started = time.perf_counter()
    now_runway = runway(planner, planner.today(), say)
    runway_s = time.perf_counter() - started
    result: dict[str, Any] = {}

    def fill(folder: Path) -> None:
        verdicts: list[dict[str, Any]] = []
        verify_s = 0.0
        if not runway_only:
            paths = planned_files(planner, counts, source, folder, out, overlay)
            if run_verification:
                started = time.perf_counter()
                specs = []
                for check in planner.checks:
                    spec_scenario = loader(paths[check.name], [])
                    excused: frozenset[str] = frozenset()
                    failed_at = None
                    if check.failed:
                        normal = planner.normal(counts, planner.peak)
                        after = planner.packer.failure(normal, check.failed)
                        excused = frozenset(
                            planner.world.systems[d.system] for d in after.by_design
                        )
                        failed_at = planner.peak.day * DAY + FAILURE_HOUR
                    specs.append(
                        RunSpec(
                            check.name,
                            spec_scenario,
                            planner.seed,
                            question.max_reject if not check.failed else 1.0,
                            failed_at,
                            tuple(sorted(planner.world.datacenters[c] for c in check.failed)),
                            excused,
                        )
                    )
                done = verify(specs, workers, verdict_done)
                verify_s = time.perf_counter() - started
                verdicts = [
                    {
                        "run": v.name,
                        "scenario": str(paths[v.name].relative_to(folder)),
                        "passed": v.passed,
                        "detail": v.detail,
                        "wall_s": round(v.wall_s, 3),
                    }
                    for v in done
                ]
        timing = {"search_s": search_s, "runway_s": runway_s, "verification_s": verify_s}
        document = plan_document(planner, counts, now_runway, verdicts, timing)
        document["mode"] = "runway" if runway_only else "plan"
        write_json(folder / "plan.json", document)
        result["document"] = document

    replace_folder(out, fill, PLAN_FILES)
    document = result["document"]
    verdicts = document["verification"]
    verified = all(v["passed"] for v in verdicts) if verdicts else None
    return PlanRun(document, verified)
