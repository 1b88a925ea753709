"""Every component that can fail, by class, with the hosts each one takes down.

Names follow :class:`cloudsim.world.topology.Topology` and the host table, so a scripted fault's
``target`` means the same thing everywhere. Hosts of a failure domain are precomputed as
index arrays (one ``argsort`` per class), so taking a power domain down is one numpy call.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.faults import COMPONENT_CLASSES, ComponentSelection, witness_name
from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import HostTable, IntArray
from cloudsim.world.topology import LINK_SEPARATORS

#: Classes whose failure takes hosts down (links and witnesses change reachability only).
HOST_DOMAINS: tuple[str, ...] = ("host", "rack", "power_domain", "datacenter", "site")
_EMPTY: IntArray = np.zeros(0, dtype=np.int64)


def _groups(column: npt.NDArray[np.int32], count: int) -> list[IntArray]:
    """Host indices of each value 0..count-1 of ``column``, each ascending."""
    order = np.argsort(column, kind="stable").astype(np.int64)
    bounds = np.searchsorted(column[order], np.arange(count + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(count)]


def scenario_witness_site(scenario: Scenario) -> str | None:
    """The quorum witness's site: ``dr.witness_site``, else ``faults.witness_site``."""
    if scenario.dr is not None and scenario.dr.witness_site is not None:
        return scenario.dr.witness_site
    return scenario.faults.witness_site if scenario.faults is not None else None


@dataclass(frozen=True)
class Component:
    kind: str
    index: int
    name: str


class ComponentCatalog:
    """Names, kinds and member hosts of every component of a scenario."""

    def __init__(self, scenario: Scenario, hosts: HostTable) -> None:
        witness_site = scenario_witness_site(scenario)
        links = [tuple(link.between) for link in scenario.links]
        self.names: dict[str, tuple[str, ...]] = {
            "host": tuple(hosts.names),
            "rack": hosts.rack_names,
            "power_domain": hosts.power_domain_names,
            "datacenter": hosts.datacenter_names,
            "site": hosts.site_names,
            "link": tuple(LINK_SEPARATORS[0].join(ends) for ends in links),
            "witness": (witness_name(witness_site),) if witness_site is not None else (),
        }
        self._hosts = hosts
        self._roles = {dc.name: dc.role for dc in scenario.datacenters}
        self._links = links
        self._witness_site = witness_site
        self._members: dict[str, list[IntArray]] = {
            "rack": _groups(hosts.rack, len(hosts.rack_names)),
            "power_domain": _groups(hosts.power_domain, len(hosts.power_domain_names)),
            "datacenter": _groups(hosts.datacenter, len(hosts.datacenter_names)),
            "site": _groups(hosts.site, len(hosts.site_names)),
        }
        self._index: dict[str, tuple[str, int]] = {}
        for kind in COMPONENT_CLASSES:
            if kind == "host":
                continue  # looked up through _host_index, built only when needed
            for i, name in enumerate(self.names[kind]):
                self._index.setdefault(name, (kind, i))
        for i, (a, b) in enumerate(links):
            for sep in LINK_SEPARATORS:
                self._index.setdefault(f"{a}{sep}{b}", ("link", i))
                self._index.setdefault(f"{b}{sep}{a}", ("link", i))
        self._host_index: dict[str, int] | None = None
        #: The witness of each site (site index -> witness index), taken down with its site.
        self.witness_of_site: dict[int, int] = {}
        if witness_site is not None and witness_site in hosts.site_names:
            self.witness_of_site[hosts.site_names.index(witness_site)] = 0

    def count(self, kind: str) -> int:
        return len(self.names[kind])

    def resolve(self, name: str) -> Component:
        """The component called ``name``; KeyError with the closest name otherwise."""
        found = self._index.get(name)
        if found is not None:
            return Component(found[0], found[1], self.names[found[0]][found[1]])
        if self._host_index is None:
            self._host_index = {n: i for i, n in enumerate(self._hosts.names)}
        host = self._host_index.get(name)
        if host is not None:
            return Component("host", host, name)
        raise KeyError(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        candidates = [n for kind in COMPONENT_CLASSES for n in self.names[kind]]
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"unknown component {name!r}{hint} (a site, data centre, power domain "
            "'dc/pdN', rack 'dc/rackNNN', host, link 'a—b' or witness 'witness@site')"
        )

    def centres_of(self, kind: str, index: int) -> set[str]:
        """Names of the data centres a component is in (a link: its ends; a witness: the
        centres of its site)."""
        h = self._hosts
        if kind == "link":
            return set(self._links[index])
        if kind == "witness":
            site = self._witness_site
            if site is None or site not in h.site_names:
                return set()
            at_site = h.site == h.site_names.index(site)
            return {h.datacenter_names[int(c)] for c in np.unique(h.datacenter[at_site])}
        if kind == "datacenter":
            return {h.datacenter_names[index]}
        hosts = self.hosts_of(kind, index)
        return {h.datacenter_names[int(c)] for c in np.unique(h.datacenter[hosts])}

    def select(self, kind: str, only: ComponentSelection | None) -> IntArray:
        """Indices of the members of ``kind`` that ``only`` selects (all without one)."""
        count = self.count(kind)
        if only is None:
            return np.arange(count, dtype=np.int64)
        keep: list[int] = []
        h = self._hosts
        pools = (
            {h.pool_names.index(p) for p in only.pools if p in h.pool_names}
            if only.pools is not None
            else None
        )
        for i in range(count):
            if only.names is not None and not any(
                fnmatchcase(self.names[kind][i], g) for g in only.names
            ):
                continue
            if only.datacenters is not None or only.roles is not None:
                centres = self.centres_of(kind, i)
                if only.datacenters is not None and not centres & set(only.datacenters):
                    continue
                if only.roles is not None and not any(
                    self._roles.get(c) in only.roles for c in centres
                ):
                    continue
            if pools is not None and (kind != "host" or int(h.pool[i]) not in pools):
                continue
            keep.append(i)
        return np.array(keep, dtype=np.int64)

    def hosts_of(self, kind: str, index: int) -> IntArray:
        """Hosts that go down when this component fails (none for links and witnesses)."""
        if kind == "host":
            return np.array([index], dtype=np.int64)
        groups = self._members.get(kind)
        return groups[index] if groups is not None else _EMPTY
