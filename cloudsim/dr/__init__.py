"""Disaster recovery: replication, heartbeat detection, failover and failback policies, the
witness, recovery actions through the placer, as a module of the kernel (:class:`DRModule`)."""

from cloudsim.dr.control import DRController
from cloudsim.dr.module import DRDesign, DRModule

__all__ = ["DRController", "DRDesign", "DRModule"]
