"""The containers module: the container cloud on the kernel, its checks, results and lines."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import simpy

from cloudsim.containers.build import profiles_of
from cloudsim.containers.checks import feasibility_problems, reference_problems
from cloudsim.containers.cloud import ContainerCloud
from cloudsim.containers.scheduler import Profile
from cloudsim.kernel import Context, Finding, Module, Results, Stage
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World


class ContainersModule(Module):
    """Clusters on the IaaS pools, their controllers and services (a ``containers`` section).

    Its nodes are provisioned when the run is built (node VMs placed, bare-metal hosts taken
    out of IaaS placement), so before any module starts: the tenants' initial placement
    comes after them. Pods are created and scheduled at the start.
    """

    name = "containers"
    section = "containers"
    streams = ("containers",)
    stage = Stage.PLATFORM

    @classmethod
    def check_references(cls, scenario: Scenario) -> list[Finding]:
        return reference_problems(scenario)

    @classmethod
    def check_feasibility(cls, world: World) -> list[Finding]:
        return feasibility_problems(world)

    @classmethod
    def compile(cls, world: World) -> Mapping[str, Profile]:
        """The scheduler profiles by name."""
        spec = world.scenario.containers
        assert spec is not None
        return MappingProxyType(profiles_of(spec))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.cloud = ContainerCloud(ctx, ctx.world.design(self.name))
        self.cloud.provision()

    def start(self) -> None:
        self.cloud.start()

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        return self.cloud.processes()

    def sample(self, now: float) -> None:
        self.cloud.sample(now)

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        return self.cloud.tables()

    def summary(self, results: Results) -> Mapping[str, Any]:
        return {"containers": self.cloud.summary(results.tables)}

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        containers = summary.get("containers")
        if not isinstance(containers, dict):
            return []
        lines: list[Any] = []
        for name, c in containers["clusters"].items():
            gpu = (
                f", GPU {c['gpu_allocated_ratio_end']:.1%} (fragmented "
                f"{c['gpu_fragmentation_ratio_mean']:.1%} of free on average)"
                if c["gpu_allocated_ratio_peak"]
                else ""
            )
            lines.append(
                f"cluster {name}: {c['nodes_start']:,} nodes at the start, {c['nodes_end']:,} "
                f"at the end (peak {c['nodes_peak']:,}); CPU allocated "
                f"{c['cpu_allocated_ratio_end']:.1%} (peak {c['cpu_allocated_ratio_peak']:.1%})"
                f"{gpu}; {c['pods_created']:,} pods created, {c['pods_pending_end']:,} pending "
                f"at the end, wait p95 {c['wait_s_p95']:,.0f} s, {c['pods_evicted']:,} evicted, "
                f"{c['pods_preempted']:,} preempted"
            )
        a, h = containers["autoscaler"], containers["hpa"]
        if a["scale_ups"] or a["scale_downs"] or h["hpas"]:
            lines.append(
                f"autoscaling: {h['rescales']:,} HPA rescales; cluster autoscaler "
                f"+{a['nodes_added']:,} / -{a['nodes_removed']:,} nodes"
            )
        for name, svc in containers["services"].items():
            lines.append(
                f"service {name}: availability {svc['availability']:.5%} (ready endpoints below "
                f"{svc['required_endpoints']} for {svc['short_s']:,.0f} s), demand served "
                f"{svc['demand_served']:.4%}, {svc['mean_ready']:.1f} ready endpoints on average"
            )
        return lines
