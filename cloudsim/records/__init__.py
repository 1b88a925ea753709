"""The records contract: what a run leaves behind, as flat typed records.

Modules write records; consumers (the availability ledger, result tables, experiments,
reports) read them and never the live objects that wrote them.

- :class:`EventKind` and :class:`Recorder`: the event log (one row per creation, deletion,
  rejection, fault, restart, decision…) and the vectorised utilisation samples.
- :class:`Outage`: one failure of components (faults).
- :class:`Decision`: one disaster-recovery decision about one system and its outcome.
- :class:`ServingLog`: in which centres each system is served from (DR ground truth).
- :class:`AvailabilityRules`: how many running VMs each system needs to count as up.
"""

from cloudsim.records.events import EventKind, Recorder
from cloudsim.records.types import (
    AvailabilityRules,
    Decision,
    Outage,
    PolicyFailure,
    ServingLog,
)

__all__ = [
    "AvailabilityRules",
    "Decision",
    "EventKind",
    "Outage",
    "PolicyFailure",
    "Recorder",
    "ServingLog",
]
