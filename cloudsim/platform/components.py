"""Ground truth of the components above the hosts: which are failed, how links are degraded.

The host table's ``up`` column says which hosts run; this says which sites, data centres,
power domains, racks, links and the witness are down right now (each counts the failures
holding it down) and each link's packet loss and extra latency. The faults module writes
it; DR and anyone asking "what is reachable" read it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.faults import COMPONENT_CLASSES
from cloudsim.world.catalog import ComponentCatalog


class ComponentState:
    """Failed components and degraded links of one run."""

    def __init__(self, catalog: ComponentCatalog) -> None:
        self.catalog = catalog
        #: Failed causes per component of each class (down while > 0).
        self.down: dict[str, npt.NDArray[np.int64]] = {
            k: np.zeros(catalog.count(k), dtype=np.int64) for k in COMPONENT_CLASSES
        }
        links = catalog.count("link")
        #: Degraded links (scenario order): packet loss and extra one-way ms.
        self.link_loss = np.zeros(links)
        self.link_extra_ms = np.zeros(links)
        self._removed: tuple[tuple[bytes, bytes, bytes], tuple[str, ...]] | None = None

    def is_down(self, name: str) -> bool:
        """Whether a named component is failed right now."""
        component = self.catalog.resolve(name)
        return bool(self.down[component.kind][component.index] > 0)

    def witness_down(self) -> bool:
        return bool(self.down["witness"].any())

    def removed(self) -> tuple[str, ...]:
        """Failed sites, data centres and links: the ``without`` of Topology queries
        (worked out again only when one of them changed since the last call)."""
        down = self.down
        key = (down["site"].tobytes(), down["datacenter"].tobytes(), down["link"].tobytes())
        cached = self._removed
        if cached is not None and cached[0] == key:
            return cached[1]
        found = tuple(
            self.catalog.names[kind][i]
            for kind in ("site", "datacenter", "link")
            for i in np.flatnonzero(down[kind]).tolist()
        )
        self._removed = (key, found)
        return found
