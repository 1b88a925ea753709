"""Kubernetes' vocabulary in a scenario: quantities, labels, selectors, affinities, topology
spread, taints and tolerations, with Kubernetes' field meanings in snake_case.

Quantities follow Kubernetes: CPU as ``500m``, ``2`` or ``0.5`` (stored in millicores),
memory as ``512Mi``, ``4Gi`` or the scenario's ``4GiB`` (stored in MiB). Topology and
node-affinity keys may use the short aliases ``hostname``, ``host``, ``rack``,
``datacenter``, ``site``, ``zone`` (the data centre), ``region`` (the site), ``arch``,
``network-zone``, ``pool`` and ``gpu-model``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from cloudsim.scenario.base import MAX_MEMORY_MIB, Duration, Model, Name
from cloudsim.units import parse_memory_mib

_CPU = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(m?)\s*$")
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")
_K8S_MEMORY = {"Ki": 2**-10, "Mi": 1, "Gi": 2**10, "Ti": 2**20, "Pi": 2**30}


#: The largest CPU quantity (a million cores), in millicores.
MAX_CPU_MILLI = 10**9


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
    if milli > MAX_CPU_MILLI:
        raise ValueError(f"a CPU quantity must be at most 1000000 cores, got {value!r}")
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
                return _pod_memory_at_most(round(mib), value)
    return _pod_memory_at_most(parse_memory_mib(value), value)


def _pod_memory_at_most(mib: int, value: object) -> int:
    if mib > MAX_MEMORY_MIB:
        raise ValueError(f"a memory size must be at most 1Pi, got {value!r}")
    return mib


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


#: Millicores; written back as ``"<n>m"`` so that a dumped scenario reloads to itself.
CpuMilli = Annotated[
    int,
    BeforeValidator(parse_cpu_milli),
    PlainSerializer(lambda v: f"{v}m", return_type=str, when_used="json"),
]
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
        if self.operator in ("Gt", "Lt") and not -(2**63) <= int(self.values[0]) < 2**63:
            raise ValueError(f"operator {self.operator} takes a 64-bit integer value")
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

    max_skew: int = Field(ge=1, le=1_000_000)
    topology_key: LabelKey
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    label_selector: LabelSelector | None = None
    min_domains: int | None = Field(default=None, ge=1, le=1_000_000)
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
