"""IaaS: the tenants' cloud hosts — initial placement, requests under quotas, departures and
utilisation samples — as a module of the kernel (:class:`IaaSModule`)."""

from cloudsim.iaas.module import IaaSModule

__all__ = ["IaaSModule"]
