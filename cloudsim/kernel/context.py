"""What a module is handed: the run's shared parts, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from cloudsim.kernel.bus import Bus
from cloudsim.kernel.calendar import Calendar
from cloudsim.kernel.streams import Streams
from cloudsim.platform.components import ComponentState
from cloudsim.platform.links import Links
from cloudsim.platform.platform import Platform
from cloudsim.records import Recorder
from cloudsim.state.hosts import HostTable
from cloudsim.world import World


class EventCount:
    """Events processed in a run: arrivals, departures, samples, calendar actions and
    controller steps (``summary.json``'s ``events_processed``)."""

    def __init__(self) -> None:
        self.value = 0

    def add(self, events: int = 1) -> None:
        self.value += events


@dataclass
class Context:
    """One run's shared parts.

    - ``world``: the compiled scenario (read-only) and ``hosts`` the run's own host table;
    - ``platform``: cloud hosts, quotas, local HA and the placer, on ``hosts``;
    - ``components``: which failure domains, links and the witness are down (ground truth);
    - ``links``: the links (and each centre's LAN) as one fluid network every transfer of
      every module shares (restores, asynchronous streams, live migrations);
    - ``recorder``: the event log and typed records every module writes;
    - ``env`` (simpy), ``calendar`` (timed actions) and ``bus`` (notifications);
    - ``seed`` and the named random streams (:meth:`stream`).
    """

    world: World
    env: simpy.Environment
    hosts: HostTable
    platform: Platform
    components: ComponentState
    links: Links
    recorder: Recorder
    calendar: Calendar
    bus: Bus
    streams: Streams
    seed: int
    events: EventCount

    @property
    def horizon(self) -> float:
        return self.world.horizon

    def stream(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (declared by a module's ``streams``)."""
        return self.streams[name]

    def count(self, events: int = 1) -> None:
        """Count processed events (arrivals, departures, controller steps…) for the summary."""
        self.events.add(events)
