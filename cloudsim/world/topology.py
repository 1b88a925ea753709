"""Sites, data centres, power domains, racks and the links between centres, as networkx graphs.

Answers the structural questions the fault and DR modules ask: latencies and paths between
centres, what a failure cuts off, and which racks a failure domain takes down.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from itertools import combinations, pairwise
from typing import Any, Literal

import networkx as nx

from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import power_domain_name, rack_name

ComponentKind = Literal["site", "datacenter", "power_domain", "rack", "link"]
#: A failed component: a name (site, data centre, rack, power domain, link "a—b") or a link pair.
Removed = str | tuple[str, str]
#: Separators accepted in link names; the first is the canonical one.
LINK_SEPARATORS = ("—", "--")
#: Paths a topology remembers at most (forgotten all at once beyond).
PATHS_REMEMBERED = 4096


class Topology:
    """The layout of a scenario: `graph` holds every component, `network` only centres and links.

    Both graphs are frozen; node and edge order follow the scenario, so queries are deterministic.
    """

    def __init__(self, graph: nx.Graph, network: nx.Graph) -> None:
        self.graph: nx.Graph = nx.freeze(graph)
        self.network: nx.Graph = nx.freeze(network)
        self.sites: tuple[str, ...] = self._nodes_of_kind("site")
        self.datacenters: tuple[str, ...] = self._nodes_of_kind("datacenter")
        #: Lowest-latency paths found (None: cut off), by ends and removed components: the
        #: graphs are frozen, so a path is a function of those (DR asks again at every
        #: settlement of its replication inputs).
        self._paths: dict[tuple[str, str, tuple[Removed, ...]], tuple[str, ...] | None] = {}

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Topology:
        """Build the graphs; raise ValueError on clashing names or references to unknown ones."""
        graph, network = nx.Graph(), nx.Graph()

        def add(name: str, **attrs: Any) -> None:
            if name in graph:
                raise ValueError(
                    f"name {name!r} is used twice (names must be unique across "
                    "sites, data centres, power domains and racks)"
                )
            graph.add_node(name, **attrs)

        for site in scenario.sites:
            add(site.name, kind="site")
        for dc in scenario.datacenters:
            if graph.nodes.get(dc.site, {}).get("kind") != "site":
                raise ValueError(f"data centre {dc.name!r} names unknown site {dc.site!r}")
            add(dc.name, kind="datacenter", site=dc.site, racks=dc.racks)
            network.add_node(dc.name)
            graph.add_edge(dc.site, dc.name, kind="contains")
            for j in range(dc.power_domains):
                pd = power_domain_name(dc.name, j)
                add(pd, kind="power_domain", datacenter=dc.name)
                graph.add_edge(dc.name, pd, kind="contains")
            for i in range(dc.racks):
                rack, pd = rack_name(dc.name, i), power_domain_name(dc.name, i % dc.power_domains)
                add(rack, kind="rack", datacenter=dc.name, power_domain=pd)
                graph.add_edge(pd, rack, kind="contains")
        for link in scenario.links:
            a, b = link.between
            for end in (a, b):
                if end not in network:
                    raise ValueError(f"link {a}—{b} names unknown data centre {end!r}")
            if network.has_edge(a, b):
                raise ValueError(f"link {a}—{b} is given twice")
            attrs = {"latency_ms": link.one_way_ms, "bandwidth_gbps": link.bandwidth_gbps}
            graph.add_edge(a, b, kind="link", **attrs)
            network.add_edge(a, b, **attrs)
        return cls(graph, network)

    # --- membership -------------------------------------------------------------------------

    def component_kind(self, name: str) -> ComponentKind:
        """Kind of a named component; links as "a—b" or "a--b" in either order."""
        if name in self.graph:
            kind: ComponentKind = self.graph.nodes[name]["kind"]
            return kind
        if self._link_ends(name) is not None:
            return "link"
        names = [*self.graph.nodes, *(LINK_SEPARATORS[0].join(e) for e in self.network.edges)]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no site, data centre, power domain, rack or link named {name!r}{hint}")

    def site_of(self, dc: str) -> str:
        """The site holding a data centre."""
        site: str = self.graph.nodes[self._expect(dc, "datacenter")]["site"]
        return site

    def datacenters_of(self, site: str) -> tuple[str, ...]:
        """Data centres of a site, in scenario order."""
        return self._members(self._expect(site, "site"), "datacenter")

    def power_domains_of(self, dc: str) -> tuple[str, ...]:
        """Power domains of a data centre, in index order."""
        return self._members(self._expect(dc, "datacenter"), "power_domain")

    def racks_of(self, dc: str) -> tuple[str, ...]:
        """Racks of a data centre, in index order."""
        count = self.graph.nodes[self._expect(dc, "datacenter")]["racks"]
        return tuple(rack_name(dc, i) for i in range(count))

    def power_domain_of_rack(self, rack: str) -> str:
        """The power domain feeding a rack."""
        pd: str = self.graph.nodes[self._expect(rack, "rack")]["power_domain"]
        return pd

    def racks_in_power_domain(self, pd: str) -> tuple[str, ...]:
        """Racks fed by a power domain, in index order."""
        return self._members(self._expect(pd, "power_domain"), "rack")

    def same_city_pairs(self) -> list[tuple[str, str]]:
        """Sorted pairs (each sorted) of data centres sharing a site, linked or not."""
        return sorted(
            (min(pair), max(pair))
            for site in self.sites
            for pair in combinations(self.datacenters_of(site), 2)
        )

    def shared_risk_groups(self) -> dict[str, tuple[str, ...]]:
        """Each failure domain (site, data centre, power domain, rack) and the racks it downs."""
        groups = {dc: self.racks_of(dc) for dc in self.datacenters}
        sites = {
            site: tuple(r for dc in self.datacenters_of(site) for r in groups[dc])
            for site in self.sites
        }
        pds = {
            pd: self.racks_in_power_domain(pd)
            for dc in self.datacenters
            for pd in self.power_domains_of(dc)
        }
        racks = {rack: (rack,) for dc in self.datacenters for rack in groups[dc]}
        return sites | groups | pds | racks

    # --- network ----------------------------------------------------------------------------

    def path(self, a: str, b: str, without: Iterable[Removed] = ()) -> list[str]:
        """Data centres along the lowest-latency path from a to b; ValueError if cut off."""
        self._expect(a, "datacenter")
        self._expect(b, "datacenter")
        removed = self._as_tuple(without)
        key = (a, b, tuple(x if isinstance(x, str) else (x[0], x[1]) for x in removed))
        if key in self._paths:
            found = self._paths[key]
        else:
            try:
                found = tuple(nx.shortest_path(self._cut(removed), a, b, weight="latency_ms"))
            except (nx.NodeNotFound, nx.NetworkXNoPath):
                found = None
            if len(self._paths) >= PATHS_REMEMBERED:
                self._paths.clear()
            self._paths[key] = found
        if found is None:
            failed = f" once {', '.join(map(str, removed))} fail" if removed else ""
            raise ValueError(f"data centres {a!r} and {b!r} are not connected{failed}")
        return list(found)

    def rtt_ms(self, a: str, b: str, without: Iterable[Removed] = ()) -> float:
        """Round-trip time: twice the one-way latency of the lowest-latency path (0 when a == b)."""
        return 2 * float(nx.path_weight(self.network, self.path(a, b, without), "latency_ms"))

    def bottleneck_gbps(self, a: str, b: str, without: Iterable[Removed] = ()) -> float:
        """Smallest bandwidth along the lowest-latency path (infinite when a == b)."""
        hops = pairwise(self.path(a, b, without))
        return float(
            min((self.network.edges[hop]["bandwidth_gbps"] for hop in hops), default=math.inf)
        )

    def reachable_from(self, dc: str, without: Iterable[Removed] = ()) -> frozenset[str]:
        """Data centres reachable from dc (itself included); ValueError if dc itself is removed."""
        network = self._cut(self._as_tuple(without))
        if self._expect(dc, "datacenter") not in network:
            raise ValueError(f"data centre {dc!r} is itself among the removed components")
        return frozenset(nx.node_connected_component(network, dc))

    def partition(self, without: Iterable[Removed] = ()) -> list[frozenset[str]]:
        """Connected groups of surviving data centres, largest first, ties in scenario order."""
        parts = map(frozenset, nx.connected_components(self._cut(self._as_tuple(without))))
        return sorted(parts, key=lambda part: (-len(part), min(map(self.datacenters.index, part))))

    def unreachable_after(
        self, removed: Iterable[Removed], from_dc: str | None = None
    ) -> frozenset[str]:
        """Data centres (failed ones included) cut off from from_dc, or from the largest group."""
        if from_dc is not None:
            kept = self.reachable_from(from_dc, removed)
        else:
            kept = next(iter(self.partition(removed)), frozenset())
        return frozenset(self.datacenters) - kept

    # --- helpers ----------------------------------------------------------------------------

    def _nodes_of_kind(self, kind: ComponentKind) -> tuple[str, ...]:
        return tuple(n for n, k in self.graph.nodes(data="kind") if k == kind)

    def _members(self, node: str, kind: ComponentKind) -> tuple[str, ...]:
        return tuple(n for n in self.graph.adj[node] if self.graph.nodes[n]["kind"] == kind)

    def _expect(self, name: str, kind: ComponentKind) -> str:
        actual = self.component_kind(name)
        if actual != kind:
            raise ValueError(f"{name!r} is a {actual}, not a {kind}")
        return name

    def _link_ends(self, name: str) -> tuple[str, str] | None:
        for separator in LINK_SEPARATORS:
            ends = name.split(separator)
            if len(ends) == 2 and self.network.has_edge(*ends):
                return ends[0], ends[1]
        return None

    @staticmethod
    def _as_tuple(without: Iterable[Removed]) -> tuple[Removed, ...]:
        """A bare name counts as one component, not as its characters."""
        return (without,) if isinstance(without, str) else tuple(without)

    def _cut(self, removed: tuple[Removed, ...]) -> nx.Graph:
        """View of the network without the removed links, centres and sites' centres.

        Racks and power domains are accepted and leave the network untouched.
        """
        nodes: set[str] = set()
        edges: set[tuple[str, str]] = set()
        for item in removed:
            name = item if isinstance(item, str) else LINK_SEPARATORS[0].join(item)
            kind = self.component_kind(name)
            if kind == "site":
                nodes.update(self.datacenters_of(name))
            elif kind == "datacenter":
                nodes.add(name)
            elif kind == "link":
                ends = self._link_ends(name)
                assert ends is not None
                edges.add(ends)
        return nx.restricted_view(self.network, nodes, edges)
