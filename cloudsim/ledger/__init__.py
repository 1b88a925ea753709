"""The availability ledger: downtime, incidents, RTO and RPO per business system, computed
from the records a run leaves (events, outages, DR decisions, serving centres) alone."""

from cloudsim.ledger.downtime import (
    VM_EVENT_CODES,
    Downtime,
    running_deltas,
    serving_deltas,
    system_downtime,
)
from cloudsim.ledger.incidents import Ledger, build_ledger
from cloudsim.ledger.module import LedgerModule

__all__ = [
    "VM_EVENT_CODES",
    "Downtime",
    "Ledger",
    "LedgerModule",
    "build_ledger",
    "running_deltas",
    "serving_deltas",
    "system_downtime",
]
