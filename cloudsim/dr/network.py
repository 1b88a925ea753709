"""Ground truth of the DR network: live centres, routes, heartbeat routes and throughput.

Routes follow the topology without the failed sites, centres and links, and add the
degradation of the links they use (extra latency, packet loss). Two channels: heartbeats,
quorum messages and synchronous replication use the *direct* link between two centres when
there is one (the dedicated interconnect; its cut is a partition even if traffic could go
round), everything else the lowest-latency route. Replication over a lossy route gets the
TCP throughput of its parallel streams (Mathis et al.: 1.22 MSS / (RTT sqrt(p)) each).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.dr.detection import CLEAN, CUT, Route
from cloudsim.platform.components import ComponentState
from cloudsim.platform.links import Links
from cloudsim.scenario.dr import DR
from cloudsim.state.hosts import HostTable
from cloudsim.world import World

MSS_BITS = 1460 * 8
#: Parallel replication streams on one route.
STREAMS = 16
#: (exists, round trip ms, loss, bottleneck Gbit/s)
RouteInfo = tuple[bool, float, float, float]


class NetworkTruth:
    """What is really alive and connected, asked by the DR controller."""

    def __init__(
        self,
        world: World,
        hosts: HostTable,
        components: ComponentState,
        spec: DR,
        witness: str | None,
        witness_site: str | None,
        routes: Links,
    ) -> None:
        scenario = world.scenario
        self.routes = routes
        self.hosts = hosts
        self.topology = world.topology
        self.components = components
        self.spec = spec
        self.witness = witness
        self.centres: tuple[str, ...] = hosts.datacenter_names
        self.links: dict[frozenset[int], int] = {}
        self.link_ends: list[tuple[int, int]] = []
        self._latency: list[float] = []
        self._bandwidth: list[float] = []
        for i, link in enumerate(scenario.links):
            a, b = (self.centres.index(x) for x in link.between)
            self.links[frozenset((a, b))] = i
            self.link_ends.append((a, b))
            self._latency.append(link.one_way_ms)
            self._bandwidth.append(link.bandwidth_gbps)
        self.witness_centres: list[int] = [
            i for i, dc in enumerate(scenario.datacenters) if dc.site == witness_site
        ]
        #: Centres with at least one host up.
        self.alive: npt.NDArray[np.bool_] = np.ones(len(self.centres), dtype=np.bool_)
        self._key: tuple[Any, ...] | None = None
        self._cache: dict[tuple[int, int, bool], RouteInfo] = {}

    def refresh(self) -> bool:
        """Read the ground truth again; True if any centre's life or any route changed."""
        self.alive = (
            np.bincount(self.hosts.datacenter, weights=self.hosts.up, minlength=len(self.centres))
            > 0
        )
        inj = self.components
        key = (
            self.alive.tobytes(),
            inj.removed(),
            inj.link_loss.tobytes(),
            inj.link_extra_ms.tobytes(),
            self.witness_alive(),
        )
        if key == self._key:
            return False
        self._key = key
        self._cache.clear()
        return True

    def route(self, a: int, b: int, direct: bool) -> RouteInfo:
        """From centre a to b: the direct link (``direct`` and there is one) or the
        lowest-latency route."""
        key = (a, b, direct)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found: RouteInfo
        if a == b:
            found = (True, 0.0, 0.0, math.inf)
        else:
            removed = self.components.removed()
            link = self.links.get(frozenset((a, b))) if direct else None
            hops: list[int] | None
            if link is not None:
                name = self.components.catalog.names["link"][link]
                hops = None if name in removed else [link]
            else:
                try:
                    path = self.topology.path(self.centres[a], self.centres[b], removed)
                except ValueError:
                    hops = None
                else:
                    index = [self.centres.index(x) for x in path]
                    hops = [self.links[frozenset(h)] for h in pairwise(index)]
            if hops is None:
                found = (False, math.inf, 1.0, 0.0)
            else:
                loss = self.components.link_loss
                extra = self.components.link_extra_ms
                rtt = 2 * sum(self._latency[h] + float(extra[h]) for h in hops)
                survive = math.prod(1.0 - float(loss[h]) for h in hops)
                found = (True, rtt, 1.0 - survive, min(self._bandwidth[h] for h in hops))
        self._cache[key] = found
        return found

    def path_links(self, a: int, b: int) -> list[int] | None:
        """The links of the lowest-latency route from a to b now ([] when a == b; None:
        no route): the run's shared network routes it (:meth:`Links.wan_links`)."""
        return self.routes.wan_links(a, b)

    def throughput(self, a: int, b: int) -> float:
        """Bytes/s replication gets from a to b (any route)."""
        exists, rtt, loss, gbps = self.route(a, b, False)
        if not exists or not (self.alive[a] and self.alive[b]):
            return 0.0
        bps = gbps * 1e9
        if loss > 0:
            bps = min(bps, STREAMS * 1.22 * MSS_BITS / (max(rtt, 0.1) / 1000 * math.sqrt(loss)))
        return bps / 8

    def sync_ok(self, a: int, b: int) -> bool:
        """Both alive and the interconnect's round trip within the synchronous limit."""
        exists, rtt, _, _ = self.route(a, b, True)
        return (
            exists and rtt <= self.spec.sync_rtt_limit_ms and bool(self.alive[a] and self.alive[b])
        )

    def can_tell(self, a: int, b: int) -> bool:
        """Centre a can reach live centre b over the heartbeat channel."""
        return bool(self.alive[a] and self.alive[b]) and self.route(a, b, True)[0]

    def witness_alive(self) -> bool:
        return self.witness is not None and not self.components.witness_down()

    def node_alive(self, node: str) -> bool:
        if node == self.witness:
            return self.witness_alive()
        return bool(self.alive[self.centres.index(node)])

    def reaches_witness(self, c: int) -> bool:
        if self.witness is None or not self.alive[c]:
            return False
        return self.node_route(self.centres[c], self.witness).up

    def node_route(self, x: str, y: str) -> Route:
        """The heartbeat route from node x to node y (centres, or the witness, which is
        reached through the centres of its site)."""
        timeout_ms = self.spec.heartbeat.timeout * 1000
        ends: list[int | None] = []
        for node in (x, y):
            if node == self.witness:
                if not self.witness_alive():
                    return CUT
                ends.append(None)
            else:
                c = self.centres.index(node)
                if not self.alive[c]:
                    return CUT
                ends.append(c)
        a, b = ends
        if a is not None and b is not None:
            candidates = [(a, b)]
        else:
            centre = a if a is not None else b
            assert centre is not None
            candidates = [(centre, w) for w in self.witness_centres]
        best: Route = CUT
        for a_, b_ in candidates:
            exists, rtt, loss, _ = self.route(a_, b_, True)
            if exists and rtt <= timeout_ms and (not best.up or loss < best.loss):
                best = Route(True, loss) if loss > 0 else CLEAN
        return best
