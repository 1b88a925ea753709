"""From a scenario's ``containers`` section to node tables, profiles, pod templates, budgets.

Node VMs are placed by the IaaS placer like any cloud host: on hosts of the pool's data
centre, network zone and purpose (and department, for a dedicated pool), so they inherit
their host's rack, centre, site and architecture labels. Bare-metal node groups take the
pool's hosts in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cloudsim.containers.cluster import Cluster, PodDisruptionBudget
from cloudsim.containers.labels import IntArray, LabelSelector, Requirement
from cloudsim.containers.nodes import (
    NodeGroup,
    NodeTable,
    Taint,
    bare_metal_nodes,
    label_key,
    reserve_vector,
    vm_nodes,
)
from cloudsim.containers.openb import read_openb_nodes
from cloudsim.containers.pods import (
    NodeSelectorTerm,
    PodAffinityTerm,
    PodTemplate,
    PreferredSchedulingTerm,
    Toleration,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from cloudsim.containers.scheduler import (
    DEFAULT_FILTERS,
    DEFAULT_POST_FILTER,
    DEFAULT_WEIGHTS,
    Profile,
    Scheduler,
)
from cloudsim.scenario import containers as spec
from cloudsim.scenario import kubernetes as kube
from cloudsim.scenario.schema import Pool, Scenario
from cloudsim.state.hosts import ARCHES, PURPOSES, HostTable

if TYPE_CHECKING:
    from cloudsim.placement.core import Placer, Request

DEFAULT_PROFILE = "default-scheduler"
#: Kubernetes' built-in priority classes.
BUILTIN_PRIORITIES: dict[str, int] = {
    "system-cluster-critical": 2_000_000_000,
    "system-node-critical": 2_000_001_000,
}


# -- profiles, priorities, templates ----------------------------------------------------
def profile_of(profile: spec.SchedulerProfile) -> Profile:
    """A scheduler profile from its scenario form (plugin names must have been checked)."""
    disabled = set(profile.disabled)
    weights = {**DEFAULT_WEIGHTS, **profile.plugins}
    fit = profile.fit
    args: dict[str, dict[str, Any]] = {
        "NodeResourcesFit": {
            "strategy": fit.strategy,
            "resources": dict(fit.resources),
            "shape": [(p.utilization, p.score) for p in fit.shape] if fit.shape else None,
        },
        "NodeResourcesBalancedAllocation": {"resources": dict(profile.balanced_resources)},
        "InterPodAffinity": {"hard_pod_affinity_weight": profile.hard_pod_affinity_weight},
        "PodTopologySpread": {"default_spreading": profile.default_spreading},
    }
    return Profile(
        name=profile.name,
        filters=tuple(f for f in (*DEFAULT_FILTERS, *profile.filters) if f not in disabled),
        weights={name: w for name, w in weights.items() if name not in disabled},
        args=args,
        percentage_of_nodes_to_score=profile.percentage_of_nodes_to_score,
        preemption=profile.preemption and DEFAULT_POST_FILTER not in disabled,
    )


def profiles_of(containers: spec.Containers) -> dict[str, Profile]:
    """Every profile by name; ``default-scheduler`` is kube-scheduler's unless redefined."""
    out = {DEFAULT_PROFILE: Profile()}
    out.update({p.name: profile_of(p) for p in containers.profiles})
    return out


def priority_of(containers: spec.Containers, name: str | None) -> tuple[int, str]:
    """(value, preemption policy) of a priority class; no class: the global default or 0."""
    for pc in containers.priority_classes:
        if pc.name == name or (name is None and pc.global_default):
            return pc.value, pc.preemption_policy
    if name in BUILTIN_PRIORITIES:
        return BUILTIN_PRIORITIES[name], "PreemptLowerPriority"
    return 0, "PreemptLowerPriority"


def selector_of(selector: kube.LabelSelector) -> LabelSelector:
    return LabelSelector.of(
        selector.match_labels,
        *(Requirement(r.key, r.operator, tuple(r.values)) for r in selector.match_expressions),
    )


def _node_term(term: kube.NodeSelectorTerm) -> NodeSelectorTerm:
    return NodeSelectorTerm(
        tuple(
            Requirement(label_key(r.key), r.operator, tuple(r.values))
            for r in term.match_expressions
        )
    )


def _pod_term(term: kube.PodAffinityTerm) -> PodAffinityTerm:
    return PodAffinityTerm(
        selector_of(term.label_selector), label_key(term.topology_key), tuple(term.namespaces)
    )


def _pod_affinity(
    affinity: kube.PodAffinity | None,
) -> tuple[tuple[PodAffinityTerm, ...], tuple[WeightedPodAffinityTerm, ...]]:
    if affinity is None:
        return (), ()
    required = tuple(_pod_term(t) for t in affinity.required)
    preferred = tuple(
        WeightedPodAffinityTerm(w.weight, _pod_term(w.pod_affinity_term))
        for w in affinity.preferred
    )
    return required, preferred


def template_of(
    deployment: spec.Deployment, containers: spec.Containers, scheduler: str = DEFAULT_PROFILE
) -> PodTemplate:
    """The pod template a deployment stamps out (aliases resolved to full label keys)."""
    d = deployment
    labels = d.pod_labels
    requests = d.pod_requests
    priority, policy = priority_of(containers, d.priority_class)
    node_affinity = d.node_affinity or kube.NodeAffinity()
    required_affinity, preferred_affinity = _pod_affinity(d.pod_affinity)
    required_anti, preferred_anti = _pod_affinity(d.pod_anti_affinity)
    own = LabelSelector.of(labels)
    return PodTemplate(
        namespace=d.namespace,
        labels=tuple(sorted(labels.items())),
        cpu=requests.cpu,
        memory=requests.memory,
        gpu=requests.gpu,
        gpu_milli=requests.gpu_milli,
        cpu_limit=d.limits.cpu if d.limits is not None and d.limits.cpu else None,
        memory_limit=d.limits.memory if d.limits is not None and d.limits.memory else None,
        priority=priority,
        preemption_policy="Never" if policy == "Never" else "PreemptLowerPriority",
        tolerations=tuple(
            Toleration(t.key, t.operator, t.value, t.effect, t.toleration_seconds)
            for t in d.tolerations
        ),
        node_selector=tuple(sorted((label_key(k), v) for k, v in d.node_selector.items())),
        required_node_affinity=(
            tuple(_node_term(t) for t in node_affinity.required) if node_affinity.required else None
        ),
        preferred_node_affinity=tuple(
            PreferredSchedulingTerm(p.weight, _node_term(p.preference))
            for p in node_affinity.preferred
        ),
        required_affinity=required_affinity,
        preferred_affinity=preferred_affinity,
        required_anti_affinity=required_anti,
        preferred_anti_affinity=preferred_anti,
        topology_spread=tuple(
            TopologySpreadConstraint(
                c.max_skew,
                label_key(c.topology_key),
                c.when_unsatisfiable,
                selector_of(c.label_selector) if c.label_selector is not None else own,
                c.min_domains,
                c.node_affinity_policy,
                c.node_taints_policy,
            )
            for c in d.topology_spread
        ),
        owner_selector=own,
        owner=d.name,
        scheduler_name=d.scheduler_name or scheduler,
    )


def budget_of(pdb: spec.PodDisruptionBudget) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        pdb.name, selector_of(pdb.selector), pdb.namespace, pdb.min_available, pdb.max_unavailable
    )


# -- nodes ------------------------------------------------------------------------------
def _pool(scenario: Scenario, name: str) -> tuple[int, Pool]:
    for i, pool in enumerate(scenario.pools):
        if pool.name == name:
            return i, pool
    raise KeyError(name)


def node_request(scenario: Scenario, group: spec.NodeGroup, hosts: HostTable) -> Request:
    """The IaaS request of one node VM of ``group`` (its flavor, on its pool's hosts)."""
    from cloudsim.placement.core import Request

    _, pool = _pool(scenario, group.pool)
    flavor = next(f for f in scenario.flavors if f.name == group.flavor)
    classes = {hc.name: hc for hc in scenario.host_classes}
    arches = {classes[g.host_class].arch for g in pool.hosts}
    departments = [d.name for d in scenario.departments]
    return Request(
        demand=np.array(
            [flavor.vcpus * 1000, flavor.memory, flavor.disk, flavor.network_mbps], dtype=np.int64
        ),
        zone=hosts.zone_names.index(pool.zone),
        datacenters=(hosts.datacenter_names.index(pool.datacenter),),
        arch=ARCHES.index(next(iter(arches))) if len(arches) == 1 else -1,
        department=departments.index(pool.dedicated_to) if pool.dedicated_to else -1,
        purposes=(PURPOSES.index(pool.purpose),),
    )


def group_options(group: spec.NodeGroup) -> dict[str, Any]:
    """What every node of ``group`` shares: system reserve, pod slots, labels and taints."""
    return {
        "reserve": reserve_vector(group.system_reserved.cpu, group.system_reserved.memory),
        "max_pods": group.max_pods,
        "labels": dict(group.labels),
        "taints": [Taint(t.key, t.value, t.effect) for t in group.taints],
    }


def _pool_hosts(hosts: HostTable, pool_index: int) -> IntArray:
    return np.flatnonzero(hosts.pool == pool_index).astype(np.int64)


def take_hosts(
    hosts: HostTable, pool_index: int, count: int | None, taken: dict[int, int]
) -> IntArray:
    """The hosts of a bare-metal node group: the next ``count`` (None: all the rest) of its
    pool's hosts that an earlier group did not take (``taken``: per pool, hosts taken)."""
    rows = _pool_hosts(hosts, pool_index)
    start = taken.get(pool_index, 0)
    chosen = rows[start : start + (len(rows) - start if count is None else count)]
    taken[pool_index] = start + len(chosen)
    return chosen


def vm_group(
    scenario: Scenario,
    cluster: spec.Cluster,
    group: spec.NodeGroup,
    hosts: HostTable,
    host_rows: IntArray,
    names: list[str] | None = None,
) -> NodeGroup:
    flavor = next(f for f in scenario.flavors if f.name == group.flavor)
    if names is None:
        names = [f"{cluster.name}-{group.name}-{k:03d}" for k in range(len(host_rows))]
    return vm_nodes(
        hosts,
        host_rows,
        names,
        cpu=flavor.vcpus * 1000,
        memory=flavor.memory,
        **group_options(group),
    )


def build_nodes(
    scenario: Scenario, cluster: spec.Cluster, hosts: HostTable, placer: Placer
) -> tuple[NodeTable, dict[str, int]]:
    """The cluster's nodes, placing node VMs with ``placer`` (their resources are taken on the
    hosts). Returns the table and, per node group, the VMs that found no host."""
    table = NodeTable()
    unplaced: dict[str, int] = {}
    taken: dict[int, int] = {}
    for group in cluster.node_groups:
        pool_index, _ = _pool(scenario, group.pool)
        if group.flavor is None:
            chosen = take_hosts(hosts, pool_index, group.count, taken)
            table.add(bare_metal_nodes(hosts, chosen, **group_options(group)))
            continue
        req = node_request(scenario, group, hosts)
        placed = [placer.place(req) for _ in range(group.count or 0)]
        ok = np.array([h for h in placed if h >= 0], dtype=np.int64)
        unplaced[group.name] = len(placed) - len(ok)
        if len(ok):
            table.add(vm_group(scenario, cluster, group, hosts, ok))
    return table, unplaced


def potential_nodes(scenario: Scenario, cluster: spec.Cluster, hosts: HostTable) -> NodeTable:
    """Every node the cluster could have on an empty platform: for a VM group, one per host
    its flavor fits; for a bare-metal group, its hosts. What validation checks against."""
    from cloudsim.placement.core import Placer

    placer = Placer(hosts, np.random.default_rng(0), filters=scenario.placement.filters)
    table = NodeTable()
    if cluster.trace_nodes is not None and Path(cluster.trace_nodes).is_file():
        table.add(read_openb_nodes(cluster.trace_nodes))
    for group in cluster.node_groups:
        pool_index, _ = _pool(scenario, group.pool)
        if group.flavor is None:
            rows = _pool_hosts(hosts, pool_index)
            table.add(bare_metal_nodes(hosts, rows[: group.count], **group_options(group)))
            continue
        req = node_request(scenario, group, hosts)
        fits = placer.static_mask(req) & np.all(hosts.limit >= req.demand[:, None], axis=0)
        rows = np.flatnonzero(fits).astype(np.int64)
        names = [f"{cluster.name}-{group.name}@{hosts.names[h]}" for h in rows]
        if len(rows):
            table.add(vm_group(scenario, cluster, group, hosts, rows, names))
    return table


# -- whole clusters ---------------------------------------------------------------------
@dataclass
class ClusterSetup:
    """One cluster ready to schedule: its schedulers by profile and its deployments."""

    cluster: Cluster
    schedulers: dict[str, Scheduler]
    deployments: dict[str, PodTemplate]
    replicas: dict[str, int]
    unplaced_nodes: dict[str, int] = field(default_factory=dict)

    def submit_all(self, time: float = 0.0) -> None:
        """Create every deployment's replicas and queue them with their scheduler."""
        for name, template in self.deployments.items():
            scheduler = self.schedulers[template.scheduler_name]
            scheduler.submit(template, self.replicas[name], name=name, time=time)


def setup_clusters(
    scenario: Scenario,
    hosts: HostTable,
    placer: Placer,
    rng: np.random.Generator,
    profiles: Mapping[str, Profile] | None = None,
) -> dict[str, ClusterSetup]:
    """Build every cluster of the scenario (nodes placed now) with its schedulers."""
    containers = scenario.containers
    if containers is None:
        return {}
    profiles = dict(profiles) if profiles is not None else profiles_of(containers)
    out: dict[str, ClusterSetup] = {}
    for cluster_spec in containers.clusters:
        nodes, unplaced = build_nodes(scenario, cluster_spec, hosts, placer)
        cluster = Cluster(nodes, cluster_spec.name)
        cluster.pdbs = [budget_of(p) for p in containers.pdbs if p.cluster == cluster_spec.name]
        templates = {
            d.name: template_of(d, containers, cluster_spec.scheduler)
            for d in containers.deployments
            if d.cluster == cluster_spec.name
        }
        wanted = {t.scheduler_name for t in templates.values()} | {cluster_spec.scheduler}
        schedulers = {name: Scheduler(cluster, profiles[name], rng=rng) for name in sorted(wanted)}
        replicas = {
            d.name: d.replicas for d in containers.deployments if d.cluster == cluster_spec.name
        }
        out[cluster_spec.name] = ClusterSetup(cluster, schedulers, templates, replicas, unplaced)
    return out
