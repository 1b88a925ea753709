"""The run's links as one shared fluid network: every transfer of every module competes here.

Link ``i < L`` is the scenario's ``links[i]`` (its bandwidth, its one-way latency plus any
degradation); link ``L + c`` is data centre ``c``'s own network, the LAN a migration between
two hosts of that centre crosses (unlimited until a module gives it a bandwidth with
:meth:`Links.set_lan`). A link carries nothing while it is failed or while a centre at one
of its ends has no host up. Restores and asynchronous streams (DR) and live migrations
(maintenance) are flows of one :class:`~cloudsim.platform.flows.FlowNetwork`, so each gets
its max-min fair share of what it crosses, exactly between changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from cloudsim.platform.components import ComponentState
from cloudsim.platform.flows import FlowNetwork, Schedule
from cloudsim.state.hosts import HostTable
from cloudsim.world import World

FloatArray = npt.NDArray[np.float64]
#: Routes kept (a few per pair of centres and set of failures; cleared when full).
PATHS_REMEMBERED = 4096


@dataclass(frozen=True)
class Path:
    """The links a transfer from one centre to another crosses now, and its round trip."""

    links: tuple[int, ...]
    rtt_s: float


class Links:
    """The scenario's links and one LAN per centre, as one shared :class:`FlowNetwork`."""

    def __init__(
        self, world: World, hosts: HostTable, components: ComponentState, schedule: Schedule
    ) -> None:
        scenario = world.scenario
        self.hosts = hosts
        self.components = components
        self.topology = world.topology
        self.centres: tuple[str, ...] = hosts.datacenter_names
        index = {name: i for i, name in enumerate(self.centres)}
        self.ends: list[tuple[int, int]] = [
            (index[link.between[0]], index[link.between[1]]) for link in scenario.links
        ]
        self._by_ends = {frozenset(e): i for i, e in enumerate(self.ends)}
        self._index = {name: i for i, name in enumerate(self.centres)}
        #: Routes found, by ends, failed components and links' extra latency.
        self._paths: dict[tuple[int, int, tuple[str, ...], bytes], Path | None] = {}
        self.wan_bandwidth = np.array([link.bandwidth_gbps * 1e9 / 8 for link in scenario.links])
        self.latency_s = np.array([link.one_way_ms / 1000 for link in scenario.links])
        self.wan = len(self.ends)
        #: Each centre's LAN in bytes/s (inf: not modelled) and round trip in seconds.
        self.lan_bandwidth = np.full(len(self.centres), math.inf)
        self.lan_rtt_s = np.zeros(len(self.centres))
        self.network = FlowNetwork(self.capacity(), schedule)

    def lan(self, centre: int) -> int:
        """The link index of a centre's LAN."""
        return self.wan + centre

    def set_lan(self, bandwidth: FloatArray, rtt_s: FloatArray, time: float) -> None:
        """Give every centre's LAN a bandwidth (bytes/s) and a round trip (seconds)."""
        self.lan_bandwidth = np.asarray(bandwidth, dtype=np.float64).copy()
        self.lan_rtt_s = np.asarray(rtt_s, dtype=np.float64).copy()
        self.refresh(time)

    def alive(self) -> npt.NDArray[np.bool_]:
        """Centres with at least one host up."""
        counts = np.bincount(
            self.hosts.datacenter, weights=self.hosts.up, minlength=len(self.centres)
        )
        return counts > 0

    def capacity(self) -> FloatArray:
        """Bytes/s each link can carry now (0: failed, or an end centre has no host up)."""
        alive = self.alive()
        removed = set(self.components.removed())
        names = self.components.catalog.names["link"]
        wan = np.array(
            [
                0.0
                if names[i] in removed or not (alive[a] and alive[b])
                else float(self.wan_bandwidth[i])
                for i, (a, b) in enumerate(self.ends)
            ],
            dtype=np.float64,
        )
        lan = np.where(alive, self.lan_bandwidth, 0.0)
        return np.concatenate([wan, lan])

    def refresh(self, time: float) -> None:
        """Components or hosts changed: the links' capacities from now on."""
        self.network.set_capacity(self.capacity(), time)

    def path(self, a: int, b: int) -> Path | None:
        """From centre ``a`` to ``b`` now: the LAN of ``a`` when they are the same, else the
        lowest-latency route round the failed sites, centres and links (None: no route)."""
        if a == b:
            return Path((self.lan(a),), float(self.lan_rtt_s[a]))
        removed = self.components.removed()
        extra = self.components.link_extra_ms
        key = (a, b, removed, extra.tobytes())
        if key in self._paths:
            return self._paths[key]
        try:
            route = self.topology.path(self.centres[a], self.centres[b], removed)
        except ValueError:
            found = None
        else:
            index = self._index
            hops = tuple(self._by_ends[frozenset((index[x], index[y]))] for x, y in pairwise(route))
            one_way = sum(float(self.latency_s[h]) + float(extra[h]) / 1000 for h in hops)
            found = Path(hops, 2 * one_way)
        if len(self._paths) >= PATHS_REMEMBERED:
            self._paths.clear()
        self._paths[key] = found
        return found

    def wan_links(self, a: int, b: int) -> list[int] | None:
        """The scenario links of the lowest-latency route from ``a`` to ``b`` now (the WAN
        part of :meth:`path`: [] within one centre; None: no route)."""
        if a == b:
            return []
        path = self.path(a, b)
        return None if path is None else list(path.links)
