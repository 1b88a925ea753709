"""The ``containers`` section: container clusters on the resource pools, scheduler profiles,
deployments and disruption budgets, with Kubernetes' field meanings in snake_case.

Quantities follow Kubernetes: CPU as ``500m``, ``2`` or ``0.5`` (stored in millicores),
memory as ``512Mi``, ``4Gi`` or the scenario's ``4GiB`` (stored in MiB). Topology and
node-affinity keys may use the short aliases ``hostname``, ``host``, ``rack``,
``datacenter``, ``site``, ``zone`` (the data centre), ``region`` (the site), ``arch``,
``network-zone``, ``pool`` and ``gpu-model``.

Checks that need other sections (pools, flavors, plugin names, what nodes can exist) are in
:mod:`cloudsim.containers.checks`.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from cloudsim.scenario.base import Duration, Model, Name
from cloudsim.units import parse_memory_mib

_CPU = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(m?)\s*$")
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")
_K8S_MEMORY = {"Ki": 2**-10, "Mi": 1, "Gi": 2**10, "Ti": 2**20, "Pi": 2**30}


def parse_cpu_milli(value: object) -> int:
    """Millicores from ``500m``, ``2``, ``0.25`` (cores) or an integer number of cores."""
    if isinstance(value, bool):
        raise ValueError(f"expected a CPU quantity such as '500m' or '2', got {value!r}")
    if isinstance(value, int | float):
        cores = float(value)
        milli = cores * 1000
    elif isinstance(value, str):
        match = _CPU.match(value)
        if match is None:
            raise ValueError(f"expected a CPU quantity such as '500m', '2' or '0.5', got {value!r}")
        number = float(match.group(1))
        milli = number if match.group(2) else number * 1000
    else:
        raise ValueError(f"expected a CPU quantity such as '500m' or '2', got {value!r}")
    if not math.isfinite(milli) or milli < 0:
        raise ValueError(f"a CPU quantity must be a finite number >= 0, got {value!r}")
    if abs(milli - round(milli)) > 1e-6:
        raise ValueError(f"CPU is counted in whole millicores (1m = 0.001), got {value!r}")
    return round(milli)


def parse_pod_memory_mib(value: object) -> int:
    """MiB from Kubernetes' ``512Mi``/``4Gi`` or the scenario's ``4GiB``, ``64G``, a number."""
    if isinstance(value, str):
        text = value.strip()
        for suffix, factor in _K8S_MEMORY.items():
            if text.endswith(suffix):
                number = text[: -len(suffix)].strip()
                try:
                    mib = float(number) * factor
                except ValueError:
                    break
                if not math.isfinite(mib) or mib < 0:
                    raise ValueError(f"a memory size must be a finite number >= 0, got {value!r}")
                return round(mib)
    return parse_memory_mib(value)


def _label_key(value: object) -> object:
    if isinstance(value, str) and not _LABEL_KEY.match(value):
        raise ValueError(
            f"{value!r} is not a label key (an optional DNS prefix and '/', then up to 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
        )
    return value


def _optional_label_key(value: object) -> object:
    return value if value == "" else _label_key(value)


def _label_value(value: object) -> object:
    if isinstance(value, str) and not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a label value (up to 63 letters, digits, -_.)")
    return value


CpuMilli = Annotated[int, BeforeValidator(parse_cpu_milli)]
PodMemoryMiB = Annotated[int, BeforeValidator(parse_pod_memory_mib)]
LabelKey = Annotated[str, BeforeValidator(_label_key)]
LabelValue = Annotated[str, BeforeValidator(_label_value)]
Labels = dict[LabelKey, LabelValue]
Percent = Annotated[str, Field(pattern=r"^(100|[1-9]?[0-9])%$")]


class Resources(Model):
    """Requests or limits: CPU, memory, whole GPUs, or a share of one GPU in milli-GPU."""

    cpu: CpuMilli = 0
    memory: PodMemoryMiB = 0
    gpu: int = Field(default=0, ge=0, le=64)
    gpu_milli: int = Field(default=0, ge=0, le=999)

    @model_validator(mode="after")
    def _one_gpu_kind(self) -> Resources:
        if self.gpu and self.gpu_milli:
            raise ValueError("ask for whole GPUs (gpu) or a share of one GPU (gpu_milli), not both")
        return self


class Reserve(Model):
    """What the node keeps for the system and kubelet (system- plus kube-reserved)."""

    cpu: CpuMilli = 0
    memory: PodMemoryMiB = 0


class SelectorRequirement(Model):
    key: LabelKey
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[LabelValue] = []

    @model_validator(mode="after")
    def _values_fit_operator(self) -> SelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class NodeRequirement(Model):
    """A node selector requirement; the key may be a short alias (``zone``, ``rack``…)."""

    key: LabelKey
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[LabelValue] = []

    @model_validator(mode="after")
    def _values_fit_operator(self) -> NodeRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        if self.operator in ("Gt", "Lt") and (
            len(self.values) != 1 or not re.fullmatch(r"[+-]?[0-9]+", self.values[0])
        ):
            raise ValueError(f"operator {self.operator} takes exactly one integer value")
        return self


class LabelSelector(Model):
    """``match_labels`` and ``match_expressions``, ANDed; empty matches every pod."""

    match_labels: Labels = {}
    match_expressions: list[SelectorRequirement] = []


class NodeSelectorTerm(Model):
    match_expressions: list[NodeRequirement] = Field(min_length=1)


class PreferredNodeTerm(Model):
    weight: int = Field(ge=1, le=100)
    preference: NodeSelectorTerm


class NodeAffinity(Model):
    """``required``: terms ORed (requiredDuringSchedulingIgnoredDuringExecution);
    ``preferred``: weighted terms (preferredDuringSchedulingIgnoredDuringExecution)."""

    required: list[NodeSelectorTerm] = []
    preferred: list[PreferredNodeTerm] = []


class PodAffinityTerm(Model):
    """Pods matching ``label_selector`` in ``namespaces`` (default: the deployment's own),
    per value of ``topology_key``."""

    label_selector: LabelSelector
    topology_key: LabelKey
    namespaces: list[Name] = []


class WeightedPodAffinityTerm(Model):
    weight: int = Field(ge=1, le=100)
    pod_affinity_term: PodAffinityTerm


class PodAffinity(Model):
    required: list[PodAffinityTerm] = []
    preferred: list[WeightedPodAffinityTerm] = []


class TopologySpreadConstraint(Model):
    """At most ``max_skew`` more matching pods in one domain of ``topology_key`` than in the
    emptiest; the selector defaults to the deployment's own labels."""

    max_skew: int = Field(ge=1)
    topology_key: LabelKey
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    label_selector: LabelSelector | None = None
    min_domains: int | None = Field(default=None, ge=1)
    node_affinity_policy: Literal["Honor", "Ignore"] = "Honor"
    node_taints_policy: Literal["Honor", "Ignore"] = "Ignore"

    @model_validator(mode="after")
    def _min_domains(self) -> TopologySpreadConstraint:
        if self.min_domains is not None and self.when_unsatisfiable != "DoNotSchedule":
            raise ValueError("min_domains is only valid with when_unsatisfiable: DoNotSchedule")
        return self


class Toleration(Model):
    #: Empty (with operator Exists): every taint.
    key: Annotated[str, BeforeValidator(_optional_label_key)] = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: LabelValue = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    #: How long the pod stays on a node after a NoExecute taint appears (default: forever).
    toleration_seconds: Duration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator Exists takes no value")
        if not self.key and self.operator != "Exists":
            raise ValueError("a toleration without a key must use operator Exists")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("toleration_seconds is only valid with effect NoExecute")
        return self


class Taint(Model):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


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
    resources: dict[Literal["cpu", "memory", "gpu"], int] = {"cpu": 1, "memory": 1}
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
    """A scheduler profile: score plugin weights (0 disables), disabled filters, arguments."""

    name: Name
    #: Score plugin weights overriding kube-scheduler's defaults.
    plugins: dict[str, int] = {}
    #: Filter or score plugins to switch off.
    disabled: list[str] = []
    #: 0 (or absent): kube-scheduler's adaptive default.
    percentage_of_nodes_to_score: int = Field(default=0, ge=0, le=100)
    fit: FitArgs = FitArgs()
    balanced_resources: dict[Literal["cpu", "memory", "gpu"], int] = {"cpu": 1, "memory": 1}
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
    count: int | None = Field(default=None, ge=0)
    system_reserved: Reserve = Reserve()
    max_pods: int = Field(default=110, ge=1, le=10_000)
    labels: Labels = {}
    taints: list[Taint] = []
    unschedulable: bool = False

    @model_validator(mode="after")
    def _count(self) -> NodeGroup:
        if self.flavor is not None and self.count is None:
            raise ValueError("a node group of VMs (with a flavor) needs a count")
        return self


class Cluster(Model):
    """A container cluster (one per centre, or one stretched over several)."""

    name: Name
    node_groups: list[NodeGroup] = Field(min_length=1)
    #: The scheduler profile of pods that name none.
    scheduler: Name = "default-scheduler"


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
        return self


class Containers(Model):
    """The container cloud (容器云) of the scenario."""

    priority_classes: list[PriorityClass] = []
    profiles: list[SchedulerProfile] = []
    clusters: list[Cluster] = Field(min_length=1)
    deployments: list[Deployment] = []
    pdbs: list[PodDisruptionBudget] = []
