"""Topology: membership, latency paths, bottlenecks, partitions and failure domains."""

from __future__ import annotations

import math
from itertools import chain, combinations

import networkx as nx
import pytest

from cloudsim.scenario.schema import (
    DataCenter,
    HostClass,
    HostGroup,
    Link,
    Meta,
    Pool,
    Scenario,
    Site,
    Zone,
)
from cloudsim.world.topology import Removed, Topology


def make_scenario(sites: list[Site], datacenters: list[DataCenter], links: list[Link]) -> Scenario:
    return Scenario(
        meta=Meta(name="topology-test"),
        sites=sites,
        datacenters=datacenters,
        links=links,
        zones=[Zone(name="extranet")],
        host_classes=[HostClass(name="std", cores=32, memory=262144)],
        pools=[
            Pool(
                name="p",
                datacenter=datacenters[0].name,
                zone="extranet",
                hosts=[HostGroup(host_class="std", count=1)],
            )
        ],
    )


def hunan() -> Topology:
    """Three sites, four centres: latencies chosen so the best path changes when links fail."""
    return Topology.from_scenario(
        make_scenario(
            sites=[Site(name="changsha"), Site(name="yongzhou"), Site(name="chenzhou")],
            datacenters=[
                DataCenter(name="cs-a", site="changsha", racks=5, power_domains=2),
                DataCenter(name="cs-b", site="changsha", racks=2, power_domains=1),
                DataCenter(name="yz", site="yongzhou", racks=1, power_domains=1),
                DataCenter(name="cz", site="chenzhou", racks=1, power_domains=1),
            ],
            links=[
                Link(between=("cs-a", "cs-b"), latency_ms=0.3, bandwidth_gbps=400),
                Link(between=("yz", "cs-a"), latency_ms=1.5, bandwidth_gbps=100),
                Link(between=("yz", "cs-b"), latency_ms=1.5, bandwidth_gbps=100),
                Link(between=("cz", "yz"), distance_km=200, bandwidth_gbps=10),
                Link(between=("cz", "cs-a"), latency_ms=2.0, bandwidth_gbps=40),
            ],
        )
    )


@pytest.fixture
def topo() -> Topology:
    return hunan()


def test_names_in_scenario_order(topo: Topology) -> None:
    assert topo.sites == ("changsha", "yongzhou", "chenzhou")
    assert topo.datacenters == ("cs-a", "cs-b", "yz", "cz")
    assert topo.site_of("cs-b") == "changsha"
    assert topo.datacenters_of("changsha") == ("cs-a", "cs-b")
    assert topo.same_city_pairs() == [("cs-a", "cs-b")]


def test_graph_nodes_and_edges(topo: Topology) -> None:
    kinds = [kind for _, kind in topo.graph.nodes(data="kind")]
    assert kinds.count("site") == 3
    assert kinds.count("datacenter") == 4
    assert kinds.count("power_domain") == 5
    assert kinds.count("rack") == 9
    assert topo.graph.edges["cs-a", "cs-b"] == {
        "kind": "link",
        "latency_ms": 0.3,
        "bandwidth_gbps": 400.0,
    }
    assert topo.graph.edges["changsha", "cs-a"]["kind"] == "contains"
    assert topo.graph.edges["cs-a/pd1", "cs-a/rack003"]["kind"] == "contains"
    assert sorted(topo.network.nodes) == ["cs-a", "cs-b", "cz", "yz"]
    assert topo.network.number_of_edges() == 5


def test_racks_round_robin_over_power_domains(topo: Topology) -> None:
    assert topo.racks_of("cs-a") == tuple(f"cs-a/rack{i:03d}" for i in range(5))
    assert topo.power_domains_of("cs-a") == ("cs-a/pd0", "cs-a/pd1")
    assert topo.racks_in_power_domain("cs-a/pd0") == (
        "cs-a/rack000",
        "cs-a/rack002",
        "cs-a/rack004",
    )
    assert topo.racks_in_power_domain("cs-a/pd1") == ("cs-a/rack001", "cs-a/rack003")
    assert topo.power_domain_of_rack("cs-a/rack003") == "cs-a/pd1"
    assert topo.power_domain_of_rack("cs-b/rack001") == "cs-b/pd0"


def test_shared_risk_groups(topo: Topology) -> None:
    groups = topo.shared_risk_groups()
    assert groups["changsha"] == (*topo.racks_of("cs-a"), "cs-b/rack000", "cs-b/rack001")
    assert groups["yongzhou"] == ("yz/rack000",)
    assert groups["cs-b"] == ("cs-b/rack000", "cs-b/rack001")
    assert groups["cs-a/pd1"] == ("cs-a/rack001", "cs-a/rack003")
    assert groups["cs-a/rack002"] == ("cs-a/rack002",)
    assert len(groups) == 3 + 4 + 5 + 9


def test_rtt_and_paths(topo: Topology) -> None:
    assert topo.rtt_ms("cs-a", "cs-a") == 0.0
    assert topo.path("cs-a", "cs-a") == ["cs-a"]
    assert topo.rtt_ms("cs-a", "cs-b") == pytest.approx(0.6)
    # Direct 1.5 ms beats cs-a -> cs-b -> yz at 1.8 ms.
    assert topo.path("cs-a", "yz") == ["cs-a", "yz"]
    assert topo.rtt_ms("cs-a", "yz") == pytest.approx(3.0)
    # cz -> cs-a -> cs-b is 2.3 ms one-way, cz -> yz -> cs-b is 2.5 ms.
    assert topo.path("cz", "cs-b") == ["cz", "cs-a", "cs-b"]
    assert topo.rtt_ms("cz", "cs-b") == pytest.approx(4.6)
    assert topo.rtt_ms("cs-b", "cz") == pytest.approx(4.6)


def test_distance_gives_latency(topo: Topology) -> None:
    # 200 km at 0.005 ms/km one-way is 1 ms; the round trip is 2 ms.
    assert topo.network.edges["cz", "yz"]["latency_ms"] == pytest.approx(1.0)
    assert topo.rtt_ms("cz", "yz") == pytest.approx(2.0)


def test_bottleneck(topo: Topology) -> None:
    assert topo.bottleneck_gbps("cs-a", "cs-b") == 400.0
    assert topo.bottleneck_gbps("cz", "cs-b") == 40.0
    assert topo.bottleneck_gbps("yz", "yz") == math.inf


def test_cutting_the_city_link_reroutes_through_yongzhou(topo: Topology) -> None:
    cut = [("cs-a", "cs-b")]
    assert topo.path("cs-a", "cs-b", without=cut) == ["cs-a", "yz", "cs-b"]
    assert topo.rtt_ms("cs-a", "cs-b", without=cut) == pytest.approx(6.0)
    assert topo.path("cz", "cs-b", without=cut) == ["cz", "yz", "cs-b"]
    assert topo.rtt_ms("cz", "cs-b", without=cut) == pytest.approx(5.0)
    assert topo.bottleneck_gbps("cz", "cs-b", without=cut) == 10.0
    assert topo.partition(without=cut) == [frozenset({"cs-a", "cs-b", "yz", "cz"})]
    assert topo.unreachable_after(cut) == frozenset()
    # Either link-name spelling and either order names the same link.
    for name in ("cs-b—cs-a", "cs-a--cs-b"):
        assert topo.rtt_ms("cs-a", "cs-b", without=[name]) == pytest.approx(6.0)


def test_losing_a_site(topo: Topology) -> None:
    assert topo.partition(without=["changsha"]) == [frozenset({"yz", "cz"})]
    assert topo.unreachable_after("changsha") == frozenset({"cs-a", "cs-b"})
    assert topo.unreachable_after(["changsha"], from_dc="cz") == frozenset({"cs-a", "cs-b"})
    assert topo.reachable_from("yz", without="changsha") == frozenset({"yz", "cz"})
    assert topo.rtt_ms("yz", "cz", without="changsha") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="'cs-a' and 'yz' are not connected once changsha fail"):
        topo.rtt_ms("cs-a", "yz", without=["changsha"])
    with pytest.raises(ValueError, match="'cs-a' is itself among the removed"):
        topo.reachable_from("cs-a", without=["changsha"])


def test_isolating_chenzhou(topo: Topology) -> None:
    cut: list[Removed] = [("cz", "yz"), "cs-a—cz"]
    assert topo.partition(without=cut) == [frozenset({"cs-a", "cs-b", "yz"}), frozenset({"cz"})]
    assert topo.unreachable_after(cut) == frozenset({"cz"})
    assert topo.unreachable_after(cut, from_dc="cz") == frozenset({"cs-a", "cs-b", "yz"})
    assert topo.reachable_from("cs-b", without=cut) == frozenset({"cs-a", "cs-b", "yz"})
    with pytest.raises(ValueError, match="'cz' and 'cs-b' are not connected"):
        topo.path("cz", "cs-b", without=cut)


def test_equal_parts_in_scenario_order(topo: Topology) -> None:
    assert topo.partition(without=["yz", "cs-a"]) == [frozenset({"cs-b"}), frozenset({"cz"})]
    assert topo.unreachable_after(["yz", "cs-a"]) == frozenset({"cs-a", "yz", "cz"})
    assert topo.unreachable_after(["changsha", "yongzhou", "chenzhou"]) == frozenset(
        topo.datacenters
    )


def test_racks_and_power_domains_do_not_cut_the_network(topo: Topology) -> None:
    assert topo.rtt_ms("cs-a", "cs-b", without=["cs-a/pd0", "cs-a/rack001"]) == pytest.approx(0.6)


def test_same_site_centres_are_not_linked_implicitly() -> None:
    topo = Topology.from_scenario(
        make_scenario(
            sites=[Site(name="changsha")],
            datacenters=[
                DataCenter(name="a", site="changsha", racks=1, power_domains=1),
                DataCenter(name="b", site="changsha", racks=1, power_domains=1),
            ],
            links=[],
        )
    )
    assert topo.same_city_pairs() == [("a", "b")]
    assert topo.partition() == [frozenset({"a"}), frozenset({"b"})]
    assert topo.unreachable_after([], from_dc="b") == frozenset({"a"})
    with pytest.raises(ValueError, match=r"'a' and 'b' are not connected$"):
        topo.rtt_ms("a", "b")


def test_component_kind(topo: Topology) -> None:
    assert topo.component_kind("changsha") == "site"
    assert topo.component_kind("cs-a") == "datacenter"
    assert topo.component_kind("cs-a/pd1") == "power_domain"
    assert topo.component_kind("cz/rack000") == "rack"
    assert topo.component_kind("cs-a—cs-b") == "link"
    assert topo.component_kind("cs-b--cs-a") == "link"
    assert topo.component_kind("yz—cz") == "link"


def test_unknown_names_suggest_a_fix(topo: Topology) -> None:
    with pytest.raises(KeyError, match="did you mean 'yongzhou'"):
        topo.component_kind("yongzou")
    with pytest.raises(KeyError, match="did you mean 'cs-a/rack003'"):
        topo.component_kind("cs-a/rack03")
    with pytest.raises(KeyError, match="'cs-b—cz'"):  # no such link
        topo.component_kind("cs-b—cz")
    with pytest.raises(KeyError, match="'nowhere'"):
        topo.rtt_ms("nowhere", "cs-a")
    with pytest.raises(KeyError, match="'cz—cs-b'"):
        topo.partition(without=[("cz", "cs-b")])


def test_wrong_kind_is_refused(topo: Topology) -> None:
    with pytest.raises(ValueError, match="'changsha' is a site, not a datacenter"):
        topo.rtt_ms("changsha", "yz")
    with pytest.raises(ValueError, match="'cs-a' is a datacenter, not a rack"):
        topo.power_domain_of_rack("cs-a")


@pytest.mark.parametrize(
    ("datacenters", "links", "message"),
    [
        (
            [DataCenter(name="a", site="mars")],
            [],
            "data centre 'a' names unknown site 'mars'",
        ),
        (
            [DataCenter(name="changsha", site="changsha")],
            [],
            "name 'changsha' is used twice",
        ),
        (
            [DataCenter(name="a", site="changsha")],
            [Link(between=("a", "b"), latency_ms=1, bandwidth_gbps=1)],
            "link a—b names unknown data centre 'b'",
        ),
        (
            [DataCenter(name="a", site="changsha"), DataCenter(name="b", site="changsha")],
            [
                Link(between=("a", "b"), latency_ms=1, bandwidth_gbps=1),
                Link(between=("b", "a"), latency_ms=2, bandwidth_gbps=1),
            ],
            "link b—a is given twice",
        ),
    ],
)
def test_bad_scenarios_are_refused(
    datacenters: list[DataCenter], links: list[Link], message: str
) -> None:
    scenario = make_scenario([Site(name="changsha")], datacenters, links)
    with pytest.raises(ValueError, match=message):
        Topology.from_scenario(scenario)


def _uncached_path(topo: Topology, a: str, b: str, removed: tuple[Removed, ...]) -> list[str]:
    try:
        path: list[str] = nx.shortest_path(topo._cut(removed), a, b, weight="latency_ms")
    except (nx.NodeNotFound, nx.NetworkXNoPath):
        return []
    return path


def test_remembered_paths_are_the_paths_of_the_cut_network(topo: Topology) -> None:
    """Paths are remembered by ends and removed components (the graphs are frozen): every
    query, asked twice over every combination of failed links, centres and sites, gives
    what a fresh search of the cut network gives; a cut-off pair says so each time, with
    the removed components in the order given."""
    links = [tuple(edge) for edge in topo.network.edges]
    candidates: list[Removed] = [*links, "cs-a", "yz", "changsha"]
    subsets = chain.from_iterable(combinations(candidates, k) for k in range(4))
    cut_off = 0
    for removed in subsets:
        for a in topo.datacenters:
            for b in topo.datacenters:
                expected = _uncached_path(topo, a, b, removed)
                for _ in range(2):
                    if expected:
                        got = topo.path(a, b, removed)
                        assert got == expected
                        got.append("mutated")  # the caller's copy, not the remembered one
                    else:
                        with pytest.raises(ValueError, match="not connected") as info:
                            topo.path(a, b, removed)
                        if removed:
                            assert ", ".join(map(str, removed)) in str(info.value)
                        cut_off += 1
    assert cut_off > 0
