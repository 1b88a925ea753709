"""Maintenance drains and live migration (a ``maintenance`` section, a module's own schema)."""

from cloudsim.maintenance.module import MaintenanceModule

__all__ = ["MaintenanceModule"]
