"""The DR module: the controller on the kernel, the designs compiled once, DR's results."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import simpy
from rich.text import Text

from cloudsim.dr.checks import dr_problems
from cloudsim.dr.control import DRController
from cloudsim.dr.plan import SystemPlan, build_plan, required_of
from cloudsim.dr.results import dr_results
from cloudsim.kernel import Context, Finding, Module, Results
from cloudsim.records import AvailabilityRules
from cloudsim.scenario.dr import DR
from cloudsim.world import World


@dataclass(frozen=True)
class DRDesign:
    """The ``dr`` section and every system's resolved design."""

    spec: DR
    plans: tuple[SystemPlan, ...]


class DRModule(Module):
    """Replication, detection, failover policies and failback (a ``dr`` section)."""

    name = "dr"
    section = "dr"
    streams = ("detection", "policies")
    requires = ("ledger",)
    replaces = ("availability",)

    @classmethod
    def compile(cls, world: World) -> DRDesign:
        spec = world.scenario.dr
        assert spec is not None
        return DRDesign(spec, tuple(build_plan(world)))

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        return dr_problems(world)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        design: DRDesign = ctx.world.design(self.name)
        plans = list(design.plans)
        self.controller = DRController(ctx, design.spec, plans)
        ctx.recorder.rules = AvailabilityRules(
            required=required_of(plans),
            managed=np.array([p.managed for p in plans], dtype=np.bool_),
            required_fraction=ctx.world.availability.required_fraction,
        )
        self._summary: dict[str, Any] = {}

    def start(self) -> None:
        self.controller.start()

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        return (self.controller.run(),)

    def finish(self, now: float) -> None:
        self.controller.finish(now)

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        columns, self._summary = dr_results(
            self.controller, results.tables["incidents"], self.ctx.world
        )
        availability = results.tables["availability"]
        for name, column in columns.items():
            availability = availability.append_column(name, column)
        return {"availability": availability}

    def summary(self, results: Results) -> Mapping[str, Any]:
        return {"dr": self._summary}

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        dr = summary.get("dr")
        if not isinstance(dr, dict):
            return []
        levels = ", ".join(f"L{k}: {v}" for k, v in dr["gbt20988_levels"].items())
        lines: list[Any] = [
            f"DR ({dr['failover_policy']}, witness {dr['witness'] or 'none'}): "
            f"{dr['failovers']:,} failovers ({dr['unnecessary_failovers']:,} unnecessary), "
            f"{dr['fences']:,} fences, {dr['sheds']:,} sheds "
            f"({dr.get('unnecessary_actions', 0):,} actions unnecessary in all), "
            f"split-brain {dr['split_brain_s']:,.0f} s, data lost {dr['data_lost_gb']:,.2f} GB, "
            f"worst RPO {dr['worst_rpo_s']:,.0f} s, worst RTO {dr['worst_rto_s']:,.0f} s; "
            f"GB/T 20988 {levels}"
        ]
        if dr["policy_failures"]:
            lines.append(
                Text(
                    f"policy failures: {dr['policy_failures']:,} (see summary.json)",
                    style="bold red",
                )
            )
        return lines
