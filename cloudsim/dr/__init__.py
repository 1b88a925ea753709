"""Disaster recovery: the per-system availability ledger (replication, detection and
failover policies build on it)."""

from cloudsim.dr.ledger import Ledger, build_ledger, required_vms

__all__ = ["Ledger", "build_ledger", "required_vms"]
