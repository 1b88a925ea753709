"""The kernel: time (one simpy environment and one calendar), randomness (named streams),
the run loop and the event count. It imports no subsystem; subsystems are
:class:`~cloudsim.kernel.module.Module` classes the composition root hands it."""

from cloudsim.kernel.bus import Bus
from cloudsim.kernel.calendar import Calendar
from cloudsim.kernel.context import Context, EventCount
from cloudsim.kernel.kernel import Kernel, PlacerFactory, default_placer
from cloudsim.kernel.module import Finding, Loc, Module, Results, Stage
from cloudsim.kernel.streams import CORE_STREAMS, Streams, random_stream

__all__ = [
    "CORE_STREAMS",
    "Bus",
    "Calendar",
    "Context",
    "EventCount",
    "Finding",
    "Kernel",
    "Loc",
    "Module",
    "PlacerFactory",
    "Results",
    "Stage",
    "Streams",
    "default_placer",
    "random_stream",
]
