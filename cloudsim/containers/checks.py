"""Validation of the ``containers`` section against the rest of the scenario.

:func:`reference_problems` checks names (clusters, pools, flavors, profiles, plugins,
priority classes); :func:`feasibility_problems` builds every node a cluster could have on
an empty platform and checks each deployment with the scheduler's own plugins: a required
node affinity or selector no node can match, requests larger than every node, a required
topology key no node has. Each problem is a :class:`~cloudsim.kernel.Finding` at the
scenario path of the offending field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from cloudsim.containers.build import (
    BUILTIN_PRIORITIES,
    DEFAULT_PROFILE,
    potential_nodes,
    template_of,
)
from cloudsim.containers.cluster import Cluster
from cloudsim.containers.labels import IntArray
from cloudsim.containers.nodes import (
    CPU,
    GPU,
    GPU_MILLI,
    LABEL_ALIASES,
    MEMORY,
    NodeTable,
    label_key,
)
from cloudsim.containers.openb import read_openb_nodes, read_openb_pods
from cloudsim.containers.scheduler import PLUGINS, FilterPlugin, ScorePlugin
from cloudsim.containers.scheduler.plugins import required_node_affinity
from cloudsim.kernel import Finding
from cloudsim.registry import did_you_mean
from cloudsim.scenario.checks import Loc, events_problem
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World

Found = list[tuple[Loc, str]]
ROOT: Loc = ("containers",)


def _unique(found: Found, loc: Loc, names: Iterable[str], what: str) -> set[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            found.append(((*loc, i, "name"), f"duplicate name {name!r} in {what}"))
        seen.add(name)
    return seen


def reference_problems(scenario: Scenario) -> list[Finding]:
    """Names used in ``containers`` that are not defined (once) where they should be."""
    c = scenario.containers
    if c is None:
        return []
    found: Found = []
    classes = _unique(
        found, (*ROOT, "priority_classes"), (p.name for p in c.priority_classes), "priority classes"
    )
    profiles = _unique(found, (*ROOT, "profiles"), (p.name for p in c.profiles), "profiles") | {
        DEFAULT_PROFILE
    }
    clusters = _unique(found, (*ROOT, "clusters"), (x.name for x in c.clusters), "clusters")
    _unique(found, (*ROOT, "deployments"), (d.name for d in c.deployments), "deployments")
    _unique(found, (*ROOT, "pdbs"), (p.name for p in c.pdbs), "disruption budgets")
    defaults = [i for i, p in enumerate(c.priority_classes) if p.global_default]
    for i in defaults[1:]:
        found.append(
            (
                (*ROOT, "priority_classes", i, "global_default"),
                "only one priority class may be the global default",
            )
        )
    for i, profile in enumerate(c.profiles):
        for name in profile.plugins:
            if name not in PLUGINS:
                found.append(
                    (
                        (*ROOT, "profiles", i, "plugins", name),
                        PLUGINS.unknown(name),
                    )
                )
            elif not issubclass(PLUGINS.get(name), ScorePlugin):
                found.append(
                    ((*ROOT, "profiles", i, "plugins", name), f"plugin {name!r} does not score")
                )
        for j, name in enumerate(profile.filters):
            where = (*ROOT, "profiles", i, "filters", j)
            if name not in PLUGINS:
                found.append((where, PLUGINS.unknown(name)))
            elif not issubclass(PLUGINS.get(name), FilterPlugin):
                found.append((where, f"plugin {name!r} is not a filter"))
        for j, name in enumerate(profile.disabled):
            if name not in PLUGINS:
                found.append(
                    (
                        (*ROOT, "profiles", i, "disabled", j),
                        PLUGINS.unknown(name),
                    )
                )

    pools = {p.name: p for p in scenario.pools}
    flavors = {f.name for f in scenario.flavors}
    bare_metal_taken: dict[str, int] = {}
    for i, cluster in enumerate(c.clusters):
        loc: Loc = (*ROOT, "clusters", i)
        if cluster.scheduler not in profiles:
            found.append(
                (
                    (*loc, "scheduler"),
                    did_you_mean(cluster.scheduler, profiles, "scheduler profile"),
                )
            )
        _unique(found, (*loc, "node_groups"), (g.name for g in cluster.node_groups), "node groups")
        for j, group in enumerate(cluster.node_groups):
            gloc: Loc = (*loc, "node_groups", j)
            pool = pools.get(group.pool)
            if pool is None:
                found.append(((*gloc, "pool"), did_you_mean(group.pool, pools, "pool")))
                continue
            if group.flavor is not None:
                if group.flavor not in flavors:
                    found.append(((*gloc, "flavor"), did_you_mean(group.flavor, flavors, "flavor")))
                continue
            taken = bare_metal_taken.get(pool.name, 0)
            want = pool.host_count - taken if group.count is None else group.count
            if taken + want > pool.host_count:
                found.append(
                    (
                        (*gloc, "count"),
                        f"pool {pool.name!r} has {pool.host_count} hosts, {taken} already "
                        f"taken as bare-metal nodes; {want} more asked",
                    )
                )
            bare_metal_taken[pool.name] = taken + max(want, 0)
        for j, group in enumerate(cluster.node_groups):
            reserved = [k for k in group.labels if k in LABEL_ALIASES]
            for key in reserved:
                found.append(
                    (
                        (*loc, "node_groups", j, "labels", key),
                        f"{key!r} is reserved: it is the short name of the label "
                        f"{LABEL_ALIASES[key]!r}, which nodes get from their host",
                    )
                )
    known_classes = classes | set(BUILTIN_PRIORITIES)
    for i, d in enumerate(c.deployments):
        loc = (*ROOT, "deployments", i)
        if d.cluster not in clusters:
            found.append(((*loc, "cluster"), did_you_mean(d.cluster, clusters, "cluster")))
        if d.priority_class is not None and d.priority_class not in known_classes:
            found.append(
                (
                    (*loc, "priority_class"),
                    did_you_mean(d.priority_class, known_classes, "priority class"),
                )
            )
        if d.scheduler_name is not None and d.scheduler_name not in profiles:
            found.append(
                (
                    (*loc, "scheduler_name"),
                    did_you_mean(d.scheduler_name, profiles, "scheduler profile"),
                )
            )
    for i, pdb in enumerate(c.pdbs):
        if pdb.cluster not in clusters:
            found.append(
                ((*ROOT, "pdbs", i, "cluster"), did_you_mean(pdb.cluster, clusters, "cluster"))
            )
    found += _run_time_problems(scenario)
    return [Finding(loc, message) for loc, message in found]


def _file_problem(
    found: Found, loc: Loc, path: str, what: str, read: Callable[[str], object]
) -> None:
    """Read the data file the run will read: any problem of it (missing, not a regular
    file, a row with a bad value: its line and column) is found at validation."""
    if not Path(path).exists():
        found.append((loc, f"no such {what} file: {path}"))
        return
    try:
        read(path)
    except ValueError as exc:
        found.append((loc, str(exc)))


def _run_time_problems(scenario: Scenario) -> Found:
    """Names and files the controllers, services and trace replay refer to."""
    c = scenario.containers
    assert c is not None
    found: Found = []
    systems = {s.name for s in scenario.systems}
    clusters = {x.name: x for x in c.clusters}
    deployments = {d.name: d for d in c.deployments}
    for i, cluster in enumerate(c.clusters):
        loc: Loc = (*ROOT, "clusters", i)
        vm_groups = [g.name for g in cluster.node_groups if g.flavor is not None]
        if cluster.system is None and vm_groups:
            found.append(
                (
                    (*loc, "system"),
                    f"node groups {vm_groups} are VMs: name the business system whose cloud "
                    "hosts they are (its department's quota applies)",
                )
            )
        elif cluster.system is not None and cluster.system not in systems:
            found.append(((*loc, "system"), did_you_mean(cluster.system, systems, "system")))
        if cluster.trace_nodes is not None:
            _file_problem(
                found,
                (*loc, "trace_nodes"),
                cluster.trace_nodes,
                "openb node list",
                read_openb_nodes,
            )
    for i, d in enumerate(c.deployments):
        if d.system is not None and d.system not in systems:
            found.append(
                ((*ROOT, "deployments", i, "system"), did_you_mean(d.system, systems, "system"))
            )
    _unique(found, (*ROOT, "services"), (s.name for s in c.services), "services")
    for i, svc in enumerate(c.services):
        loc = (*ROOT, "services", i)
        if svc.cluster not in clusters:
            found.append(((*loc, "cluster"), did_you_mean(svc.cluster, clusters, "cluster")))
        if svc.deployment is not None:
            dep = deployments.get(svc.deployment)
            if dep is None:
                found.append(
                    ((*loc, "deployment"), did_you_mean(svc.deployment, deployments, "deployment"))
                )
            elif dep.cluster != svc.cluster:
                found.append(
                    (
                        (*loc, "deployment"),
                        f"deployment {svc.deployment!r} runs in cluster {dep.cluster!r}, "
                        f"not {svc.cluster!r}",
                    )
                )
        if svc.system is not None and svc.system not in systems:
            found.append(((*loc, "system"), did_you_mean(svc.system, systems, "system")))
    _unique(found, (*ROOT, "hpas"), (h.name for h in c.hpas), "HPAs")
    scaled: set[str] = set()
    for i, hpa in enumerate(c.hpas):
        loc = (*ROOT, "hpas", i, "deployment")
        if hpa.deployment not in deployments:
            found.append((loc, did_you_mean(hpa.deployment, deployments, "deployment")))
        elif hpa.deployment in scaled:
            found.append((loc, f"deployment {hpa.deployment!r} already has an HPA"))
        scaled.add(hpa.deployment)
    if c.replay is not None:
        loc = (*ROOT, "replay")
        if c.replay.cluster not in clusters:
            found.append(((*loc, "cluster"), did_you_mean(c.replay.cluster, clusters, "cluster")))
        pods: list[int] = []

        def read_pods(path: str) -> None:
            data = read_openb_pods(path)
            known = int(np.count_nonzero(~np.isnan(data.creation)))
            pods.append(
                known if c.replay is None or c.replay.limit is None else min(known, c.replay.limit)
            )

        _file_problem(found, (*loc, "pods"), c.replay.pods, "openb pod list", read_pods)
        if pods:  # a creation and a deletion each
            too_many = events_problem(scenario, {(*loc, "pods"): 2.0 * pods[0]})
            if too_many is not None:
                found.append((too_many.loc, too_many.message))
    return found


def _describe(cpu: int, memory: int, gpus: int = 0, share: int = 0) -> str:
    parts = [f"cpu {cpu}m", f"memory {memory} MiB"]
    if gpus:
        parts.append(f"{gpus} GPU")
    if share:
        parts.append(f"{share} milli-GPU of one GPU")
    return ", ".join(parts)


def _request_problem(nodes: NodeTable, need: IntArray, cluster: str) -> str | None:
    """Why no node of the table could ever hold the request, or None."""
    if not nodes.size:
        return f"cluster {cluster!r} can have no node at all"
    alloc = nodes.allocatable
    cpu, memory, whole, share = (int(need[r]) for r in (CPU, MEMORY, GPU, GPU_MILLI))
    fits = (alloc[CPU] >= cpu) & (alloc[MEMORY] >= memory) & (alloc[GPU] >= max(whole, share > 0))
    if fits.any():
        return None
    largest = _describe(int(alloc[CPU].max()), int(alloc[MEMORY].max()), int(alloc[GPU].max()))
    return (
        f"requests ({_describe(cpu, memory, whole, share)}) exceed the allocatable of every "
        f"node of cluster {cluster!r} (largest allocatable per resource: {largest})"
    )


def feasibility_problems(world: World) -> list[Finding]:
    """What no node of a cluster can satisfy, checked with the scheduler's plugins."""
    scenario = world.scenario
    c = scenario.containers
    if c is None:
        return []
    found: Found = []
    hosts = world.hosts
    tables: dict[str, NodeTable] = {}
    for i, cluster_spec in enumerate(c.clusters):
        table = potential_nodes(scenario, cluster_spec, hosts)
        tables[cluster_spec.name] = table
        for j, group in enumerate(cluster_spec.node_groups):
            prefix = f"{cluster_spec.name}-{group.name}@"
            if group.flavor is not None and not any(n.startswith(prefix) for n in table.names):
                found.append(
                    (
                        (*ROOT, "clusters", i, "node_groups", j, "flavor"),
                        f"flavor {group.flavor!r} fits on no host of pool {group.pool!r} "
                        "(hosts of its centre, zone and purpose)",
                    )
                )
    for i, d in enumerate(c.deployments):
        found_table = tables.get(d.cluster)
        if found_table is None:
            continue
        table = found_table
        loc: Loc = (*ROOT, "deployments", i)
        scheduler = next(x.scheduler for x in c.clusters if x.name == d.cluster)
        template = template_of(d, c, scheduler)
        cluster = Cluster(table, d.cluster)
        problem = _request_problem(table, template.need(), d.cluster)
        if problem is not None:
            found.append(((*loc, "requests" if d.requests is not None else "limits"), problem))
        affinity = required_node_affinity(cluster, template)
        if affinity is not None and table.size and not affinity.any():
            field = (
                "node_affinity" if d.node_affinity and d.node_affinity.required else "node_selector"
            )
            sub: Loc = (field, "required") if field == "node_affinity" else (field,)
            found.append(
                (
                    (*loc, *sub),
                    f"no node of cluster {d.cluster!r} can match it (node labels come from "
                    "the pool's hosts, the node groups' labels and the well-known keys)",
                )
            )
        for j, constraint in enumerate(d.topology_spread):
            key = label_key(constraint.topology_key)
            if (
                constraint.when_unsatisfiable == "DoNotSchedule"
                and table.size
                and not (table.labels.column(key) >= 0).any()
            ):
                found.append(
                    (
                        (*loc, "topology_spread", j, "topology_key"),
                        f"no node of cluster {d.cluster!r} has the label {key!r}: "
                        "every pod would stay pending",
                    )
                )
        for j, term in enumerate(d.pod_affinity.required if d.pod_affinity else []):
            key = label_key(term.topology_key)
            if table.size and not (table.labels.column(key) >= 0).any():
                found.append(
                    (
                        (*loc, "pod_affinity", "required", j, "topology_key"),
                        f"no node of cluster {d.cluster!r} has the label {key!r}: "
                        "every pod would stay pending",
                    )
                )
    return [Finding(loc, message) for loc, message in found]
