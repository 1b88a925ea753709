"""The ``containers`` section: container clusters on the resource pools (and their cluster
autoscaler), scheduler profiles, deployments, disruption budgets, services with their
demand, HPAs and a trace replay (Kubernetes' vocabulary is in
:mod:`cloudsim.scenario.kubernetes`).

Checks that need other sections (pools, flavors, plugin names, what nodes can exist) are in
:mod:`cloudsim.containers.checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from cloudsim.scenario.base import Duration, LocalPath, Model, Name
from cloudsim.scenario.kubernetes import (
    CpuMilli,
    Labels,
    LabelSelector,
    NodeAffinity,
    Percent,
    PodAffinity,
    Reserve,
    Resources,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)

#: A plugin or resource weight (kube-scheduler's are small integers).
Weight = Annotated[int, Field(le=1_000_000)]


class PriorityClass(Model):
    name: Name
    value: int = Field(ge=-(2**31), le=1_000_000_000)
    preemption_policy: Literal["PreemptLowerPriority", "Never"] = "PreemptLowerPriority"
    #: The priority of deployments that name no class (at most one class may set it).
    global_default: bool = False


class ShapePoint(Model):
    utilization: int = Field(ge=0, le=100)
    score: int = Field(ge=0, le=10)


class FitArgs(Model):
    """NodeResourcesFit's scoring strategy, resources and (RequestedToCapacityRatio) shape."""

    strategy: Literal["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"] = (
        "LeastAllocated"
    )
    resources: dict[Literal["cpu", "memory", "gpu"], Weight] = {"cpu": 1, "memory": 1}
    shape: list[ShapePoint] | None = None

    @model_validator(mode="after")
    def _shape(self) -> FitArgs:
        if any(w < 1 for w in self.resources.values()):
            raise ValueError("resource weights must be at least 1")
        if not self.resources:
            raise ValueError("give at least one resource")
        if self.strategy == "RequestedToCapacityRatio" and not self.shape:
            raise ValueError("strategy RequestedToCapacityRatio needs a shape")
        if self.shape is not None:
            points = [p.utilization for p in self.shape]
            if not points or points != sorted(set(points)):
                raise ValueError("shape utilizations must be strictly increasing")
        return self


class SchedulerProfile(Model):
    """A scheduler profile: score plugin weights (0 disables), more filters, disabled
    plugins, arguments."""

    name: Name
    #: Score plugin weights overriding kube-scheduler's defaults.
    plugins: dict[str, Weight] = {}
    #: Registered filter plugins run after kube-scheduler's default filters, in this order.
    filters: list[str] = []
    #: Filter or score plugins to switch off.
    disabled: list[str] = []
    #: 0 (or absent): kube-scheduler's adaptive default.
    percentage_of_nodes_to_score: int = Field(default=0, ge=0, le=100)
    fit: FitArgs = FitArgs()
    balanced_resources: dict[Literal["cpu", "memory", "gpu"], Weight] = {"cpu": 1, "memory": 1}
    hard_pod_affinity_weight: int = Field(default=1, ge=0, le=100)
    #: kube-scheduler's system default spreading for pods of a deployment without constraints.
    default_spreading: bool = True
    preemption: bool = True


class NodeGroup(Model):
    """Nodes of a cluster: ``count`` VMs of ``flavor`` placed in ``pool``, or (without a
    flavor) the pool's hosts as bare-metal nodes (``count`` of them, default all)."""

    name: Name
    pool: Name
    flavor: Name | None = None
    count: int | None = Field(default=None, ge=0, le=10_000_000)
    system_reserved: Reserve = Reserve()
    max_pods: int = Field(default=110, ge=1, le=10_000)
    labels: Labels = {}
    taints: list[Taint] = []
    unschedulable: bool = False
    #: Bounds for the cluster autoscaler (a group with ``max_count`` is autoscaled).
    min_count: int | None = Field(default=None, ge=0, le=10_000_000)
    max_count: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _count(self) -> NodeGroup:
        if self.flavor is not None and self.count is None:
            raise ValueError("a node group of VMs (with a flavor) needs a count")
        if self.max_count is not None:
            if self.flavor is None:
                raise ValueError("only node groups of VMs (with a flavor) can be autoscaled")
            low = self.min_count or 0
            if not low <= (self.count or 0) <= self.max_count:
                raise ValueError("autoscaled groups need min_count <= count <= max_count")
        elif self.min_count is not None:
            raise ValueError("min_count needs max_count (the group is autoscaled)")
        return self


class Autoscaler(Model):
    """The cluster autoscaler: grows node groups that have a ``max_count`` when pods are
    pending, shrinks them when nodes stay under-used (cluster-autoscaler's defaults)."""

    scan_interval: Duration = Field(default=10.0, gt=0)
    expander: Literal["least-waste", "random"] = "least-waste"
    #: A node is unneeded while the CPU and memory its pods request are both below this share.
    scale_down_utilization_threshold: float = Field(default=0.5, gt=0, le=1)
    scale_down_unneeded_time: Duration = Field(default=600.0, ge=0)
    scale_down_delay_after_add: Duration = Field(default=600.0, ge=0)
    #: Empty nodes removed at once; a node with pods is drained one at a time.
    max_empty_bulk_delete: int = Field(default=10, ge=1, le=1_000_000)
    #: From ordering a node VM to the node joining Ready (VM boot, kubelet registration).
    node_provision_time: Duration = Field(default=180.0, ge=0)
    #: How long a node group is left alone after its scale-up failed (no host, quota).
    backoff: Duration = Field(default=300.0, ge=0)


class Cluster(Model):
    """A container cluster (one per centre, or one stretched over several), or the nodes of
    an Alibaba openb node list (``trace_nodes``) for a trace replay."""

    name: Name
    node_groups: list[NodeGroup] = []
    #: The scheduler profile of pods that name none.
    scheduler: Name = "default-scheduler"
    #: The business system whose cloud hosts the node VMs are (its department's quota
    #: applies); needed when a node group has a flavor.
    system: Name | None = None
    #: An openb node list (``sn, cpu_milli, memory_mib, gpu, model``) giving the nodes.
    trace_nodes: LocalPath | None = None
    #: node-monitor-grace-period: a node whose host stopped is NotReady after this.
    node_monitor_grace_period: Duration = Field(default=40.0, gt=0)
    #: DefaultTolerationSeconds: how long pods without their own toleration stay on a
    #: NotReady node before they are evicted.
    default_toleration_seconds: Duration = Field(default=300.0, ge=0)
    #: How often pods that found no node are tried again without a cluster event.
    pod_max_unschedulable: Duration = Field(default=300.0, gt=0)
    autoscaler: Autoscaler | None = None

    @model_validator(mode="after")
    def _has_nodes(self) -> Cluster:
        if not self.node_groups and self.trace_nodes is None:
            raise ValueError("give node_groups or trace_nodes")
        return self


class Deployment(Model):
    """``replicas`` identical pods; requests default to the limits when only limits are given."""

    name: Name
    cluster: Name
    namespace: Name = "default"
    replicas: int = Field(ge=0, le=10_000_000)
    #: Pod labels (default: ``app: <name>``); also the selector of the deployment.
    labels: Labels = {}
    priority_class: Name | None = None
    requests: Resources | None = None
    limits: Resources | None = None
    tolerations: list[Toleration] = []
    node_selector: Labels = {}
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None
    topology_spread: list[TopologySpreadConstraint] = []
    scheduler_name: Name | None = None
    #: The business system the deployment belongs to (a containerised system, or the
    #: containerised part of one).
    system: Name | None = None
    #: From binding to Ready (image pull, start, readiness probe).
    startup: Duration = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _limits(self) -> Deployment:
        req, lim = self.requests, self.limits
        if req is not None and lim is not None:
            for field in ("cpu", "memory", "gpu", "gpu_milli"):
                if getattr(lim, field) and getattr(req, field) > getattr(lim, field):
                    raise ValueError(f"requests.{field} must not exceed limits.{field}")
        return self

    @property
    def pod_labels(self) -> dict[str, str]:
        return dict(self.labels) if self.labels else {"app": self.name}

    @property
    def pod_requests(self) -> Resources:
        if self.requests is not None:
            return self.requests
        return self.limits if self.limits is not None else Resources()


class PodDisruptionBudget(Model):
    name: Name
    cluster: Name
    namespace: Name = "default"
    selector: LabelSelector
    min_available: int | Percent | None = Field(default=None)
    max_unavailable: int | Percent | None = Field(default=None)

    @model_validator(mode="after")
    def _one_bound(self) -> PodDisruptionBudget:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("give exactly one of min_available and max_unavailable")
        for value in (self.min_available, self.max_unavailable):
            if isinstance(value, int) and value < 0:
                raise ValueError("a disruption budget must not be negative")
            if isinstance(value, int) and value > 10_000_000:
                raise ValueError("a disruption budget is at most 10000000 pods (or a percentage)")
        return self


#: Hourly shape of an online government service's load: night lull, office-hour peaks
#: (9-11, 14-17) and a smaller evening peak from mobile users.
GOVERNMENT_DAY: tuple[float, ...] = (
    *(0.15,) * 6,
    0.25,
    0.5,
    0.8,
    *(1.0,) * 3,
    0.75,
    0.8,
    *(1.0,) * 3,
    0.8,
    0.6,
    0.65,
    0.7,
    0.55,
    0.35,
    0.2,
)
#: Monday first: weekends carry about 40 % of a weekday's load.
GOVERNMENT_WEEK: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.35)


class Demand(Model):
    """A service's CPU demand: ``peak`` at the busiest hour of the busiest day, shaped by
    hour of day (``daily``, interpolated linearly) and day of week (``weekly``, Monday
    first), times lognormal noise drawn once per ``step`` from the ``containers`` stream."""

    peak: CpuMilli = Field(gt=0)
    daily: list[Annotated[float, Field(le=1e6)]] = Field(
        default=list(GOVERNMENT_DAY), min_length=24, max_length=24
    )
    weekly: list[Annotated[float, Field(le=1e6)]] = Field(
        default=list(GOVERNMENT_WEEK), min_length=7, max_length=7
    )
    noise: float = Field(default=0.05, ge=0, le=2)
    step: Duration = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> Demand:
        for name in ("daily", "weekly"):
            values = getattr(self, name)
            if min(values) < 0 or max(values) <= 0:
                raise ValueError(f"{name} factors must be >= 0 with one above 0")
        return self


class Service(Model):
    """A Service: its endpoints are the ready pods its selector matches (default: the pods
    of ``deployment``); ``demand`` is the load spread evenly over them."""

    name: Name
    cluster: Name
    namespace: Name = "default"
    deployment: Name | None = None
    selector: LabelSelector | None = None
    #: Default: the deployment's system.
    system: Name | None = None
    demand: Demand | None = None
    #: Ready endpoints the service needs to count as up (default: half the deployment's
    #: declared replicas or HPA minimum, rounded up, as the availability ledger's rule).
    required_endpoints: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _selects(self) -> Service:
        if self.deployment is None and self.selector is None:
            raise ValueError("give deployment or selector")
        return self


class ScalingPolicy(Model):
    type: Literal["Pods", "Percent"]
    value: int = Field(ge=1, le=1_000_000)
    period: Duration = Field(gt=0, le=1800)


class ScalingRules(Model):
    stabilization_window: Duration = Field(ge=0, le=3600)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"
    policies: list[ScalingPolicy] = Field(min_length=1)


def _default_up() -> ScalingRules:
    return ScalingRules(
        stabilization_window=0.0,
        policies=[
            ScalingPolicy(type="Percent", value=100, period=15.0),
            ScalingPolicy(type="Pods", value=4, period=15.0),
        ],
    )


def _default_down() -> ScalingRules:
    return ScalingRules(
        stabilization_window=300.0,
        policies=[ScalingPolicy(type="Percent", value=100, period=15.0)],
    )


class HPA(Model):
    """A HorizontalPodAutoscaler on a deployment's CPU (autoscaling/v2, Kubernetes' defaults).

    Target ``target_utilization`` (percent of the CPU request) or ``target_average_value``
    (CPU per pod); the load comes from the demand of the services selecting the pods."""

    name: Name
    deployment: Name
    min_replicas: int = Field(default=1, ge=1, le=10_000_000)
    max_replicas: int = Field(ge=1, le=10_000_000)
    target_utilization: int | None = Field(default=None, ge=1, le=1000)
    target_average_value: CpuMilli | None = Field(default=None, gt=0)
    tolerance: float = Field(default=0.1, ge=0, lt=1)
    scale_up: ScalingRules = Field(default_factory=_default_up)
    scale_down: ScalingRules = Field(default_factory=_default_down)

    @model_validator(mode="after")
    def _target(self) -> HPA:
        if (self.target_utilization is None) == (self.target_average_value is None):
            raise ValueError("give exactly one of target_utilization and target_average_value")
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class Replay(Model):
    """Replay an Alibaba openb pod list on a cluster: each pod is submitted at its
    ``creation_time`` and deleted at its ``deletion_time`` (unless ``keep_running``, as the
    simulator of "Beware of Fragmentation" does)."""

    cluster: Name
    pods: LocalPath
    keep_running: bool = False
    #: Only the first pods in creation order (a slice of the trace).
    limit: int | None = Field(default=None, ge=1, le=10**9)
    namespace: Name = "openb"


class Containers(Model):
    """The container cloud (容器云) of the scenario."""

    priority_classes: list[PriorityClass] = []
    profiles: list[SchedulerProfile] = []
    clusters: list[Cluster] = Field(min_length=1)
    deployments: list[Deployment] = []
    pdbs: list[PodDisruptionBudget] = []
    services: list[Service] = []
    hpas: list[HPA] = []
    #: --horizontal-pod-autoscaler-sync-period of kube-controller-manager.
    hpa_sync_period: Duration = Field(default=15.0, gt=0)
    replay: Replay | None = None
