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


def planned_files(
    planner: Planner, counts: tuple[int, ...], source: Path, folder: Path, out: Path
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
    body: dict[str, Any] = {
        "extends": relative,
        "meta": {"name": f"{scenario.meta.name}-planned", "horizon": f"{horizon}s"},
    }
    if scenario.faults is not None:
        body["faults"] = {**dict.fromkeys(_QUIET), "scripted": [], "traces": []}
    if changed:
        body["pools"] = changed
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
            paths = planned_files(planner, counts, source, folder, out)
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
