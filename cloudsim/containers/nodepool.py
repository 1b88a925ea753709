"""The container clusters' nodes on the IaaS platform: node VMs as cloud hosts, bare-metal
hosts taken whole, and the ground truth of the hosts under the nodes.

:class:`NodePool` places every node VM through a placer of its own (seeded from the
``containers`` stream, so the IaaS decisions of a run do not depend on whether it has a
container part) on the hosts of the node group's pool centre, zone and purpose, and
registers each one in the platform's VM table as a cloud host of the cluster's ``system``
(event ``create``, its department's quota counted and enforced); what cannot be created is
recorded as rejected. Bare-metal node hosts are taken out of IaaS placement whole. Node
VMs that local HA restarts elsewhere are followed; a removed node's VM is deleted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cloudsim.containers.build import group_options, node_request, take_hosts, vm_group
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import NodeGroup, bare_metal_nodes, host_labels
from cloudsim.containers.openb import read_openb_nodes
from cloudsim.containers.runtime import ClusterState
from cloudsim.placement.core import Placer
from cloudsim.platform.platform import Platform
from cloudsim.records import Recorder
from cloudsim.state.hosts import PURPOSES, HostTable
from cloudsim.world import World

CONTAINER_PURPOSE = PURPOSES.index("container")
#: A node VM: (host, VM row, VM id).
NodeVM = tuple[int, int, int]


class NodePool:
    """Every cluster's nodes on the run's hosts and platform (see the module docstring)."""

    def __init__(
        self,
        world: World,
        hosts: HostTable,
        platform: Platform,
        recorder: Recorder,
        placer: Placer,
    ) -> None:
        self.world = world
        self.scenario = world.scenario
        self.hosts = hosts
        self.platform = platform
        self.recorder = recorder
        self.placer = placer
        self._node_serial: dict[tuple[int, int], int] = {}

    # -- ground truth -----------------------------------------------------------------------
    def host_up(self, rows: IntArray) -> BoolArray:
        """Whether hosts ``rows`` are up now."""
        result: BoolArray = self.hosts.up[rows]
        return result

    def host_version(self) -> int:
        """Bumped when a host's state changes (what the clusters cache node states on)."""
        return self.hosts.version

    # -- the nodes at the start -----------------------------------------------------------
    def provision(self, cs: ClusterState) -> None:
        """The cluster's nodes at the start: its trace's nodes, node VMs ordered now, and
        bare-metal hosts taken (before the tenants' initial placement)."""
        cspec = cs.spec
        hosts = self.hosts
        if cspec.trace_nodes is not None:
            group = read_openb_nodes(Path(cspec.trace_nodes))
            self._add(cs, group, -1, np.full(group.size, -1, dtype=np.int64), 0.0)
        taken: dict[int, int] = {}
        for g, group_spec in enumerate(cspec.node_groups):
            if group_spec.flavor is not None:
                placed = self.order(cs, g, group_spec.count or 0, 0.0)
                self.join(cs, g, placed, 0.0)
                continue
            pool = self.world.pools.index_of(group_spec.pool or "")
            chosen = take_hosts(hosts, pool, group_spec.count, taken)
            for h in chosen.tolist():  # the whole host goes to the container cloud
                hosts.allocate(h, hosts.free[:, h].copy())
            hosts.purpose[chosen] = CONTAINER_PURPOSE
            hosts.version += 1
            group = bare_metal_nodes(hosts, chosen, **group_options(group_spec))
            self._add(cs, group, g, np.full(len(chosen), -1, dtype=np.int64), 0.0)

    def _add(
        self, cs: ClusterState, group: NodeGroup, g: int, vm_rows: IntArray, now: float
    ) -> None:
        cs.nodes.add(group)
        ids = np.full(len(vm_rows), -1, dtype=np.int64)
        vms = self.platform.vms
        has = vm_rows >= 0
        ids[has] = vms.ints["vm_id"][vm_rows[has]]
        cs.info.extend(g, vm_rows, ids, now)
        if g >= 0 and cs.spec.node_groups[g].unschedulable:
            cs.nodes.set_unschedulable(np.arange(cs.nodes.size - group.size, cs.nodes.size))

    # -- node VMs (cloud hosts of the cluster's system) -----------------------------------
    def _owner(self, cs: ClusterState) -> tuple[int, int]:
        assert cs.spec.system is not None
        system = self.world.systems.index_of(cs.spec.system)
        return system, self.platform.profiles[system].department

    def quota_room(self, cs: ClusterState, g: int) -> int:
        """How many more node VMs of group ``g`` the department's quota allows."""
        flavor = self.world.flavors.index_of(cs.spec.node_groups[g].flavor or "")
        return self.platform.quota_room(self._owner(cs)[1], flavor)

    def order(self, cs: ClusterState, g: int, count: int, now: float) -> list[NodeVM]:
        """Create up to ``count`` node VMs of group ``g`` (quota first, then placement);
        what cannot be created is recorded as rejected. Returns (host, vm row, vm id)."""
        if count <= 0:
            return []
        platform = self.platform
        group = cs.spec.node_groups[g]
        flavor = self.world.flavors.index_of(group.flavor or "")
        system, department = self._owner(cs)
        allowed = min(count, platform.quota_room(department, flavor))
        if allowed < count:
            reason = platform.quota_blocker(department, flavor, count)
            assert reason is not None
            platform.reject(system, flavor, count - allowed, reason, now)
        req = node_request(self.scenario, group, self.hosts)
        placed = self.placer.place_batch(req, allowed) if allowed else []
        ok = [h for h in placed if h >= 0]
        if len(ok) < allowed:
            platform.reject(system, flavor, allowed - len(ok), self.placer.reject_reason(req), now)
        rows = platform.admit(system, flavor, ok, now, reason=f"node:{cs.name}")
        ids = platform.vms.ints["vm_id"]
        return [(host, row, int(ids[row])) for host, row in zip(ok, rows, strict=True)]

    def join(self, cs: ClusterState, g: int, placed: list[NodeVM], now: float) -> None:
        """The node VMs ``placed`` join the cluster as Ready nodes of group ``g``."""
        if not placed:
            return
        group = cs.spec.node_groups[g]
        first = self._node_serial.get((cs.index, g), 0)
        self._node_serial[(cs.index, g)] = first + len(placed)
        names = [f"{cs.name}-{group.name}-{first + k:03d}" for k in range(len(placed))]
        hosts = np.array([h for h, _, _ in placed], dtype=np.int64)
        nodes = vm_group(self.scenario, cs.spec, group, self.hosts, hosts, names)
        self._add(cs, nodes, g, np.array([r for _, r, _ in placed], dtype=np.int64), now)

    def release(self, cs: ClusterState, node: int, now: float) -> None:
        """Delete the VM under a removed node: host capacity and quota come back."""
        info = cs.info
        row = int(info.vm_row[node])
        if row < 0:
            return
        info.vm_row[node] = -1
        vms = self.platform.vms
        if not vms.live[row] or int(vms.ints["vm_id"][row]) != int(info.vm_id[node]):
            return
        self.platform.delete(row, now, reason=f"node:{cs.name}", placer=self.placer)

    def template_node(self, cs: ClusterState, g: int) -> NodeGroup:
        """An empty node of group ``g`` on the first host of its pool (autoscaler estimates)."""
        group = cs.spec.node_groups[g]
        pool = self.world.pools.index_of(group.pool or "")
        host = np.flatnonzero(self.hosts.pool == pool)[:1].astype(np.int64)
        return vm_group(self.scenario, cs.spec, group, self.hosts, host, [f"template-{group.name}"])

    def refresh_hosts(self, cs: ClusterState, now: float) -> None:
        """Follow node VMs that local HA restarted on another host; drop nodes whose VM is
        gone (lost)."""
        info = cs.info
        vms = self.platform.vms
        nodes = np.flatnonzero(info.present & (info.vm_row >= 0))
        if not len(nodes):
            return
        rows = info.vm_row[nodes]
        alive = vms.live[rows] & (vms.ints["vm_id"][rows] == info.vm_id[nodes])
        for node in nodes[~alive].tolist():
            info.vm_row[node] = -1
            cs.remove_node(node, now)
        nodes, rows = nodes[alive], rows[alive]
        host = vms.ints["host"][rows]
        moved = host != cs.nodes.host[nodes]
        if moved.any():
            nodes, host = nodes[moved], host[moved]
            cs.nodes.host[nodes] = host
            for key, values in host_labels(self.hosts, host).items():
                cs.nodes.labels.set(key, nodes, values)
            cs.nodes.version += 1
