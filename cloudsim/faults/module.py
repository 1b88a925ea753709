"""The faults module: the injector on the kernel's calendar, and the ``faults`` summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from cloudsim.faults.checks import fault_problems
from cloudsim.faults.injector import FaultInjector
from cloudsim.kernel import Context, Finding, Module, Results
from cloudsim.records import EventKind
from cloudsim.scenario.faults import Faults
from cloudsim.units import round6
from cloudsim.world import World


class FaultsModule(Module):
    """Failures of components and data (always on: without a ``faults`` section it injects
    nothing and reports no outage)."""

    name = "faults"
    streams = ("faults", "repairs", "corruption")

    @classmethod
    def compile(cls, world: World) -> Faults:
        return world.scenario.faults or Faults()

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        return fault_problems(world)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.injector = FaultInjector(ctx, ctx.world.design(self.name))
        ctx.calendar.at_start(self.injector.prime)

    def summary(self, results: Results) -> Mapping[str, Any]:
        ev = self.ctx.recorder.events
        stopped = {k: ev.total(k) for k in (EventKind.VM_DOWN, EventKind.RESTART, EventKind.LOST)}
        counts = ev["count"]
        failed = ev.codes("kind") == ev.code("kind", EventKind.RESTART_FAILED)
        reasons = ev.dictionary("reason")
        failures: Counter[str] = Counter()
        for code, count in zip(
            ev.codes("reason")[failed].tolist(), counts[failed].tolist(), strict=True
        ):
            failures[reasons[code]] += count
        outages = self.ctx.recorder.outages
        waiting = self.ctx.platform.ha.counts()
        host_down_s = self.injector.host_down_seconds(self.ctx.horizon)
        crews = self.injector.crews
        limited = crews.limited()
        return {
            "faults": {
                "outages": len(outages),
                "by_kind": dict(sorted(Counter(o.kind for o in outages).items())),
                "by_cause": dict(sorted(Counter(o.cause for o in outages).items())),
                "host_down_hours": round6(host_down_s / 3600.0),
                "vms_stopped": stopped[EventKind.VM_DOWN],
                "vms_restarted": stopped[EventKind.RESTART],
                "vms_lost": stopped[EventKind.LOST],
                "vms_restarting_end": waiting["restarting"],
                "vms_pending_end": waiting["pending"],
                "restart_failures_by_reason": dict(sorted(failures.items())),
                # repairs waiting for crews: only where crews are limited
                **({"repair_crews": crews.summary()} if limited else {}),
            }
        }

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        faults = summary.get("faults")
        if not isinstance(faults, dict) or not faults.get("outages"):
            return []
        return [
            f"faults: {faults['outages']:,} outages, {faults['host_down_hours']:,.1f} host-hours "
            f"down, {faults['vms_stopped']:,} cloud hosts stopped, {faults['vms_lost']:,} lost"
        ]
